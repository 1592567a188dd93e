// SPDX-License-Identifier: MIT
/*
 * The cart: POST /cart/order reserves stock (with --pathology lock: under one global mutex,
 * held while the reservation is computed), appends the order to orders.db (with fsync: made
 * durable per order), then charges the payment service. Lock holds are kept in memory and
 * written to the ground-truth file at exit, so tests can tell who held the lock when.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shop.h"

pthread_mutex_t shop_stock_lock = PTHREAD_MUTEX_INITIALIZER;

#define MAX_HOLDS 200000

struct hold {
	int32_t tid;
	uint64_t from, to; /* ns, CLOCK_MONOTONIC */
};

static struct hold *holds;
static _Atomic unsigned n_holds;
static long stock = 1000000;
static int db_fd = -1;
#define RECEIPT_BYTES 65536
static char receipt[RECEIPT_BYTES];
static _Atomic unsigned long order_no;

static void reserve(unsigned items)
{
	struct ct_span s;

	shop_span_begin(&s, "reserve-stock");
	if (shop.pathologies & SHOP_LOCK) {
		uint64_t from;
		unsigned k;

		/* The whole computation under the lock: every other worker waits for it. */
		pthread_mutex_lock(&shop_stock_lock);
		from = ct_now_ns();
		shop_work(2500);
		stock -= items;
		k = atomic_fetch_add(&n_holds, 1);
		if (holds && k < MAX_HOLDS)
			holds[k] = (struct hold){(int32_t)syscall(SYS_gettid), from, ct_now_ns()};
		pthread_mutex_unlock(&shop_stock_lock);
	} else {
		/* Healthy: compute outside, lock only to publish the result. */
		shop_work(2500);
		pthread_mutex_lock(&shop_stock_lock);
		stock -= items;
		pthread_mutex_unlock(&shop_stock_lock);
	}
	shop_span_end(&s);
}

static int save(const char *items, char *id, size_t size)
{
	unsigned long no = atomic_fetch_add(&order_no, 1) + 1;
	char line[SHOP_MAX_BODY + 64];
	struct ct_span s;
	int n, err = 0;

	shop_span_begin(&s, "save-order");
	snprintf(id, size, "order-%d-%lu", (int)getpid(), no);
	n = snprintf(line, sizeof(line), "%s %s\n", id, items);
	/* The order's record and its receipt (a fixed-size block, as a real store would keep). */
	if (write(db_fd, line, (size_t)n) != n ||
	    write(db_fd, receipt, RECEIPT_BYTES) != RECEIPT_BYTES)
		err = errno ? errno : EIO;
	/* Durable per order: each request waits for the disk. */
	if (!err && (shop.pathologies & SHOP_FSYNC) && fsync(db_fd))
		err = errno;
	if (err)
		ct_span_set_status(&s, CT_STATUS_ERROR, strerror(err));
	shop_span_end(&s);
	return err;
}

static int order(const struct shop_http_msg *req, char *body, size_t size)
{
	const char *items = strncmp(req->body, "items=", 6) ? "" : req->body + 6;
	struct shop_http_msg resp;
	unsigned n = *items ? 1 : 0;
	char id[64], charge[128];
	int status;

	for (const char *p = items; *p; p++)
		n += *p == ',';
	reserve(n);
	if (save(items, id, sizeof(id))) {
		snprintf(body, size, "cannot save the order\n");
		return 500;
	}
	snprintf(charge, sizeof(charge), "order=%s&amount=%u", id, 100 + 7 * n);
	status = shop_call("POST /payment/charge", NULL, shop.port_payment, "POST",
			   "/payment/charge", charge, &resp);
	if (status != 200) {
		snprintf(body, size, "payment: %d\n", status);
		return 502;
	}
	snprintf(body, size, "%s paid\n", id);
	return 200;
}

static void start(void)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/orders.db", shop.data_dir);
	db_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (db_fd < 0) {
		fprintf(stderr, "cart: cannot open %s: %s\n", path, strerror(errno));
		exit(1);
	}
	if (shop.pathologies & SHOP_LOCK)
		holds = calloc(MAX_HOLDS, sizeof(*holds));
}

static void stop(void)
{
	unsigned n = atomic_load(&n_holds);

	for (unsigned i = 0; holds && i < n && i < MAX_HOLDS; i++)
		shop_truth("hold %d %llu %llu", holds[i].tid, (unsigned long long)holds[i].from,
			   (unsigned long long)holds[i].to);
}

void shop_cart(int listen_fd)
{
	static const struct shop_route routes[] = {
		{"POST", "/cart/order", "POST /cart/order", order},
	};
	struct shop_service s = {.name = "cart",
				 .listen_fd = listen_fd,
				 .workers = shop.clients,
				 .routes = routes,
				 .n_routes = 1,
				 .start = start,
				 .stop = stop};

	shop_serve(&s);
}
