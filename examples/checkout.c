// SPDX-License-Identifier: MIT
/*
 * A small traced program: a "checkout" request priced by two worker threads, then sent order
 * by order to a separate worker process over a pipe, with the W3C traceparent as text in
 * front of each order. It shows spans, attributes, events, links, status, scopes on several
 * threads and context crossing a process boundary, and prints how many records each process
 * asked the library to write ("emitted <pid> <records>"), which tests compare with the trace.
 *
 *   CROSSTRACE_OUTPUT=/tmp/trace ./ct_example_checkout [orders]
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crosstrace/crosstrace.h"

/* Records this process asked for (only sampled spans record anything). */
static _Atomic unsigned long emitted;

static void count(const struct ct_span *s, unsigned long n)
{
	if (ct_span_context_of(s)->trace_flags & CT_TRACE_FLAG_SAMPLED)
		atomic_fetch_add(&emitted, n);
}

static int span_start(struct ct_span *s, const char *name, const struct ct_span_opts *o)
{
	int err = ct_span_start(s, name, o);

	if (err == 0 && o)
		atomic_fetch_add(&emitted, 1 + o->n_attrs);
	else if (err == 0)
		atomic_fetch_add(&emitted, 1);
	return err;
}

struct pricing {
	const struct ct_span *request; /* started on the main thread */
	int first_item, n_items;
	struct ct_span items[8];
	long cents;
};

/* A worker thread: makes the request current here, prices its items as child spans. */
static void *price_items(void *arg)
{
	struct pricing *p = arg;

	ct_scope_enter(p->request);
	count(p->request, 1);
	for (int i = 0; i < p->n_items; i++) {
		struct ct_span *s = &p->items[i];
		int item = p->first_item + i;
		struct ct_attr attrs[] = {CT_ATTR_I64("item.id", item),
					  CT_ATTR_STR("item.currency", "EUR")};
		struct ct_span_opts o = {
			.kind = CT_SPAN_KIND_INTERNAL, .attrs = attrs, .n_attrs = 2};

		span_start(s, "price-item", &o);
		if (item % 3 == 0) {
			struct ct_attr ev[] = {CT_ATTR_STR("cache", "prices")};

			ct_span_add_event(s, "cache-miss", 0, ev, 1);
			count(s, 2);
		}
		p->cents += 100 + item * 7;
		ct_span_set_double(s, "item.price", (100 + item * 7) / 100.0);
		count(s, 1);
		if (item == 4) {
			ct_span_set_status(s, CT_STATUS_ERROR, "price list out of date");
			count(s, 1);
		}
		ct_span_end(s);
		count(s, 1);
	}
	ct_scope_exit();
	count(p->request, 1);
	return NULL;
}

/* The worker process: one order per line, "<traceparent> <order number>". */
static int worker(int in, int out)
{
	FILE *f = fdopen(in, "r");
	char line[256];
	int orders = 0;

	if (!f)
		return 1;
	while (fgets(line, sizeof(line), f)) {
		struct ct_span_context parent;
		struct ct_span s;
		struct ct_span_opts o = {.kind = CT_SPAN_KIND_SERVER, .parent = &parent};
		int order = atoi(line + CT_TRACEPARENT_LEN + 1);
		char reply[32];
		int n;

		if (ct_traceparent_parse(line, CT_TRACEPARENT_LEN, &parent)) {
			fprintf(stderr, "worker: bad traceparent in %s", line);
			return 1;
		}
		span_start(&s, "store-order", &o);
		ct_scope_enter(&s);
		count(&s, 1);
		ct_span_set_int(&s, "order.number", order);
		ct_span_add_event(&s, "written", 0, NULL, 0);
		count(&s, 2);
		ct_scope_exit();
		count(&s, 1);
		ct_span_end(&s);
		count(&s, 1);
		n = snprintf(reply, sizeof(reply), "ok %d\n", order);
		if (write(out, reply, (size_t)n) != n)
			return 1;
		orders++;
	}
	fclose(f);
	ct_shutdown();
	printf("emitted %d %lu\n", (int)getpid(), atomic_load(&emitted));
	fflush(stdout);
	return orders ? 0 : 1;
}

int main(int argc, char **argv)
{
	int orders = argc > 1 ? atoi(argv[1]) : 5;
	int to_worker[2], from_worker[2], status, err;
	struct ct_span request, send, batch;
	struct pricing price[2] = {{.first_item = 1, .n_items = 4},
				   {.first_item = 5, .n_items = 4}};
	pthread_t th[2];
	pid_t child;
	FILE *replies;

	err = ct_init(NULL);
	if (err) {
		fprintf(stderr, "checkout: cannot start tracing: %s\n", ct_strerror(err));
		return 1;
	}
	if (pipe(to_worker) || pipe(from_worker)) {
		perror("checkout: pipe");
		return 1;
	}
	/* The worker process forks before any thread of ours: it records on its own. */
	child = fork();
	if (child < 0) {
		perror("checkout: fork");
		return 1;
	}
	if (child == 0) {
		close(to_worker[1]);
		close(from_worker[0]);
		exit(worker(to_worker[0], from_worker[1]));
	}
	close(to_worker[0]);
	close(from_worker[1]);

	{
		struct ct_attr attrs[] = {CT_ATTR_STR("http.method", "POST"),
					  CT_ATTR_STR("http.route", "/checkout"),
					  CT_ATTR_I64("orders", orders)};
		struct ct_span_opts o = {
			.kind = CT_SPAN_KIND_SERVER, .root = 1, .attrs = attrs, .n_attrs = 3};

		span_start(&request, "checkout", &o);
	}
	ct_scope_enter(&request);
	count(&request, 1);

	/* Fan-out to two threads, fan-in with a span linking every priced item. */
	for (int i = 0; i < 2; i++) {
		price[i].request = &request;
		pthread_create(&th[i], NULL, price_items, &price[i]);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	span_start(&batch, "total", NULL);
	for (int i = 0; i < 2; i++) {
		for (int k = 0; k < price[i].n_items; k++) {
			struct ct_attr la[] = {CT_ATTR_STR("link.kind", "priced-by")};

			ct_span_add_link(&batch, ct_span_context_of(&price[i].items[k]), la, 1);
			count(&batch, 2);
		}
	}
	ct_span_set_int(&batch, "cents", price[0].cents + price[1].cents);
	count(&batch, 1);
	ct_span_end(&batch);
	count(&batch, 1);

	/* Orders go to the worker process, each with the client span's context. */
	replies = fdopen(from_worker[0], "r");
	for (int i = 1; i <= orders && replies; i++) {
		struct ct_span_opts o = {.kind = CT_SPAN_KIND_CLIENT};
		char line[128], reply[64];
		int n;

		span_start(&send, "send-order", &o);
		ct_traceparent_format(ct_span_context_of(&send), line, sizeof(line));
		n = (int)strlen(line);
		n += snprintf(line + n, sizeof(line) - (size_t)n, " %d\n", i);
		if (write(to_worker[1], line, (size_t)n) != n ||
		    !fgets(reply, sizeof(reply), replies)) {
			ct_span_set_status(&send, CT_STATUS_ERROR, "worker gone");
			count(&send, 1);
		} else {
			ct_span_set_status(&send, CT_STATUS_OK, NULL);
			count(&send, 1);
		}
		ct_span_end(&send);
		count(&send, 1);
	}
	close(to_worker[1]);
	if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "checkout: worker process failed\n");
		return 1;
	}
	if (replies)
		fclose(replies);
	ct_scope_exit();
	count(&request, 1);
	ct_span_end(&request);
	count(&request, 1);
	err = ct_shutdown();
	if (err)
		fprintf(stderr, "checkout: finishing the trace: %s\n", ct_strerror(err));
	printf("emitted %d %lu\n", (int)getpid(), atomic_load(&emitted));
	return err ? 1 : 0;
}
