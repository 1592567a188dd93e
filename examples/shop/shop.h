/* SPDX-License-Identifier: MIT */
/*
 * The demo shop: a load generator calls frontend → (inventory ×N, cart → payment), each a
 * separate process speaking HTTP/1.1 over loopback with W3C traceparent headers and
 * libcrosstrace spans. Known pathologies can be switched on (lock contention, fsync-bound
 * writes, a CPU hog, a slow downstream call, sequential instead of parallel fan-out), so
 * that what crosstrace reports can be checked against what was injected.
 */
#ifndef CT_SHOP_H
#define CT_SHOP_H

#include <pthread.h>
#include <stdint.h>

#include "crosstrace/crosstrace.h"

/* Pathologies (bits of shop_opts.pathologies). */
enum {
	SHOP_LOCK = 1 << 0, /* cart: stock reserved under one global mutex */
	SHOP_FSYNC = 1 << 1, /* cart: every order fsync'd to orders.db */
	SHOP_HOG = 1 << 2, /* payment pinned to the CPU a hog process spins on */
	SHOP_SLOW = 1 << 3, /* payment: the bank authorisation takes long (sleeps) */
	SHOP_FANOUT = 1 << 4, /* frontend: slow inventory lookups, in parallel */
	SHOP_SEQUENTIAL = 1 << 5, /* frontend: slow inventory lookups, one after another */
};

/* Everything the processes need to know; filled by the launcher before it forks. */
struct shop_opts {
	unsigned pathologies; /* SHOP_* */
	double duration_s; /* load duration */
	unsigned clients; /* concurrent load generator connections */
	unsigned period_ms; /* each client starts one request per period (waves) */
	unsigned items; /* inventory lookups per checkout */
	unsigned hog_cpu; /* CPU the hog and payment share (SHOP_HOG) */
	uint16_t port_frontend, port_cart, port_payment, port_inventory;
	char data_dir[4096]; /* holds orders.db */
	char truth[4096]; /* ground-truth file for tests, "" = none */
	double work_per_us; /* calibrated loop iterations per microsecond of CPU */
	int ready_fd; /* services write one byte here once they serve */
};

extern struct shop_opts shop;
/* The cart's stock lock (lock pathology); its address is reported as ground truth. */
extern pthread_mutex_t shop_stock_lock;

/* ---- one HTTP exchange (http.c) ---- */

#define SHOP_MAX_BODY 1024

struct shop_http_msg {
	char method[8];
	char path[256];
	int status; /* responses */
	char traceparent[128]; /* "" when absent */
	char body[SHOP_MAX_BODY];
	size_t body_len;
};

/* Reads one request from fd. Returns 0, a negative errno, or -EPROTO for bad syntax. */
int shop_http_read_request(int fd, struct shop_http_msg *m);
/* Writes a response with its Content-Length. Returns 0 or a negative errno. */
int shop_http_write_response(int fd, int status, const char *body);
/*
 * Connects to 127.0.0.1:port, sends method path with body (may be NULL) and, when ctx is
 * valid, its traceparent; reads the response into *resp. Returns 0 or a negative errno.
 */
int shop_http_exchange(uint16_t port, const char *method, const char *path, const char *body,
		       const struct ct_span_context *ctx, struct shop_http_msg *resp);

/* ---- services (server.c) ---- */

/* A request handler: fills body (NUL-terminated, at most size bytes), returns the status. */
typedef int (*shop_handler_fn)(const struct shop_http_msg *req, char *body, size_t size);

struct shop_route {
	const char *method, *prefix; /* a request matches when its path starts with prefix */
	const char *span_name; /* "GET /inventory/{item}" */
	shop_handler_fn fn;
};

struct shop_service {
	const char *name; /* service.name and process name */
	int listen_fd;
	unsigned workers;
	const struct shop_route *routes;
	unsigned n_routes;
	void (*start)(void); /* after tracing started, before workers (may be NULL) */
	void (*stop)(void); /* after SIGTERM, before tracing stops (may be NULL) */
};

/*
 * Runs a service process: names it, starts tracing (service.name = s->name), serves with
 * s->workers threads until SIGTERM or SIGINT, then flushes the trace. Never returns.
 */
void shop_serve(const struct shop_service *s) __attribute__((noreturn));

/*
 * A client span named name around one HTTP exchange, child of parent (NULL: the calling
 * thread's current span). Returns the response status, or 502 when the call failed.
 */
int shop_call(const char *name, const struct ct_span_context *parent, uint16_t port,
	      const char *method, const char *path, const char *body, struct shop_http_msg *resp);

/* An internal span made current on the calling thread; shop_span_end undoes both. */
void shop_span_begin(struct ct_span *s, const char *name);
void shop_span_end(struct ct_span *s);

/* Spends about us microseconds of CPU in user space (calibrated loop, no syscalls). */
void shop_work(unsigned us);
void shop_work_calibrate(void);
/* Sleeps us microseconds (nanosleep: a wait the kernel sees as a sleep). */
void shop_sleep_us(unsigned us);

/* Appends a line to the ground-truth file (when one was asked for). */
void shop_truth(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- the roles (one process each) ---- */
void shop_frontend(int listen_fd) __attribute__((noreturn));
void shop_cart(int listen_fd) __attribute__((noreturn));
void shop_payment(int listen_fd) __attribute__((noreturn));
void shop_inventory(int listen_fd) __attribute__((noreturn));
void shop_hog(void) __attribute__((noreturn));
/* Runs the load; returns the exit status (0 when every request succeeded). */
int shop_load(void);

#endif
