// SPDX-License-Identifier: MIT
/*
 * The frontend: GET /checkout looks up every item's stock at the inventory service (in
 * parallel on a pool of fan-out threads, or one after another with --pathology sequential),
 * then places the order at the cart. A checkout's server span is the root of its trace.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "shop.h"

#define MAX_ITEMS 16

/* One checkout's lookups, shared by the fan-out threads that run them. */
struct lookups {
	struct ct_span_context parent; /* the checkout's span */
	unsigned n, done, failed;
	unsigned items[MAX_ITEMS];
	pthread_mutex_t mu;
	pthread_cond_t all_done; /* done == n */
};

struct task {
	struct lookups *l;
	unsigned i;
	struct task *next;
};

/* The fan-out pool's queue. */
static pthread_mutex_t q_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t q_cv = PTHREAD_COND_INITIALIZER;
static struct task *q_head, **q_tail = &q_head;

static int lookup(unsigned item, const struct ct_span_context *parent)
{
	struct shop_http_msg resp;
	char path[64];

	snprintf(path, sizeof(path), "/inventory/%u", item);
	return shop_call("GET /inventory/{item}", parent, shop.port_inventory, "GET", path, NULL,
			 &resp);
}

static void *fanout_main(void *arg)
{
	char name[16];

	snprintf(name, sizeof(name), "frontend-f%u", (unsigned)(uintptr_t)arg);
	prctl(PR_SET_NAME, name);
	for (;;) {
		struct task *t;
		int status;

		pthread_mutex_lock(&q_mu);
		while (!q_head)
			pthread_cond_wait(&q_cv, &q_mu);
		t = q_head;
		q_head = t->next;
		if (!q_head)
			q_tail = &q_head;
		pthread_mutex_unlock(&q_mu);

		/* The pool thread has no current span: the lookup's parent is explicit. */
		status = lookup(t->l->items[t->i], &t->l->parent);
		pthread_mutex_lock(&t->l->mu);
		t->l->failed += status != 200;
		/* The last lookup wakes the checkout: a wake-up edge the analysis follows. */
		if (++t->l->done == t->l->n)
			pthread_cond_signal(&t->l->all_done);
		pthread_mutex_unlock(&t->l->mu);
	}
	return NULL;
}

static void start(void)
{
	unsigned n = shop.clients * shop.items;

	for (unsigned i = 0; i < n; i++) {
		pthread_t th;

		if (pthread_create(&th, NULL, fanout_main, (void *)(uintptr_t)i)) {
			fprintf(stderr, "frontend: cannot start fan-out thread %u\n", i);
			exit(1);
		}
	}
}

static unsigned lookup_all(struct lookups *l)
{
	struct task tasks[MAX_ITEMS];

	if (shop.pathologies & SHOP_SEQUENTIAL) {
		for (unsigned i = 0; i < l->n; i++)
			l->failed += lookup(l->items[i], NULL) != 200;
		return l->failed;
	}
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->all_done, NULL);
	pthread_mutex_lock(&q_mu);
	for (unsigned i = 0; i < l->n; i++) {
		tasks[i] = (struct task){.l = l, .i = i};
		*q_tail = &tasks[i];
		q_tail = &tasks[i].next;
	}
	pthread_cond_broadcast(&q_cv);
	pthread_mutex_unlock(&q_mu);
	pthread_mutex_lock(&l->mu);
	while (l->done < l->n)
		pthread_cond_wait(&l->all_done, &l->mu);
	pthread_mutex_unlock(&l->mu);
	pthread_cond_destroy(&l->all_done);
	pthread_mutex_destroy(&l->mu);
	return l->failed;
}

static int checkout(const struct shop_http_msg *req, char *body, size_t size)
{
	static _Thread_local unsigned seed;
	struct lookups l = {.n = shop.items > MAX_ITEMS ? MAX_ITEMS : shop.items};
	const struct ct_span_context *cur = ct_current_context();
	struct shop_http_msg resp;
	char order[256];
	struct ct_span s;
	size_t len = 0;
	int status;

	(void)req;
	if (!seed)
		seed = (unsigned)ct_now_ns();
	if (cur)
		l.parent = *cur;
	shop_span_begin(&s, "load-session");
	shop_work(80);
	for (unsigned i = 0; i < l.n; i++)
		l.items[i] = (unsigned)rand_r(&seed) % 1000;
	shop_span_end(&s);

	if (lookup_all(&l)) {
		snprintf(body, size, "inventory unavailable\n");
		return 503;
	}
	len = (size_t)snprintf(order, sizeof(order), "items=");
	for (unsigned i = 0; i < l.n && len < sizeof(order) - 8; i++)
		len += (size_t)snprintf(order + len, sizeof(order) - len, "%s%u", i ? "," : "",
					l.items[i]);
	status = shop_call("POST /cart/order", NULL, shop.port_cart, "POST", "/cart/order", order,
			   &resp);
	if (status != 200) {
		snprintf(body, size, "cart: %d %s\n", status, resp.body);
		return 502;
	}
	shop_span_begin(&s, "render");
	shop_work(60);
	snprintf(body, size, "thank you: %s", resp.body);
	shop_span_end(&s);
	return 200;
}

void shop_frontend(int listen_fd)
{
	static const struct shop_route routes[] = {
		{"GET", "/checkout", "GET /checkout", checkout},
	};
	struct shop_service s = {.name = "frontend",
				 .listen_fd = listen_fd,
				 .workers = shop.clients,
				 .routes = routes,
				 .n_routes = 1,
				 .start = start};

	shop_serve(&s);
}
