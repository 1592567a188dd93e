// SPDX-License-Identifier: MIT
/*
 * The tracer API end to end in one process: spans, attributes, events, links, status, scopes,
 * context across threads, explicit timestamps, truncation, behaviour before ct_init and after
 * ct_shutdown, drops, rotation, configuration from the environment, and fork. Every check
 * reads the trace directory back with the C reader: what the API was asked to record must be
 * there, exactly once.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client_trace.h"
#include "crosstrace/crosstrace.h"
#include "test.h"

static char tmpdir[256];
static int dir_seq;

/* A fresh trace directory path (not created). */
static const char *new_dir(char *buf, size_t len)
{
	snprintf(buf, len, "%s/t%d", tmpdir, ++dir_seq);
	return buf;
}

static int start(const char *out, size_t ring_bytes, uint32_t flush_ms)
{
	struct ct_config cfg = {0};

	cfg.service_name = "test-tracer";
	cfg.resource_attrs = "deployment.environment=unit, team=a%2Cb";
	cfg.sampler = CT_SAMPLER_ALWAYS_ON;
	cfg.output = out;
	cfg.ring_bytes = ring_bytes;
	cfg.flush_ms = flush_ms;
	return ct_init(&cfg);
}

static uint64_t be64(const uint8_t *b)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | b[i];
	return v;
}

static const struct ct_event *find_start(const struct tevs *e, uint64_t span_id)
{
	for (size_t i = 0; i < e->n; i++)
		if (e->v[i].type == CT_EV_SPAN_START && e->v[i].u.span_start.span_id == span_id)
			return &e->v[i];
	return NULL;
}

static size_t count_span(const struct tevs *e, unsigned type, uint64_t span_id)
{
	size_t n = 0;

	for (size_t i = 0; i < e->n; i++) {
		const struct ct_event *v = &e->v[i];

		if (v->type != type)
			continue;
		/* span_id is the first field of every span-scoped payload */
		switch (type) {
		case CT_EV_SPAN_START:
			n += v->u.span_start.span_id == span_id;
			break;
		case CT_EV_SPAN_END:
			n += v->u.span_end.span_id == span_id;
			break;
		case CT_EV_SCOPE_ENTER:
			n += v->u.scope_enter.span_id == span_id;
			break;
		case CT_EV_SCOPE_EXIT:
			n += v->u.scope_exit.span_id == span_id;
			break;
		default:
			break;
		}
	}
	return n;
}

static const struct ct_event *find_attr(const struct tevs *e, unsigned type, uint64_t span_id,
					uint16_t owner, const char *key)
{
	for (size_t i = 0; i < e->n; i++) {
		const struct ct_event *v = &e->v[i];

		if (v->type != type)
			continue;
		/* the four attr payloads share their first three fields */
		if (v->u.attr_str.span_id == span_id && v->u.attr_str.owner == owner &&
		    !strcmp(v->u.attr_str.key, key))
			return v;
	}
	return NULL;
}

TEST(before_init)
{
	struct ct_span s;
	struct ct_span_context ctx;

	CHECK_INT(ct_span_start(&s, "early", NULL), CT_ENOTINIT);
	CHECK(ct_span_context_is_valid(ct_span_context_of(&s)));
	CHECK_INT(ct_span_context_of(&s)->trace_flags & CT_TRACE_FLAG_SAMPLED, 0);
	/* Scopes work without a tracer: context still propagates. */
	ct_scope_enter(&s);
	CHECK(ct_current_context() != NULL);
	CHECK(!memcmp(ct_current_context()->span_id, s.ctx.span_id, 8));
	ctx = *ct_current_context();
	ct_span_set_int(&s, "k", 1);
	ct_span_add_event(&s, "ev", 0, NULL, 0);
	ct_span_end(&s);
	ct_scope_exit();
	CHECK(ct_current_context() == NULL);
	CHECK_INT(ct_flush(), CT_ENOTINIT);
	CHECK_INT(ct_shutdown(), 0);
	(void)ctx;
}

TEST(span_roundtrip)
{
	char dir[300];
	struct ct_span root, child, other;
	struct ct_attr attrs[] = {
		CT_ATTR_STR("http.method", "GET"),
		CT_ATTR_I64("http.status_code", 200),
		CT_ATTR_F64("ratio", 0.25),
		CT_ATTR_BOOL("cached", 1),
	};
	struct ct_attr ev_attrs[] = {CT_ATTR_STR("exception.type", "EIO")};
	struct ct_attr link_attrs[] = {CT_ATTR_I64("batch", 7)};
	struct ct_span_opts o = {.kind = CT_SPAN_KIND_SERVER, .attrs = attrs, .n_attrs = 4};
	struct ct_span_opts root_opts = {.root = 1};
	struct tevs e;
	const struct ct_event *v;
	uint64_t rid, cid, oid;
	int32_t me = (int32_t)gettid();

	CHECK_INT(start(new_dir(dir, sizeof(dir)), 0, 0), 0);
	CHECK_INT(start(dir, 0, 0), -EALREADY);
	CHECK_INT(ct_span_start(&root, "GET /items", &o), 0);
	ct_scope_enter(&root);
	CHECK_INT(ct_span_start(&child, "db.query", NULL), 0);
	ct_span_set_str(&child, "db.statement", "SELECT 1");
	ct_span_add_event(&child, "retry", 0, ev_attrs, 1);
	ct_span_set_status(&child, CT_STATUS_ERROR, "disk on fire");
	ct_span_end(&child);
	ct_span_end(&child); /* ignored */
	CHECK_INT(ct_span_start(&other, "other-trace", &root_opts), 0);
	ct_span_add_link(&other, ct_span_context_of(&root), link_attrs, 1);
	ct_span_set_status(&other, CT_STATUS_OK, "ignored for OK");
	ct_span_end(&other);
	ct_scope_exit();
	ct_span_end(&root);
	CHECK_INT(ct_flush(), 0);
	CHECK_INT(ct_shutdown(), 0);
	CHECK_INT(ct_shutdown(), 0);

	CHECK_INT(tevs_load(dir, &e), 0);
	CHECK_STR(e.status, "complete");
	CHECK_U64(e.errors, 0);
	rid = be64(root.ctx.span_id);
	cid = be64(child.ctx.span_id);
	oid = be64(other.ctx.span_id);
	CHECK(!memcmp(root.ctx.trace_id, child.ctx.trace_id, 16));
	CHECK(memcmp(root.ctx.trace_id, other.ctx.trace_id, 16));
	CHECK(!memcmp(child.parent_id, root.ctx.span_id, 8));

	v = find_start(&e, rid);
	CHECK(v != NULL);
	if (v) {
		CHECK_STR(v->u.span_start.name, "GET /items");
		CHECK_INT(v->u.span_start.kind, CT_SPAN_KIND_SERVER);
		CHECK_U64(v->u.span_start.parent_id, 0);
		CHECK_U64(v->u.span_start.trace_hi, be64(root.ctx.trace_id));
		CHECK_U64(v->u.span_start.trace_lo, be64(root.ctx.trace_id + 8));
		CHECK_INT(v->u.span_start.flags & CT_SPAN_FLAG_SAMPLED, CT_SPAN_FLAG_SAMPLED);
		CHECK_INT(v->pid, getpid());
		CHECK_INT(v->tid, me);
	}
	v = find_attr(&e, CT_EV_ATTR_STR, rid, 0, "http.method");
	CHECK(v && !strcmp(v->u.attr_str.value, "GET"));
	v = find_attr(&e, CT_EV_ATTR_INT, rid, 0, "http.status_code");
	CHECK(v && v->u.attr_int.value == 200);
	v = find_attr(&e, CT_EV_ATTR_DOUBLE, rid, 0, "ratio");
	CHECK(v && v->u.attr_double.value == 0.25);
	v = find_attr(&e, CT_EV_ATTR_BOOL, rid, 0, "cached");
	CHECK(v && v->u.attr_bool.value == 1);

	v = find_start(&e, cid);
	CHECK(v && v->u.span_start.parent_id == rid);
	v = find_attr(&e, CT_EV_ATTR_STR, cid, 0, "db.statement");
	CHECK(v && !strcmp(v->u.attr_str.value, "SELECT 1"));
	v = find_attr(&e, CT_EV_ATTR_STR, cid, 1, "exception.type");
	CHECK(v && !strcmp(v->u.attr_str.value, "EIO"));
	CHECK_INT(count_span(&e, CT_EV_SPAN_END, cid), 1);
	CHECK_INT(count_span(&e, CT_EV_SPAN_END, rid), 1);
	CHECK_INT(count_span(&e, CT_EV_SCOPE_ENTER, rid), 1);
	CHECK_INT(count_span(&e, CT_EV_SCOPE_EXIT, rid), 1);
	for (size_t i = 0; i < e.n; i++) {
		const struct ct_event *x = &e.v[i];

		if (x->type == CT_EV_SPAN_EVENT) {
			CHECK_U64(x->u.span_event.span_id, cid);
			CHECK_STR(x->u.span_event.name, "retry");
			CHECK_INT(x->u.span_event.index, 1);
		} else if (x->type == CT_EV_SPAN_STATUS && x->u.span_status.span_id == cid) {
			CHECK_INT(x->u.span_status.status, CT_STATUS_ERROR);
			CHECK_STR(x->u.span_status.message, "disk on fire");
		} else if (x->type == CT_EV_SPAN_STATUS && x->u.span_status.span_id == oid) {
			CHECK_INT(x->u.span_status.status, CT_STATUS_OK);
			CHECK_STR(x->u.span_status.message, "");
		} else if (x->type == CT_EV_SPAN_END && x->u.span_end.span_id == cid) {
			CHECK_INT(x->u.span_end.status, CT_STATUS_ERROR);
		} else if (x->type == CT_EV_SPAN_END && x->u.span_end.span_id == rid) {
			CHECK_INT(x->u.span_end.status, CT_STATUS_UNSET);
		} else if (x->type == CT_EV_SPAN_LINK) {
			CHECK_U64(x->u.span_link.span_id, oid);
			CHECK_INT(x->u.span_link.index, 1);
			CHECK_U64(x->u.span_link.linked_span_id, rid);
			CHECK_U64(x->u.span_link.trace_hi, be64(root.ctx.trace_id));
			CHECK_INT(x->u.span_link.flags & CT_SPAN_FLAG_SAMPLED,
				  CT_SPAN_FLAG_SAMPLED);
		} else if (x->type == CT_EV_PROCESS_INFO) {
			CHECK_STR(x->u.process_info.service, "test-tracer");
			CHECK_INT(x->tid, 0);
		}
	}
	v = find_attr(&e, CT_EV_ATTR_INT, oid, 0x8001, "batch");
	CHECK(v && v->u.attr_int.value == 7);
	CHECK_INT(tevs_count(&e, CT_EV_SPAN_LINK, 0), 1);
	CHECK_INT(tevs_count(&e, CT_EV_PROCESS_INFO, 0), 1);
	/* resource attributes: span 0, values percent-decoded */
	v = find_attr(&e, CT_EV_ATTR_STR, 0, 0, "team");
	CHECK(v && !strcmp(v->u.attr_str.value, "a,b"));
	v = find_attr(&e, CT_EV_ATTR_STR, 0, 0, "service.name");
	CHECK(v && !strcmp(v->u.attr_str.value, "test-tracer"));
	v = find_attr(&e, CT_EV_ATTR_INT, 0, 0, "process.pid");
	CHECK(v && v->u.attr_int.value == getpid());
	tevs_free(&e);
}

TEST(explicit_times)
{
	char dir[300];
	struct ct_span s;
	struct ct_span_opts o = {.start_ns = 1000};
	struct tevs e;

	CHECK_INT(start(new_dir(dir, sizeof(dir)), 0, 0), 0);
	ct_span_start(&s, "past", &o);
	ct_span_add_event(&s, "then", 1500, NULL, 0);
	ct_span_end_at(&s, 2000);
	CHECK_INT(ct_shutdown(), 0);
	CHECK_INT(tevs_load(dir, &e), 0);
	for (size_t i = 0; i < e.n; i++) {
		const struct ct_event *x = &e.v[i];

		if (x->type == CT_EV_SPAN_START) {
			CHECK_U64(x->u.span_start.start_ns, 1000);
			CHECK(x->ts > 2000); /* recorded now, about the past */
		}
		if (x->type == CT_EV_SPAN_EVENT)
			CHECK_U64(x->u.span_event.time_ns, 1500);
		if (x->type == CT_EV_SPAN_END)
			CHECK_U64(x->u.span_end.end_ns, 2000);
	}
	CHECK_INT(tevs_count(&e, CT_EV_SPAN_END, 0), 1);
	tevs_free(&e);
}

TEST(truncation)
{
	char dir[300], name[1000], value[5000];
	struct ct_span s;
	struct ct_stats st, st0;
	struct tevs e;

	ct_stats_get(&st0);
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = 0;
	memset(value, 'v', sizeof(value) - 1);
	value[sizeof(value) - 1] = 0;
	CHECK_INT(start(new_dir(dir, sizeof(dir)), 0, 0), 0);
	ct_span_start(&s, name, NULL);
	ct_span_set_str(&s, "long", value);
	ct_span_set_str(&s, name, "v");
	ct_span_end(&s);
	ct_stats_get(&st);
	CHECK_U64(st.truncated - st0.truncated, 3);
	CHECK_INT(ct_shutdown(), 0);
	CHECK_INT(tevs_load(dir, &e), 0);
	for (size_t i = 0; i < e.n; i++) {
		const struct ct_event *x = &e.v[i];

		if (x->type == CT_EV_SPAN_START)
			CHECK_INT(x->u.span_start.name_len, CT_MAX_NAME);
		if (x->type == CT_EV_ATTR_STR && x->u.attr_str.span_id) {
			if (!strcmp(x->u.attr_str.key, "long"))
				CHECK_INT(x->u.attr_str.value_len, CT_MAX_STRING);
			else
				CHECK_INT(x->u.attr_str.key_len, CT_MAX_NAME);
		}
	}
	tevs_free(&e);
}

TEST(after_shutdown)
{
	char dir[300];
	struct ct_span before, after;
	struct tevs e;

	CHECK_INT(start(new_dir(dir, sizeof(dir)), 0, 0), 0);
	ct_span_start(&before, "before", NULL);
	CHECK_INT(ct_shutdown(), 0);
	CHECK_INT(ct_span_start(&after, "after", NULL), CT_ENOTINIT);
	CHECK(ct_span_context_is_valid(&after.ctx));
	ct_span_set_int(&before, "late", 1);
	ct_span_end(&before);
	ct_span_end(&after);
	CHECK_INT(ct_flush(), CT_ENOTINIT);
	CHECK_INT(tevs_load(dir, &e), 0);
	CHECK_INT(tevs_count(&e, CT_EV_SPAN_START, 0), 1);
	CHECK_INT(tevs_count(&e, CT_EV_SPAN_END, 0), 0);
	CHECK_INT(tevs_count(&e, CT_EV_ATTR_INT, 0), 1); /* process.pid only */
	tevs_free(&e);

	/* A later ct_init starts a new recording; the old span stays inert. */
	CHECK_INT(start(new_dir(dir, sizeof(dir)), 0, 0), 0);
	before.state = 1; /* even if it still looked started, it belongs to the old tracer */
	ct_span_end(&before);
	CHECK_INT(ct_shutdown(), 0);
	CHECK_INT(tevs_load(dir, &e), 0);
	CHECK_INT(tevs_count(&e, CT_EV_SPAN_END, 0), 0);
	tevs_free(&e);
}

struct handoff {
	struct ct_span parent;
	struct ct_span child;
	int32_t tid;
};

static void *worker(void *arg)
{
	struct handoff *h = arg;

	h->tid = (int32_t)gettid();
	/* The span came from another thread: make it current here, start a child of it. */
	ct_scope_enter(&h->parent);
	ct_span_start(&h->child, "on-worker", NULL);
	ct_span_end(&h->child);
	ct_scope_exit();
	ct_span_end(&h->parent); /* ended on another thread than it started on */
	return NULL;
}

TEST(threads)
{
	char dir[300];
	struct handoff h;
	pthread_t th;
	struct tevs e;
	const struct ct_event *v;
	uint64_t pid_ = be64(h.parent.ctx.span_id);

	CHECK_INT(start(new_dir(dir, sizeof(dir)), 0, 0), 0);
	ct_span_start(&h.parent, "request", NULL);
	pthread_create(&th, NULL, worker, &h);
	pthread_join(th, NULL);
	CHECK_INT(ct_shutdown(), 0);
	CHECK_INT(tevs_load(dir, &e), 0);
	pid_ = be64(h.parent.ctx.span_id);
	v = find_start(&e, be64(h.child.ctx.span_id));
	CHECK(v != NULL);
	if (v) {
		CHECK_U64(v->u.span_start.parent_id, pid_);
		CHECK_U64(v->u.span_start.trace_hi, be64(h.parent.ctx.trace_id));
		CHECK_INT(v->tid, h.tid);
	}
	for (size_t i = 0; i < e.n; i++) {
		const struct ct_event *x = &e.v[i];

		if (x->type == CT_EV_SCOPE_ENTER)
			CHECK_INT(x->tid, h.tid);
		if (x->type == CT_EV_SPAN_END && x->u.span_end.span_id == pid_)
			CHECK_INT(x->tid, h.tid);
		if (x->type == CT_EV_SPAN_START && x->u.span_start.span_id == pid_)
			CHECK_INT(x->tid, gettid());
	}
	CHECK_INT(count_span(&e, CT_EV_SCOPE_ENTER, pid_), 1);
	CHECK_INT(count_span(&e, CT_EV_SCOPE_EXIT, pid_), 1);
	tevs_free(&e);
}

TEST(unsampled)
{
	char dir[300];
	struct ct_config cfg = {0};
	struct ct_span s, c;
	struct ct_stats st, st0;
	struct tevs e;

	/* counters are for the process's lifetime: compare differences */
	ct_stats_get(&st0);
	cfg.output = new_dir(dir, sizeof(dir));
	cfg.sampler = CT_SAMPLER_ALWAYS_OFF;
	CHECK_INT(ct_init(&cfg), 0);
	CHECK_INT(ct_span_start(&s, "dropped", NULL), CT_ENOTSAMPLED);
	CHECK(ct_span_context_is_valid(ct_span_context_of(&s)));
	CHECK_INT(s.ctx.trace_flags, 0);
	ct_scope_enter(&s);
	CHECK_INT(ct_span_start(&c, "child", NULL), CT_ENOTSAMPLED);
	CHECK(!memcmp(c.ctx.trace_id, s.ctx.trace_id, 16));
	ct_span_set_int(&c, "x", 1);
	ct_span_end(&c);
	ct_scope_exit();
	ct_span_end(&s);
	ct_stats_get(&st);
	CHECK_U64(st.spans_unsampled - st0.spans_unsampled, 2);
	CHECK_U64(st.spans_started - st0.spans_started, 0);
	CHECK_INT(ct_shutdown(), 0);
	CHECK_INT(tevs_load(dir, &e), 0);
	CHECK_INT(tevs_count(&e, CT_EV_SPAN_START, 0) + tevs_count(&e, CT_EV_SPAN_END, 0) +
			  tevs_count(&e, CT_EV_SCOPE_ENTER, 0),
		  0);
	tevs_free(&e);

	/* parent-based: a sampled remote parent makes the child sampled. */
	cfg.output = NULL;
	cfg.sampler = CT_SAMPLER_PARENTBASED_ALWAYS_OFF;
	CHECK_INT(ct_init(&cfg), 0);
	{
		struct ct_span_context remote;
		struct ct_span_opts o = {.parent = &remote};
		const char *tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

		CHECK_INT(ct_traceparent_parse(tp, strlen(tp), &remote), 0);
		CHECK_INT(ct_span_start(&s, "server", &o), 0);
		CHECK_INT(s.ctx.trace_flags & 1, 1);
		CHECK(!memcmp(s.ctx.trace_id, remote.trace_id, 16));
		ct_span_end(&s);
	}
	CHECK_INT(ct_shutdown(), 0);
}

TEST(scope_overflow)
{
	struct ct_span s[CT_MAX_SCOPE_DEPTH + 6];
	struct ct_stats st, st0;
	struct ct_config cfg = {0};

	ct_stats_get(&st0);
	CHECK_INT(ct_init(&cfg), 0); /* no output: scopes still work */
	for (int i = 0; i < CT_MAX_SCOPE_DEPTH + 6; i++) {
		ct_span_start(&s[i], "nest", NULL);
		ct_scope_enter(&s[i]);
	}
	ct_stats_get(&st);
	CHECK_U64(st.scope_overflow - st0.scope_overflow, 6);
	CHECK(!memcmp(ct_current_context()->span_id, s[CT_MAX_SCOPE_DEPTH - 1].ctx.span_id, 8));
	for (int i = 0; i < 6; i++)
		ct_scope_exit();
	CHECK(!memcmp(ct_current_context()->span_id, s[CT_MAX_SCOPE_DEPTH - 1].ctx.span_id, 8));
	ct_scope_exit();
	CHECK(!memcmp(ct_current_context()->span_id, s[CT_MAX_SCOPE_DEPTH - 2].ctx.span_id, 8));
	for (int i = 0; i < CT_MAX_SCOPE_DEPTH - 1; i++)
		ct_scope_exit();
	CHECK(ct_current_context() == NULL);
	ct_scope_exit(); /* unbalanced: ignored */
	CHECK_INT(ct_shutdown(), 0);
}

TEST(drops_counted)
{
	char dir[300];
	struct ct_config cfg = {0};
	struct ct_stats st, st0;
	struct tevs e;
	uint64_t lost_events = 0, delivered = 0;

	ct_stats_get(&st0);
	cfg.output = new_dir(dir, sizeof(dir));
	cfg.ring_bytes = 4096; /* the minimum: a few dozen spans */
	cfg.flush_ms = 3600000; /* never drains by itself: the ring must fill */
	CHECK_INT(ct_init(&cfg), 0);
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 500; i++) {
			struct ct_span s;

			ct_span_start(&s, "fill", NULL);
			ct_span_end(&s);
		}
		CHECK_INT(ct_flush(), 0);
	}
	ct_stats_get(&st);
	st.dropped -= st0.dropped;
	st.records -= st0.records;
	CHECK(st.dropped > 0);
	CHECK_INT(ct_shutdown(), 0);
	CHECK_INT(tevs_load(dir, &e), 0);
	for (size_t i = 0; i < e.n; i++) {
		if (e.v[i].type == CT_EV_CLIENT_LOST)
			lost_events += e.v[i].u.client_lost.records;
		if (e.v[i].tid != 0)
			delivered++;
	}
	/* Every drop reaches the events, the manifest and the CTF packets. */
	CHECK_U64(lost_events, st.dropped);
	CHECK_U64(e.lost_client, st.dropped);
	CHECK_U64(e.discarded, st.dropped);
	/* Every record is either delivered or dropped: 3 x 500 spans x 2 records + reports. */
	CHECK_U64(delivered + st.dropped, 3 * 500 * 2 + tevs_count(&e, CT_EV_CLIENT_LOST, 0));
	CHECK_U64(tevs_count(&e, CT_EV_SPAN_START, 0) + tevs_count(&e, CT_EV_SPAN_END, 0) +
			  st.dropped,
		  3 * 500 * 2);
	tevs_free(&e);
}

TEST(rotation)
{
	char dir[300];
	struct ct_config cfg = {0};
	struct tevs e;

	cfg.output = new_dir(dir, sizeof(dir));
	cfg.flush_ms = 5;
	cfg.rotate_ms = 20;
	CHECK_INT(ct_init(&cfg), 0);
	for (int i = 0; i < 12; i++) {
		struct ct_span s;
		struct timespec ts = {0, 10 * 1000 * 1000};

		ct_span_start(&s, "tick", NULL);
		nanosleep(&ts, NULL);
		ct_span_end(&s);
	}
	CHECK_INT(ct_shutdown(), 0);
	CHECK_INT(tevs_load(dir, &e), 0);
	CHECK(e.chunks >= 3);
	/* every chunk says who recorded it */
	CHECK_INT(tevs_count(&e, CT_EV_PROCESS_INFO, 0), e.chunks);
	CHECK_INT(tevs_count(&e, CT_EV_SPAN_START, 0), 12);
	CHECK_INT(tevs_count(&e, CT_EV_SPAN_END, 0), 12);
	tevs_free(&e);
}

TEST(config_env)
{
	struct ct_config c;

	unsetenv("OTEL_TRACES_SAMPLER");
	unsetenv("OTEL_TRACES_SAMPLER_ARG");
	setenv("OTEL_SERVICE_NAME", "svc", 1);
	setenv("OTEL_RESOURCE_ATTRIBUTES", "a=b", 1);
	setenv("CROSSTRACE_OUTPUT", "unix:/tmp/x.sock", 1);
	setenv("CROSSTRACE_RING_BYTES", "256K", 1);
	setenv("CROSSTRACE_FLUSH_MS", "10", 1);
	setenv("CROSSTRACE_ROTATE_BYTES", "64M", 1);
	setenv("CROSSTRACE_ROTATE_MS", "60000", 1);
	CHECK_INT(ct_config_from_env(&c), 0);
	CHECK_STR(c.service_name, "svc");
	CHECK_STR(c.resource_attrs, "a=b");
	CHECK_STR(c.output, "unix:/tmp/x.sock");
	CHECK_U64(c.ring_bytes, 256 << 10);
	CHECK_U64(c.flush_ms, 10);
	CHECK_U64(c.rotate_bytes, 64ull << 20);
	CHECK_U64(c.rotate_ms, 60000);
	CHECK_INT(c.sampler, CT_SAMPLER_PARENTBASED_ALWAYS_ON);
	setenv("OTEL_TRACES_SAMPLER", "traceidratio", 1);
	setenv("OTEL_TRACES_SAMPLER_ARG", "0.25", 1);
	CHECK_INT(ct_config_from_env(&c), 0);
	CHECK_INT(c.sampler, CT_SAMPLER_TRACEID_RATIO);
	CHECK_NEAR(c.sampler_arg, 0.25, 1e-12);
	setenv("OTEL_TRACES_SAMPLER", "bogus", 1);
	setenv("CROSSTRACE_RING_BYTES", "lots", 1);
	CHECK_INT(ct_config_from_env(&c), -EINVAL);
	CHECK_U64(c.ring_bytes, 1 << 20); /* the default stays */
	CHECK_INT(ct_init(NULL), -EINVAL);
	const char *vars[] = {
		"OTEL_SERVICE_NAME",	 "OTEL_RESOURCE_ATTRIBUTES", "CROSSTRACE_OUTPUT",
		"CROSSTRACE_RING_BYTES", "CROSSTRACE_FLUSH_MS",	     "CROSSTRACE_ROTATE_BYTES",
		"CROSSTRACE_ROTATE_MS",	 "OTEL_TRACES_SAMPLER",	     "OTEL_TRACES_SAMPLER_ARG"};
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
}

static int has_span(const struct tevs *e, uint64_t id)
{
	return find_start(e, id) != NULL;
}

TEST(fork_child)
{
	char dir[300], cdir[320];
	struct ct_span before, p_after;
	int fds[2], status;
	pid_t child;
	struct tevs pe, ce;
	uint64_t child_ids[3] = {0};

	CHECK_INT(start(new_dir(dir, sizeof(dir)), 0, 5), 0);
	ct_span_start(&before, "before-fork", NULL);
	ct_scope_enter(&before);
	for (int i = 0; i < 5; i++) { /* sitting in the parent's ring at fork time */
		struct ct_span s;

		ct_span_start(&s, "parent-pending", NULL);
		ct_span_end(&s);
	}
	CHECK_INT(pipe(fds), 0);
	child = fork();
	if (child == 0) {
		struct ct_span s[3];

		for (int i = 0; i < 3; i++) {
			ct_span_start(&s[i], "in-child", NULL);
			ct_span_end(&s[i]);
		}
		ct_scope_exit(); /* entered in the parent: not recorded here */
		ct_span_end(&before); /* the parent's span: the parent ends it */
		if (write(fds[1], s, sizeof(s)) != (ssize_t)sizeof(s))
			_exit(3);
		exit(0); /* atexit finishes the child's trace */
	}
	close(fds[1]);
	{
		struct ct_span s[3];

		if (read(fds[0], s, sizeof(s)) == (ssize_t)sizeof(s))
			for (int i = 0; i < 3; i++)
				child_ids[i] = be64(s[i].ctx.span_id);
	}
	close(fds[0]);
	CHECK_INT(waitpid(child, &status, 0), child);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ct_span_start(&p_after, "after-fork", NULL);
	ct_span_end(&p_after);
	ct_scope_exit();
	ct_span_end(&before);
	CHECK_INT(ct_shutdown(), 0);

	snprintf(cdir, sizeof(cdir), "%s.%d", dir, (int)child);
	CHECK_INT(tevs_load(dir, &pe), 0);
	CHECK_INT(tevs_load(cdir, &ce), 0);
	CHECK_STR(ce.status, "complete");
	/* The child's trace: its own 3 spans, its pid, its own streams; nothing of the parent. */
	CHECK_INT(tevs_count(&ce, CT_EV_SPAN_START, 0), 3);
	CHECK_INT(tevs_count(&ce, CT_EV_SPAN_END, 0), 3);
	CHECK_INT(tevs_count(&ce, CT_EV_SCOPE_EXIT, 0), 0);
	CHECK_INT(tevs_count(&ce, 0, child), ce.n);
	for (int i = 0; i < 3; i++) {
		const struct ct_event *v = find_start(&ce, child_ids[i]);

		CHECK(child_ids[i] != 0 && v != NULL);
		/* children of the span current at fork time */
		CHECK(v && v->u.span_start.parent_id == be64(before.ctx.span_id));
		CHECK(!has_span(&pe, child_ids[i]));
	}
	/* The parent's trace: its spans exactly once, nothing of the child. */
	CHECK_INT(tevs_count(&pe, 0, child), 0);
	CHECK_INT(tevs_count(&pe, CT_EV_SPAN_START, 0), 7);
	CHECK_INT(tevs_count(&pe, CT_EV_SPAN_END, 0), 7);
	CHECK_INT(count_span(&pe, CT_EV_SPAN_END, be64(before.ctx.span_id)), 1);
	CHECK_INT(count_span(&ce, CT_EV_SPAN_END, be64(before.ctx.span_id)), 0);
	CHECK(has_span(&pe, be64(p_after.ctx.span_id)));
	tevs_free(&pe);
	tevs_free(&ce);
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ct-test-tracer-%d", (int)getpid());
	mkdir(tmpdir, 0755);
	RUN(before_init);
	RUN(span_roundtrip);
	RUN(explicit_times);
	RUN(truncation);
	RUN(after_shutdown);
	RUN(threads);
	RUN(unsampled);
	RUN(scope_overflow);
	RUN(drops_counted);
	RUN(rotation);
	RUN(config_env);
	RUN(fork_child);
	if (!t_failed) {
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
		if (system(cmd))
			fprintf(stderr, "could not remove %s\n", tmpdir);
	}
	return test_main_end();
}
