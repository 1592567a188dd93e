// SPDX-License-Identifier: MIT
/*
 * The payment service: POST /payment/charge runs a CPU-bound fraud check, then authorises
 * the charge with the bank. With --pathology hog the whole process is pinned to the CPU the
 * hog spins on, so the fraud check waits for that CPU; with slow-downstream the bank takes
 * its time (a sleep), which every caller up the chain waits for.
 */
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "shop.h"

static int charge(const struct shop_http_msg *req, char *body, size_t size)
{
	struct ct_span s;

	shop_span_begin(&s, "fraud-check");
	ct_span_set_int(&s, "payment.body_bytes", (int64_t)req->body_len);
	/* Longer than a scheduler tick: a competitor for the CPU gets its turn meanwhile. */
	shop_work(4000);
	shop_span_end(&s);

	shop_span_begin(&s, "authorize");
	if (shop.pathologies & SHOP_SLOW)
		shop_sleep_us(15000); /* the bank's answer */
	else
		shop_work(150);
	shop_span_end(&s);
	snprintf(body, size, "charged\n");
	return 200;
}

static void start(void)
{
	if (shop.pathologies & SHOP_HOG) {
		cpu_set_t set;

		/* Before the workers start: they inherit the affinity. */
		CPU_ZERO(&set);
		CPU_SET(shop.hog_cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set))
			perror("payment: sched_setaffinity");
	}
}

void shop_payment(int listen_fd)
{
	static const struct shop_route routes[] = {
		{"POST", "/payment/charge", "POST /payment/charge", charge},
	};
	struct shop_service s = {.name = "payment",
				 .listen_fd = listen_fd,
				 .workers = 4,
				 .routes = routes,
				 .n_routes = 1,
				 .start = start};

	shop_serve(&s);
}
