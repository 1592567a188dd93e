// SPDX-License-Identifier: MIT
/*
 * The process-wide tracer: ct_init / ct_shutdown / ct_flush / ct_stats_get, the atexit flush,
 * and fork safety. A fork child starts clean: the parent's rings, sink and drain thread are
 * left behind, a new generation makes spans inherited from the parent inert, and the child's
 * own sink and drain thread start on its first record (trace directories get "<dir>.<pid>").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sink.h"
#include "tracer.h"
#include "util/buf.h"

struct ct__tracer ct__g = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.flush_lock = PTHREAD_MUTEX_INITIALIZER,
};

static pthread_once_t once = PTHREAD_ONCE_INIT;

void ct__sample_fast_init(enum ct_sampler_kind kind, uint8_t table[3])
{
	/* Root, local parent, remote parent: mirrors ct_sampler_should_sample (sampler.c). */
	static const uint8_t t[][3] = {
		[CT_SAMPLER_ALWAYS_ON] = {CT__SM_YES, CT__SM_YES, CT__SM_YES},
		[CT_SAMPLER_ALWAYS_OFF] = {CT__SM_NO, CT__SM_NO, CT__SM_NO},
		[CT_SAMPLER_TRACEID_RATIO] = {CT__SM_ASK, CT__SM_ASK, CT__SM_ASK},
		[CT_SAMPLER_PARENTBASED_ALWAYS_ON] = {CT__SM_YES, CT__SM_FOLLOW, CT__SM_FOLLOW},
		[CT_SAMPLER_PARENTBASED_ALWAYS_OFF] = {CT__SM_NO, CT__SM_FOLLOW, CT__SM_FOLLOW},
		[CT_SAMPLER_PARENTBASED_TRACEID_RATIO] = {CT__SM_ASK, CT__SM_FOLLOW, CT__SM_FOLLOW},
		[CT_SAMPLER_RATE_LIMITED] = {CT__SM_ASK, CT__SM_FOLLOW, CT__SM_ASK},
		[CT_SAMPLER_PARENTBASED_RATE_LIMITED] = {CT__SM_ASK, CT__SM_FOLLOW, CT__SM_FOLLOW},
	};

	if ((unsigned)kind < sizeof(t) / sizeof(t[0]))
		memcpy(table, t[kind], 3);
	else
		memset(table, CT__SM_ASK, 3);
}

static void at_exit(void)
{
	ct_shutdown();
}

static void fork_prepare(void)
{
	/* No drain cycle or registry change may be half done in the child's copy. */
	pthread_mutex_lock(&ct__g.lock);
}

static void fork_parent(void)
{
	pthread_mutex_unlock(&ct__g.lock);
}

static void reset_thread(struct ct__thread *t)
{
	ct__ring_free(t->ring);
	t->ring = NULL;
	t->ring_gen = 0;
	t->tid = (int32_t)gettid();
	ct__rng_seed(t);
	t->lost_reported = t->lost_bytes_reported = 0;
	t->lost_seen = t->lost_bytes_seen = 0;
	t->last_ts = 0;
	t->sink_stream = NULL;
	atomic_store(&t->records, 0);
	atomic_store(&t->dropped, 0);
	atomic_store(&t->dropped_bytes, 0);
	atomic_store(&t->truncated, 0);
	atomic_store(&t->spans_started, 0);
	atomic_store(&t->spans_unsampled, 0);
	atomic_store(&t->scope_overflow, 0);
	/* The scopes stay current (the child runs inside them) but their enters were
	 * recorded by the parent: their exits are not the child's to record, and the child's
	 * kernel activity is not the parent's span's, so nothing is published. */
	for (unsigned i = 0; i < t->depth && i < CT_MAX_SCOPE_DEPTH; i++) {
		t->scopes[i].gen = 0;
		t->scopes[i].inherited = 1;
	}
}

static void fork_child(void)
{
	struct ct__thread *self = ct__self, *t, *next;
	pthread_condattr_t ca;

	/* The child starts outside any span, whether or not the library knew this thread. */
	ct__tctx_clear();

	/* Only the forking thread exists here; the drain thread may have held these. */
	pthread_mutex_init(&ct__g.flush_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ct__g.wake, &ca);
	pthread_cond_init(&ct__g.done, NULL);
	pthread_condattr_destroy(&ca);
	ct__g.drain_running = 0;
	ct__g.pid = getpid();
	for (t = ct__g.threads; t; t = next) {
		next = t->next;
		if (t != self) {
			ct__ring_free(t->ring);
			free(t);
		}
	}
	ct__g.threads = NULL;
	if (self) {
		reset_thread(self);
		self->next = NULL;
		ct__g.threads = self;
	}
	ct__g.freed_records = ct__g.freed_dropped = ct__g.freed_dropped_bytes = 0;
	ct__g.freed_truncated = ct__g.freed_started = ct__g.freed_unsampled = 0;
	ct__g.freed_overflow = 0;
	ct__g.threads_created = self ? 1 : 0;
	atomic_store(&ct__g.sink_dropped, 0);
	if (ct__g.sink) {
		ct__g.sink->ops->abandon(ct__g.sink);
		ct__g.sink = NULL;
	}
	atomic_fetch_add(&ct__g.gen, 1);
	if (atomic_load(&ct__g.state) == CT__RUNNING && ct__g.output)
		atomic_store(&ct__g.state, CT__FORKED);
	pthread_mutex_unlock(&ct__g.lock);
}

static void init_once(void)
{
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ct__g.wake, &ca);
	pthread_cond_init(&ct__g.done, NULL);
	pthread_condattr_destroy(&ca);
	pthread_atfork(fork_prepare, fork_parent, fork_child);
	atexit(at_exit);
}

static void free_config(void)
{
	free(ct__g.output);
	free(ct__g.service);
	free(ct__g.resource);
	free(ct__g.proc);
	ct__g.output = ct__g.service = ct__g.resource = NULL;
	ct__g.proc = NULL;
	ct__g.proc_len = 0;
	ct__g.proc_count = 0;
}

void ct__tracer_once(void)
{
	pthread_once(&once, init_once);
}

int ct__sink_open(struct ct__sink **out, char *errbuf, size_t errlen)
{
	const char *o = ct__g.output;

	if (!strncmp(o, "unix:", 5))
		return ct__sink_unix_open(out, o + 5, errbuf, errlen);
	return ct__sink_dir_open(out, o, errbuf, errlen);
}

int ct__sink_start_child(void)
{
	char err[512], *path = NULL;
	int e;

	e = ct__proc_records_build();
	if (!e && strncmp(ct__g.output, "unix:", 5)) {
		/* The parent's trace directory is the parent's: the child gets a sibling. */
		size_t n = strlen(ct__g.output) + 16;

		path = malloc(n);
		if (!path) {
			e = -ENOMEM;
		} else {
			snprintf(path, n, "%s.%d", ct__g.output, (int)ct__g.pid);
			e = ct__sink_dir_open(&ct__g.sink, path, err, sizeof(err));
		}
	} else if (!e) {
		e = ct__sink_open(&ct__g.sink, err, sizeof(err));
	}
	if (!e) {
		e = ct__drain_start();
		if (e) {
			ct__g.sink->ops->close(ct__g.sink, "failed");
			ct__g.sink = NULL;
			snprintf(err, sizeof(err), "cannot start the drain thread: %s",
				 ct_strerror(e));
		}
	}
	if (e) {
		fprintf(stderr, "crosstrace: process %d (forked) will not record: %s\n",
			(int)ct__g.pid, err);
		atomic_store(&ct__g.recording, 0);
		atomic_store(&ct__g.state, CT__RUNNING);
	}
	free(path);
	return e;
}

int ct_init(const struct ct_config *cfg)
{
	struct ct_config env;
	char err[512];
	int e;

	ct__tracer_once();
	if (!cfg) {
		e = ct_config_from_env(&env);
		if (e)
			return e;
		cfg = &env;
	}
	if (atomic_load(&ct__g.state) != CT__OFF)
		return -EALREADY;
	pthread_mutex_lock(&ct__g.lock);
	free_config();
	e = ct_sampler_init(&ct__g.sampler, cfg->sampler, cfg->sampler_arg);
	if (e)
		goto fail;
	ct__g.sampler_clock = cfg->sampler == CT_SAMPLER_RATE_LIMITED ||
			      cfg->sampler == CT_SAMPLER_PARENTBASED_RATE_LIMITED;
	ct__sample_fast_init(cfg->sampler, ct__g.sample_fast);
	ct__g.ring_bytes = cfg->ring_bytes ? cfg->ring_bytes : (1u << 20);
	if (ct__g.ring_bytes < CT__RING_MIN)
		ct__g.ring_bytes = CT__RING_MIN;
	ct__g.flush_ms = cfg->flush_ms ? cfg->flush_ms : 20;
	ct__g.rotate_bytes = cfg->rotate_bytes;
	ct__g.rotate_ms = cfg->rotate_ms;
	ct__g.pid = getpid();
	ct__g.output = cfg->output && cfg->output[0] ? strdup(cfg->output) : NULL;
	ct__g.service = cfg->service_name ? strdup(cfg->service_name) : NULL;
	ct__g.resource = cfg->resource_attrs ? strdup(cfg->resource_attrs) : NULL;
	if ((cfg->output && cfg->output[0] && !ct__g.output) ||
	    (cfg->service_name && !ct__g.service) || (cfg->resource_attrs && !ct__g.resource)) {
		e = -ENOMEM;
		goto fail;
	}
	e = ct__proc_records_build();
	if (e)
		goto fail;
	/* A new generation: rings, and spans of an earlier ct_init, are left behind. */
	atomic_fetch_add(&ct__g.gen, 1);
	if (ct__g.output) {
		e = ct__sink_open(&ct__g.sink, err, sizeof(err));
		if (e) {
			fprintf(stderr, "crosstrace: %s\n", err);
			goto fail;
		}
		e = ct__drain_start();
		if (e) {
			ct__g.sink->ops->close(ct__g.sink, "failed");
			ct__g.sink = NULL;
			goto fail;
		}
	}
	atomic_store(&ct__g.recording, ct__g.output != NULL);
	atomic_store(&ct__g.state, CT__RUNNING);
	pthread_mutex_unlock(&ct__g.lock);
	return 0;
fail:
	free_config();
	pthread_mutex_unlock(&ct__g.lock);
	return e;
}

int ct_shutdown(void)
{
	int state = atomic_load(&ct__g.state), err = 0;

	if (state == CT__OFF)
		return 0;
	/* Spans and scopes check this first: nothing new enters the rings from here on
	 * (a record already past the check may still land and stay undrained). */
	atomic_store(&ct__g.recording, 0);
	ct__drain_stop();
	pthread_mutex_lock(&ct__g.lock);
	if (ct__g.sink) {
		err = ct__drain_cycle(1, 1);
		{
			int e = ct__g.sink->ops->close(ct__g.sink, "complete");

			if (e && !err)
				err = e;
		}
		ct__g.sink = NULL;
	}
	atomic_store(&ct__g.state, CT__OFF);
	pthread_mutex_unlock(&ct__g.lock);
	return err;
}

int ct_flush(void)
{
	uint64_t my;
	int err;

	if (atomic_load(&ct__g.state) == CT__OFF)
		return CT_ENOTINIT;
	pthread_mutex_lock(&ct__g.lock);
	if (!ct__g.drain_running) {
		pthread_mutex_unlock(&ct__g.lock);
		return 0; /* no output, or a fork child that has recorded nothing yet */
	}
	pthread_mutex_unlock(&ct__g.lock);
	pthread_mutex_lock(&ct__g.flush_lock);
	my = ++ct__g.flush_req;
	pthread_cond_signal(&ct__g.wake);
	while (ct__g.flush_done < my && !ct__g.stop)
		pthread_cond_wait(&ct__g.done, &ct__g.flush_lock);
	err = ct__g.flush_done >= my ? ct__g.last_err : 0;
	pthread_mutex_unlock(&ct__g.flush_lock);
	return err;
}

void ct__stats_locked(struct ct_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->records = ct__g.freed_records;
	st->dropped = ct__g.freed_dropped;
	st->dropped_bytes = ct__g.freed_dropped_bytes;
	st->truncated = ct__g.freed_truncated;
	st->spans_started = ct__g.freed_started;
	st->spans_unsampled = ct__g.freed_unsampled;
	st->scope_overflow = ct__g.freed_overflow;
	st->threads = ct__g.threads_created;
	st->sink_dropped = atomic_load(&ct__g.sink_dropped);
	for (struct ct__thread *t = ct__g.threads; t; t = t->next) {
		st->records += atomic_load_explicit(&t->records, memory_order_relaxed);
		st->dropped += atomic_load_explicit(&t->dropped, memory_order_relaxed);
		st->dropped_bytes += atomic_load_explicit(&t->dropped_bytes, memory_order_relaxed);
		st->truncated += atomic_load_explicit(&t->truncated, memory_order_relaxed);
		st->spans_started += atomic_load_explicit(&t->spans_started, memory_order_relaxed);
		st->spans_unsampled +=
			atomic_load_explicit(&t->spans_unsampled, memory_order_relaxed);
		st->scope_overflow +=
			atomic_load_explicit(&t->scope_overflow, memory_order_relaxed);
	}
}

void ct_stats_get(struct ct_stats *st)
{
	pthread_mutex_lock(&ct__g.lock);
	ct__stats_locked(st);
	pthread_mutex_unlock(&ct__g.lock);
}

/* ---- the process's own records ---- */

struct proc_builder {
	struct ct_buf b;
	unsigned n;
};

static uint8_t *rec_begin(struct proc_builder *pb, uint16_t id, size_t payload)
{
	size_t at = pb->b.len;
	uint8_t *p;

	if (ct_buf_reserve(&pb->b, 16 + payload)) {
		pb->b.oom = 1;
		return NULL;
	}
	pb->b.len += 16 + payload;
	pb->n++;
	p = (uint8_t *)pb->b.data + at;
	return ct__rec_header(p, id, payload, 0);
}

static void attr_str(struct proc_builder *pb, const char *k, size_t kn, const char *v, size_t vn)
{
	uint8_t *p;

	if (kn > CT_MAX_NAME)
		kn = CT_MAX_NAME;
	if (vn > CT_MAX_STRING)
		vn = CT_MAX_STRING;
	p = rec_begin(pb, CT_EV_ATTR_STR, 8 + 2 + kn + 1 + vn + 1);
	if (!p)
		return;
	p = ct_put_u64(p, 0);
	p = ct_put_u16(p, 0);
	p = ct__put_strn(p, k, kn);
	ct__put_strn(p, v, vn);
}

static void attr_int(struct proc_builder *pb, const char *k, int64_t v)
{
	size_t kn = strlen(k);
	uint8_t *p = rec_begin(pb, CT_EV_ATTR_INT, 8 + 2 + kn + 1 + 8);

	if (!p)
		return;
	p = ct_put_u64(p, 0);
	p = ct_put_u16(p, 0);
	p = ct__put_strn(p, k, kn);
	ct_put_u64(p, (uint64_t)v);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* OTEL_RESOURCE_ATTRIBUTES values are percent-encoded (W3C Baggage octets). */
static size_t percent_decode(const char *s, size_t n, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
			out[o++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
			i += 2;
		} else {
			out[o++] = s[i];
		}
	}
	return o;
}

static void trim(const char **s, size_t *n)
{
	while (*n && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*n)--;
	}
	while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
		(*n)--;
}

/*
 * Calls fn for each "key=value" member of an OTEL_RESOURCE_ATTRIBUTES string (value
 * percent-decoded, both trimmed); members without '=' or with an empty key are skipped.
 */
static void each_resource(const char *res,
			  void (*fn)(void *, const char *, size_t, const char *, size_t), void *arg)
{
	while (res && *res) {
		const char *end = strchr(res, ','), *eq;
		size_t n = end ? (size_t)(end - res) : strlen(res);

		eq = memchr(res, '=', n);
		if (eq) {
			const char *k = res, *v = eq + 1;
			size_t kn = (size_t)(eq - res), vn = n - kn - 1;
			char buf[CT_MAX_STRING + 1];

			trim(&k, &kn);
			trim(&v, &vn);
			if (vn > CT_MAX_STRING)
				vn = CT_MAX_STRING;
			if (kn)
				fn(arg, k, kn, buf, percent_decode(v, vn, buf));
		}
		res = end ? end + 1 : NULL;
	}
}

struct res_ctx {
	struct proc_builder *pb;
	char service[CT_MAX_STRING + 1];
};

static void res_service(void *arg, const char *k, size_t kn, const char *v, size_t vn)
{
	struct res_ctx *c = arg;

	if (kn == 12 && !memcmp(k, "service.name", 12))
		snprintf(c->service, sizeof(c->service), "%.*s", (int)vn, v);
}

static void res_attr(void *arg, const char *k, size_t kn, const char *v, size_t vn)
{
	struct res_ctx *c = arg;

	/* service.name is written once, from the name finally chosen. */
	if (!(kn == 12 && !memcmp(k, "service.name", 12)))
		attr_str(c->pb, k, kn, v, vn);
}

int ct__proc_records_build(void)
{
	struct proc_builder pb = {.n = 0};
	struct res_ctx rc = {.pb = &pb};
	char host[256] = "";
	const char *service;
	uint8_t *p;
	size_t sn, hn, dn;
	static const char sdk[] = "crosstrace-c " CT_VERSION_STRING;

	ct_buf_init(&pb.b);
	gethostname(host, sizeof(host) - 1);
	/* OpenTelemetry: OTEL_SERVICE_NAME wins over service.name in the resource. */
	each_resource(ct__g.resource, res_service, &rc);
	service = ct__g.service	  ? ct__g.service
		  : rc.service[0] ? rc.service
				  : program_invocation_short_name;
	sn = strnlen(service, CT_MAX_STRING);
	hn = strlen(host);
	dn = strlen(sdk);
	p = rec_begin(&pb, CT_EV_PROCESS_INFO, sn + 1 + dn + 1 + hn + 1);
	if (p) {
		p = ct__put_strn(p, service, sn);
		p = ct__put_strn(p, sdk, dn);
		ct__put_strn(p, host, hn);
	}
	attr_str(&pb, "service.name", 12, service, sn);
	attr_int(&pb, "process.pid", ct__g.pid);
	attr_str(&pb, "host.name", 9, host, hn);
	attr_str(&pb, "telemetry.sdk.name", 18, "crosstrace", 10);
	attr_str(&pb, "telemetry.sdk.language", 22, "c", 1);
	attr_str(&pb, "telemetry.sdk.version", 21, CT_VERSION_STRING, strlen(CT_VERSION_STRING));
	attr_str(&pb, "process.executable.name", 23, program_invocation_short_name,
		 strlen(program_invocation_short_name));
	each_resource(ct__g.resource, res_attr, &rc);
	if (pb.b.oom) {
		ct_buf_fini(&pb.b);
		return -ENOMEM;
	}
	if (!ct__g.service && !(ct__g.service = strdup(service))) {
		ct_buf_fini(&pb.b);
		return -ENOMEM;
	}
	free(ct__g.proc);
	ct__g.proc_len = pb.b.len;
	ct__g.proc_count = pb.n;
	ct__g.proc = (uint8_t *)ct_buf_steal(&pb.b);
	return 0;
}
