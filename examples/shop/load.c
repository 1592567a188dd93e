// SPDX-License-Identifier: MIT
/*
 * The load generator: `clients` threads, each starting one GET /checkout every period
 * (all at the same instants, so requests arrive in waves that contend with each other), for
 * the load duration. It is not instrumented, like an outside client: the frontend's server
 * span starts each trace. Prints the request count and latencies it measured itself.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include "shop.h"

#define MAX_SAMPLES 100000

static volatile sig_atomic_t stop;
static uint64_t *lat; /* ns per request */
static unsigned n_lat;
static unsigned errors;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void *client(void *arg)
{
	uint64_t t0 = *(const uint64_t *)arg, period = (uint64_t)shop.period_ms * 1000000;
	uint64_t end = t0 + (uint64_t)(shop.duration_s * 1e9);

	for (uint64_t wave = 0; !stop;) {
		uint64_t at = t0 + wave * period, now, t1;
		struct timespec ts = {.tv_sec = (time_t)(at / 1000000000),
				      .tv_nsec = (long)(at % 1000000000)};
		struct shop_http_msg resp;
		int err;

		if (at >= end)
			break;
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR && !stop)
			;
		now = ct_now_ns();
		err = shop_http_exchange(shop.port_frontend, "GET", "/checkout", NULL, NULL, &resp);
		t1 = ct_now_ns();
		pthread_mutex_lock(&mu);
		if (err || resp.status != 200)
			errors++;
		else if (n_lat < MAX_SAMPLES)
			lat[n_lat++] = t1 - now;
		pthread_mutex_unlock(&mu);
		/* A request that overran its period skips the waves it missed. */
		wave = (t1 - t0) / period + 1;
	}
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int shop_load(void)
{
	struct sigaction sa = {.sa_handler = on_signal};
	pthread_t th[64];
	unsigned n = shop.clients > 64 ? 64 : shop.clients, started = 0;
	uint64_t t0;

	prctl(PR_SET_NAME, "loadgen");
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	lat = calloc(MAX_SAMPLES, sizeof(*lat));
	if (!lat)
		return 1;
	/* The first wave a little later: the services are still starting. */
	t0 = ct_now_ns() + 100000000;
	while (started < n && pthread_create(&th[started], NULL, client, &t0) == 0)
		started++;
	for (unsigned i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	qsort(lat, n_lat, sizeof(*lat), cmp_u64);
	fprintf(stderr, "shop: %u requests in %.1f s, %u failed", n_lat + errors, shop.duration_s,
		errors);
	if (n_lat)
		fprintf(stderr, "; latency p50 %.1f ms, p99 %.1f ms, max %.1f ms",
			(double)lat[n_lat / 2] / 1e6, (double)lat[(n_lat * 99) / 100] / 1e6,
			(double)lat[n_lat - 1] / 1e6);
	fputc('\n', stderr);
	shop_truth("requests %u failed %u", n_lat + errors, errors);
	return errors || !n_lat ? 1 : 0;
}
