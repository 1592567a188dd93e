// SPDX-License-Identifier: MIT
/*
 * The events.txt parser: field names and types come from format/event.def, so every event
 * the trace format knows can be written by hand. Conveniences: time units, trace=<32 hex>,
 * nr=<syscall name>, args=a,b,c, addr=inet:IP:PORT, enum names (kind, status, fd_type).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crosstrace/crosstrace.h"
#include "evtext.h"
#include "syscalls.h"

enum ftype { T_U8, T_U16, T_U32, T_S32, T_U64, T_S64, T_F64, T_STR, T_BYTES, T_ARGS6 };

struct field {
	const char *name;
	enum ftype type;
	size_t off, len_off; /* len_off: STR/BYTES length member */
};

struct evdesc {
	const char *name;
	uint16_t id;
	struct field f[12];
};

#define MAX_EVENTS 256

/* One function per event fills its field table from event.def (a typedef per function gives
 * the payload struct its offsets without naming it in F()). */
#define LEN_U8(n) 0
#define LEN_U16(n) 0
#define LEN_U32(n) 0
#define LEN_S32(n) 0
#define LEN_U64(n) 0
#define LEN_S64(n) 0
#define LEN_F64(n) 0
#define LEN_ARGS6(n) 0
#define LEN_STR(n) base + offsetof(EV_T, n##_len)
#define LEN_BYTES(n) base + offsetof(EV_T, n##_len)
#define F(t, n)     \
	if (i < 12) \
		d->f[i++] = (struct field){#n, T_##t, base + offsetof(EV_T, n), LEN_##t(n)};
#define CT_EVENT(id_, NAME, name_, fields)                        \
	static void desc_##name_(struct evdesc *d)                \
	{                                                         \
		typedef struct ct_ev_##name_ EV_T;                \
		size_t base = offsetof(struct ct_event, u.name_); \
		int i = 0;                                        \
		d->name = #name_;                                 \
		d->id = id_;                                      \
		fields(void) base;                                \
	}
#include "format/event.def"
#undef CT_EVENT
#undef F

static void (*const desc_fns[])(struct evdesc *) = {
#define F(t, n)
#define CT_EVENT(id_, NAME, name_, fields) desc_##name_,
#include "format/event.def"
#undef CT_EVENT
#undef F
};

#define N_DESCS (sizeof(desc_fns) / sizeof(desc_fns[0]))

struct parser {
	struct ct_evtext *t;
	struct evdesc d[N_DESCS];
	unsigned line;
	char *err;
	size_t errlen;
};

static int fail(struct parser *ps, const char *fmt, const char *what)
{
	char msg[256];

	snprintf(msg, sizeof(msg), fmt, what);
	snprintf(ps->err, ps->errlen, "line %u: %s", ps->line, msg);
	return CT_EFORMAT;
}

int ct_evtext_time(const char *s, uint64_t *out)
{
	char *end;
	double v;
	uint64_t mult = 1;

	if (!*s)
		return -1;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		*out = strtoull(s, &end, 16);
		return *end ? -1 : 0;
	}
	/* Integers stay exact; decimals go through double (fine for hand-written times). */
	if (!strpbrk(s, ".eE")) {
		unsigned long long i = strtoull(s, &end, 10);

		if (end == s)
			return -1;
		if (!strcmp(end, "") || !strcmp(end, "ns"))
			mult = 1;
		else if (!strcmp(end, "us"))
			mult = 1000;
		else if (!strcmp(end, "ms"))
			mult = 1000000;
		else if (!strcmp(end, "s"))
			mult = 1000000000;
		else
			return -1;
		*out = (uint64_t)i * mult;
		return 0;
	}
	v = strtod(s, &end);
	if (end == s || v < 0)
		return -1;
	if (!strcmp(end, "") || !strcmp(end, "ns"))
		mult = 1;
	else if (!strcmp(end, "us"))
		mult = 1000;
	else if (!strcmp(end, "ms"))
		mult = 1000000;
	else if (!strcmp(end, "s"))
		mult = 1000000000;
	else
		return -1;
	*out = (uint64_t)(v * (double)mult + 0.5);
	return 0;
}

static char *keep(struct ct_evtext *t, const char *s, size_t n)
{
	char *d;

	if (t->n_strs == t->cap_strs) {
		size_t cap = t->cap_strs ? t->cap_strs * 2 : 64;
		char **p = realloc(t->strs, cap * sizeof(*p));

		if (!p)
			return NULL;
		t->strs = p;
		t->cap_strs = cap;
	}
	d = malloc(n + 1);
	if (!d)
		return NULL;
	memcpy(d, s, n);
	d[n] = 0;
	t->strs[t->n_strs++] = d;
	return d;
}

struct named {
	const char *name;
	uint64_t v;
};

static const struct named enums[] = {
	{"unspecified", 0}, {"internal", 1}, {"server", 2},  {"client", 3}, {"producer", 4},
	{"consumer", 5},    {"unset", 0},    {"ok", 1},	     {"error", 2},  {"unknown", 0},
	{"file", 1},	    {"dir", 2},	     {"tcp", 3},     {"udp", 4},    {"unix", 5},
	{"socket", 6},	    {"pipe", 7},     {"eventfd", 8}, {"epoll", 9},  {"timerfd", 10},
	{"signalfd", 11},   {"anon", 12},    {"device", 13}, {"R", 0},	    {"S", 1},
	{"D", 2},	    {"X", 0x10},     {"true", 1},    {"false", 0},
};

static int parse_uint(const char *key, const char *v, uint64_t *out)
{
	int nr;

	if (ct_evtext_time(v, out) == 0)
		return 0;
	if (!strcmp(key, "nr") && (nr = ct_syscall_nr(v)) >= 0) {
		*out = (uint64_t)nr;
		return 0;
	}
	for (size_t i = 0; i < sizeof(enums) / sizeof(enums[0]); i++)
		if (!strcmp(enums[i].name, v)) {
			*out = enums[i].v;
			return 0;
		}
	return -1;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
				      : -1;
}

static int parse_hex64(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++) {
		int h = hexval(s[i]);

		if (h < 0)
			return -1;
		v = v << 4 | (uint64_t)h;
	}
	*out = v;
	return 0;
}

/* addr=inet:1.2.3.4:80 | inet6:[::1]:80 | unix:/path | hex:0a0b... */
static int parse_bytes(struct ct_evtext *t, const char *v, const uint8_t **out, uint16_t *len)
{
	uint8_t buf[128];
	size_t n = 0;
	char *d;

	memset(buf, 0, sizeof(buf));
	if (!strncmp(v, "inet:", 5)) {
		unsigned a, b, c, e, port;

		if (sscanf(v + 5, "%u.%u.%u.%u:%u", &a, &b, &c, &e, &port) != 5)
			return -1;
		buf[0] = 2;
		buf[2] = (uint8_t)(port >> 8);
		buf[3] = (uint8_t)port;
		buf[4] = (uint8_t)a, buf[5] = (uint8_t)b, buf[6] = (uint8_t)c, buf[7] = (uint8_t)e;
		n = 16;
	} else if (!strncmp(v, "unix:", 5)) {
		size_t l = strlen(v + 5);

		if (l > 107)
			return -1;
		buf[0] = 1;
		memcpy(buf + 2, v + 5, l);
		n = 2 + l + 1;
	} else if (!strncmp(v, "hex:", 4)) {
		const char *h = v + 4;

		while (h[0] && h[1] && n < sizeof(buf)) {
			int x = hexval(h[0]), y = hexval(h[1]);

			if (x < 0 || y < 0)
				return -1;
			buf[n++] = (uint8_t)(x << 4 | y);
			h += 2;
		}
		if (*h)
			return -1;
	} else {
		return -1;
	}
	d = keep(t, (const char *)buf, n);
	if (!d)
		return -ENOMEM;
	*out = (const uint8_t *)d;
	*len = (uint16_t)n;
	return 0;
}

static int set_field(struct parser *ps, struct ct_event *ev, const struct field *f, const char *key,
		     const char *v)
{
	char *base = (char *)ev;
	uint64_t u = 0;

	switch (f->type) {
	case T_STR: {
		char *s = keep(ps->t, v, strlen(v));

		if (!s)
			return -ENOMEM;
		memcpy(base + f->off, &s, sizeof(s));
		*(uint32_t *)(void *)(base + f->len_off) = (uint32_t)strlen(s);
		return 0;
	}
	case T_BYTES: {
		const uint8_t *b;
		uint16_t l;
		int err = parse_bytes(ps->t, v, &b, &l);

		if (err == -ENOMEM)
			return err;
		if (err)
			return fail(ps, "bad bytes value '%s' (inet:IP:PORT, unix:PATH, hex:..)",
				    v);
		memcpy(base + f->off, &b, sizeof(b));
		*(uint16_t *)(void *)(base + f->len_off) = l;
		return 0;
	}
	case T_ARGS6: {
		uint64_t a[6] = {0};
		int k = 0;
		char tmp[512];
		char *save = NULL, *tok;

		snprintf(tmp, sizeof(tmp), "%s", v);
		for (tok = strtok_r(tmp, ",", &save); tok && k < 6;
		     tok = strtok_r(NULL, ",", &save))
			if (parse_uint("", tok, &a[k++]))
				return fail(ps, "bad argument '%s'", tok);
		memcpy(base + f->off, a, sizeof(a));
		return 0;
	}
	case T_F64: {
		char *end;
		double d = strtod(v, &end);

		if (*end)
			return fail(ps, "bad number '%s'", v);
		memcpy(base + f->off, &d, sizeof(d));
		return 0;
	}
	default:
		break;
	}
	if (v[0] == '-') {
		int64_t s;

		if (parse_uint(key, v + 1, &u))
			return fail(ps, "bad value '%s'", v);
		s = -(int64_t)u;
		u = (uint64_t)s;
	} else if (parse_uint(key, v, &u)) {
		return fail(ps, "bad value '%s'", v);
	}
	switch (f->type) {
	case T_U8:
		*(uint8_t *)(base + f->off) = (uint8_t)u;
		break;
	case T_U16:
		memcpy(base + f->off, &(uint16_t){(uint16_t)u}, 2);
		break;
	case T_U32:
	case T_S32:
		memcpy(base + f->off, &(uint32_t){(uint32_t)u}, 4);
		break;
	default:
		memcpy(base + f->off, &u, 8);
		break;
	}
	return 0;
}

/* Splits the next token: bare up to whitespace, or key="quoted \" string". */
static char *next_token(char **p)
{
	char *s = *p, *out, *w;
	int quoted = 0;

	while (*s == ' ' || *s == '\t')
		s++;
	if (!*s) {
		*p = s;
		return NULL;
	}
	out = w = s;
	while (*s && (quoted || (*s != ' ' && *s != '\t'))) {
		if (*s == '"') {
			quoted = !quoted;
			s++;
			continue;
		}
		if (quoted && *s == '\\' && s[1]) {
			s++;
			*w++ = *s == 'n' ? '\n' : *s == 't' ? '\t' : *s;
			s++;
			continue;
		}
		*w++ = *s++;
	}
	if (*s)
		s++;
	*w = 0;
	*p = s;
	return out;
}

static int grow(struct ct_evtext *t)
{
	size_t cap = t->cap ? t->cap * 2 : 64;
	struct ct_event *e = realloc(t->ev, cap * sizeof(*e));
	uint16_t *c, *r;

	if (!e)
		return -ENOMEM;
	t->ev = e;
	c = realloc(t->cpu, cap * sizeof(*c));
	if (!c)
		return -ENOMEM;
	t->cpu = c;
	r = realloc(t->raw_id, cap * sizeof(*r));
	if (!r)
		return -ENOMEM;
	t->raw_id = r;
	t->cap = cap;
	return 0;
}

static int parse_line(struct parser *ps, char *line)
{
	struct ct_evtext *t = ps->t;
	char *p = line, *tok, *name;
	struct ct_event *ev;
	const struct evdesc *d = NULL;
	uint64_t ts, u;
	int err;

	tok = next_token(&p);
	if (!tok || tok[0] == '#')
		return 0;
	if (!strcmp(tok, "!cut")) {
		uint64_t *c;

		tok = next_token(&p);
		if (!tok || ct_evtext_time(tok, &ts))
			return fail(ps, "!cut needs a time", "");
		c = realloc(t->cuts, (t->n_cuts + 1) * sizeof(*c));
		if (!c)
			return -ENOMEM;
		t->cuts = c;
		t->cuts[t->n_cuts++] = ts;
		return 0;
	}
	if (ct_evtext_time(tok, &ts))
		return fail(ps, "bad timestamp '%s'", tok);
	if (t->n == t->cap && (err = grow(t)))
		return err;
	ev = &t->ev[t->n];
	memset(ev, 0, sizeof(*ev));
	ev->ts = ts;
	ev->cpu = 0xffff;
	t->cpu[t->n] = CT_EVTEXT_NO_CPU;
	t->raw_id[t->n] = 0;
	tok = next_token(&p);
	if (!tok || parse_uint("", tok, &u))
		return fail(ps, "bad pid '%s'", tok ? tok : "");
	ev->pid = (int32_t)u;
	tok = next_token(&p);
	if (!tok || parse_uint("", tok, &u))
		return fail(ps, "bad tid '%s'", tok ? tok : "");
	ev->tid = (int32_t)u;
	name = next_token(&p);
	if (!name)
		return fail(ps, "missing event name", "");
	if (!strcmp(name, "unknown")) {
		ev->type = CT_EV_NONE;
		t->raw_id[t->n] = 200;
	} else {
		for (size_t i = 0; i < N_DESCS; i++)
			if (!strcmp(ps->d[i].name, name))
				d = &ps->d[i];
		if (!d)
			return fail(ps, "unknown event '%s'", name);
		ev->type = d->id;
	}
	/* Time fields default to the event's timestamp. */
	if (ev->type == CT_EV_SPAN_START)
		ev->u.span_start.start_ns = ts;
	else if (ev->type == CT_EV_SPAN_END)
		ev->u.span_end.end_ns = ts;
	else if (ev->type == CT_EV_SPAN_EVENT)
		ev->u.span_event.time_ns = ts;
	if (d) {
		/* Empty strings rather than NULL for omitted STR fields. */
		for (int i = 0; i < 12 && d->f[i].name; i++) {
			if (d->f[i].type == T_STR) {
				static const char empty[] = "";
				const char *e = empty;

				memcpy((char *)ev + d->f[i].off, &e, sizeof(e));
			}
		}
	}
	while ((tok = next_token(&p))) {
		char *eq = strchr(tok, '=');
		const struct field *f = NULL;

		if (tok[0] == '#')
			break;
		if (!eq)
			return fail(ps, "expected key=value, got '%s'", tok);
		*eq = 0;
		if (!strcmp(tok, "@cpu")) {
			if (parse_uint("", eq + 1, &u))
				return fail(ps, "bad @cpu '%s'", eq + 1);
			t->cpu[t->n] = (uint16_t)u;
			continue;
		}
		if (!strcmp(tok, "@id")) {
			if (parse_uint("", eq + 1, &u))
				return fail(ps, "bad @id '%s'", eq + 1);
			t->raw_id[t->n] = (uint16_t)u;
			continue;
		}
		if (!d)
			return fail(ps, "unknown events take only @id and @cpu, not '%s'", tok);
		if (!strcmp(tok, "trace")) {
			uint64_t hi, lo;

			if (strlen(eq + 1) != 32 || parse_hex64(eq + 1, 16, &hi) ||
			    parse_hex64(eq + 17, 16, &lo))
				return fail(ps, "trace wants 32 hex digits, got '%s'", eq + 1);
			for (int i = 0; i < 12 && d->f[i].name; i++) {
				if (!strcmp(d->f[i].name, "trace_hi"))
					memcpy((char *)ev + d->f[i].off, &hi, 8);
				if (!strcmp(d->f[i].name, "trace_lo"))
					memcpy((char *)ev + d->f[i].off, &lo, 8);
			}
			continue;
		}
		if (!strcmp(tok, "irq") && ev->type == CT_EV_SCHED_WAKING) {
			ev->u.sched_waking.flags |= CT_WAKE_FLAG_IRQ;
			continue;
		}
		for (int i = 0; i < 12 && d->f[i].name; i++)
			if (!strcmp(d->f[i].name, tok))
				f = &d->f[i];
		if (!f)
			return fail(ps, "no field '%s' in this event", tok);
		err = set_field(ps, ev, f, tok, eq + 1);
		if (err)
			return err;
	}
	if (ev->type >= 64 && ev->type < 128 && t->cpu[t->n] == CT_EVTEXT_NO_CPU)
		t->cpu[t->n] = 0;
	if (ev->type == CT_EV_NONE && t->cpu[t->n] == CT_EVTEXT_NO_CPU)
		t->cpu[t->n] = 0;
	if (t->cpu[t->n] != CT_EVTEXT_NO_CPU)
		ev->cpu = t->cpu[t->n];
	t->n++;
	return 0;
}

int ct_evtext_parse(struct ct_evtext *t, const char *text, size_t len, char *err, size_t errlen)
{
	struct parser *ps = calloc(1, sizeof(*ps));
	size_t pos = 0;
	int rc = 0;

	memset(t, 0, sizeof(*t));
	if (!ps)
		return -ENOMEM;
	ps->t = t;
	ps->err = err;
	ps->errlen = errlen;
	for (size_t i = 0; i < N_DESCS; i++)
		desc_fns[i](&ps->d[i]);
	while (pos < len && !rc) {
		size_t e = pos;
		char *line;

		while (e < len && text[e] != '\n')
			e++;
		ps->line++;
		line = malloc(e - pos + 1);
		if (!line) {
			rc = -ENOMEM;
			break;
		}
		memcpy(line, text + pos, e - pos);
		line[e - pos] = 0;
		rc = parse_line(ps, line);
		free(line);
		pos = e + 1;
	}
	free(ps);
	if (rc) {
		if (rc == -ENOMEM)
			snprintf(err, errlen, "out of memory");
		ct_evtext_fini(t);
	}
	return rc;
}

void ct_evtext_stream(const struct ct_evtext *t, size_t i, char *buf, size_t size)
{
	const struct ct_event *ev = &t->ev[i];

	if (t->cpu[i] != CT_EVTEXT_NO_CPU)
		snprintf(buf, size, "kernel_cpu%u", t->cpu[i]);
	else
		snprintf(buf, size, "ust_%d_%d", ev->pid, ev->tid);
}

struct sortrec {
	uint64_t ts;
	char stream[32];
	size_t idx;
};

static int cmp_sort(const void *a, const void *b)
{
	const struct sortrec *x = a, *y = b;
	int c;

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	c = strcmp(x->stream, y->stream);
	if (c)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

void ct_evtext_sort(struct ct_evtext *t)
{
	struct sortrec *r = calloc(t->n + 1, sizeof(*r));
	struct ct_event *ev = malloc((t->n + 1) * sizeof(*ev));
	uint16_t *cpu = malloc((t->n + 1) * sizeof(*cpu)), *raw = malloc((t->n + 1) * sizeof(*raw));

	if (!r || !ev || !cpu || !raw) {
		free(r);
		free(ev);
		free(cpu);
		free(raw);
		return; /* left in file order */
	}
	for (size_t i = 0; i < t->n; i++) {
		r[i].ts = t->ev[i].ts;
		r[i].idx = i;
		ct_evtext_stream(t, i, r[i].stream, sizeof(r[i].stream));
	}
	qsort(r, t->n, sizeof(*r), cmp_sort);
	for (size_t i = 0; i < t->n; i++) {
		ev[i] = t->ev[r[i].idx];
		cpu[i] = t->cpu[r[i].idx];
		raw[i] = t->raw_id[r[i].idx];
	}
	free(t->ev);
	free(t->cpu);
	free(t->raw_id);
	t->ev = ev;
	t->cpu = cpu;
	t->raw_id = raw;
	t->cap = t->n + 1;
	free(r);
}

void ct_evtext_fini(struct ct_evtext *t)
{
	for (size_t i = 0; i < t->n_strs; i++)
		free(t->strs[i]);
	free(t->strs);
	free(t->ev);
	free(t->cpu);
	free(t->raw_id);
	free(t->cuts);
	memset(t, 0, sizeof(*t));
}
