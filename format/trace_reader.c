// SPDX-License-Identifier: MIT
/*
 * Trace directory reader: manifest (jansson), chunk discovery, and a k-way merge of a chunk's
 * streams by timestamp (binary heap over the streams' current events).
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "crosstrace/crosstrace.h"
#include "ctf.h"
#include "ctf_stream.h"
#include "trace_reader.h"

struct ct_trace {
	char *path;
	json_t *manifest;
	char *manifest_text;
	struct ct_chunk_meta *chunks;
	unsigned n_chunks;
};

static void report(ct_read_error_fn fn, void *arg, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void report(ct_read_error_fn fn, void *arg, int code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (!fn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fn(arg, code, msg);
}

static int cmp_chunk(const void *a, const void *b)
{
	const struct ct_chunk_meta *x = a, *y = b;

	return x->index < y->index ? -1 : x->index > y->index;
}

static struct ct_chunk_meta *find_chunk(struct ct_trace *t, unsigned index)
{
	for (unsigned i = 0; i < t->n_chunks; i++)
		if (t->chunks[i].index == index)
			return &t->chunks[i];
	return NULL;
}

static struct ct_chunk_meta *add_chunk(struct ct_trace *t, unsigned index)
{
	struct ct_chunk_meta *p = realloc(t->chunks, (t->n_chunks + 1) * sizeof(*p));

	if (!p)
		return NULL;
	t->chunks = p;
	p = &t->chunks[t->n_chunks++];
	memset(p, 0, sizeof(*p));
	p->index = index;
	p->end_ns = UINT64_MAX;
	snprintf(p->dir, sizeof(p->dir), "%s/chunks/%06u", t->path, index);
	return p;
}

static uint64_t json_u64(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_integer(v) ? (uint64_t)json_integer_value(v) : 0;
}

static void read_manifest(struct ct_trace *t, ct_read_error_fn fn, void *arg)
{
	char p[PATH_MAX];
	json_error_t jerr;
	json_t *chunks, *c;
	size_t i;

	snprintf(p, sizeof(p), "%s/trace.json", t->path);
	t->manifest = json_load_file(p, 0, &jerr);
	if (!t->manifest) {
		report(fn, arg, CT_EFORMAT,
		       "%s: cannot read manifest (%s, line %d); chunks are found by listing "
		       "chunks/ instead",
		       p, jerr.text, jerr.line);
		return;
	}
	if (json_u64(t->manifest, "version") > CT_FORMAT_VERSION)
		report(fn, arg, CT_EVERSION,
		       "%s: format version %" PRIu64 " is newer than this crosstrace (%d); "
		       "reading what it can",
		       p, json_u64(t->manifest, "version"), CT_FORMAT_VERSION);
	t->manifest_text = json_dumps(t->manifest, JSON_INDENT(2));
	chunks = json_object_get(t->manifest, "chunks");
	json_array_foreach(chunks, i, c)
	{
		json_t *end = json_object_get(c, "end_ns"), *lost = json_object_get(c, "lost");
		struct ct_chunk_meta *m;
		const char *k;
		json_t *v;

		if (!json_is_integer(json_object_get(c, "index")))
			continue;
		m = add_chunk(t, (unsigned)json_u64(c, "index"));
		if (!m)
			return;
		m->in_manifest = 1;
		m->complete = json_is_true(json_object_get(c, "complete"));
		m->begin_ns = json_u64(c, "begin_ns");
		m->end_ns = json_is_integer(end) ? (uint64_t)json_integer_value(end) : UINT64_MAX;
		m->clock_offset_ns = (int64_t)json_u64(c, "clock_offset_begin_ns");
		m->events = json_u64(c, "events");
		json_object_foreach(lost, k, v) m->lost += (uint64_t)json_integer_value(v);
	}
}

/* Adds chunk directories present on disk but absent from the manifest. */
static void list_chunks(struct ct_trace *t, ct_read_error_fn fn, void *arg)
{
	char p[PATH_MAX];
	struct dirent *e;
	DIR *d;

	snprintf(p, sizeof(p), "%s/chunks", t->path);
	d = opendir(p);
	if (!d)
		return;
	while ((e = readdir(d))) {
		char *end;
		unsigned long idx = strtoul(e->d_name, &end, 10);

		if (e->d_name[0] < '0' || e->d_name[0] > '9' || *end || idx > UINT_MAX)
			continue;
		if (find_chunk(t, (unsigned)idx))
			continue;
		if (t->manifest)
			report(fn, arg, 0,
			       "%s/%s: chunk not in the manifest (recording interrupted?); read "
			       "anyway",
			       p, e->d_name);
		if (!add_chunk(t, (unsigned)idx))
			break;
	}
	closedir(d);
	for (unsigned i = 0; i < t->n_chunks; i++) {
		struct stat sb;

		if (t->chunks[i].in_manifest && stat(t->chunks[i].dir, &sb))
			report(fn, arg, -ENOENT,
			       "%s: chunk listed in the manifest is missing; its time range has no "
			       "events",
			       t->chunks[i].dir);
	}
}

int ct_trace_open(struct ct_trace **out, const char *path, ct_read_error_fn fn, void *arg,
		  char *errbuf, size_t errlen)
{
	struct ct_trace *t;
	struct stat sb;
	char p[PATH_MAX];

	if (stat(path, &sb) || !S_ISDIR(sb.st_mode)) {
		snprintf(errbuf, errlen, "%s: not a directory", path);
		return -ENOTDIR;
	}
	snprintf(p, sizeof(p), "%s/chunks", path);
	if (stat(p, &sb)) {
		snprintf(p, sizeof(p), "%s/trace.json", path);
		if (stat(p, &sb)) {
			snprintf(errbuf, errlen,
				 "%s: not a crosstrace trace directory (no trace.json, no chunks/)",
				 path);
			return CT_EFORMAT;
		}
	}
	t = calloc(1, sizeof(*t));
	if (!t || !(t->path = strdup(path))) {
		free(t);
		return -ENOMEM;
	}
	read_manifest(t, fn, arg);
	list_chunks(t, fn, arg);
	if (t->n_chunks)
		qsort(t->chunks, t->n_chunks, sizeof(t->chunks[0]), cmp_chunk);
	*out = t;
	return 0;
}

unsigned ct_trace_chunk_count(const struct ct_trace *t)
{
	return t->n_chunks;
}

const struct ct_chunk_meta *ct_trace_chunk(const struct ct_trace *t, unsigned i)
{
	return i < t->n_chunks ? &t->chunks[i] : NULL;
}

static const char *manifest_str(const struct ct_trace *t, const char *obj, const char *key)
{
	json_t *o = obj ? json_object_get(t->manifest, obj) : t->manifest;
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

const char *ct_trace_hostname(const struct ct_trace *t)
{
	return manifest_str(t, "host", "hostname");
}

const char *ct_trace_status(const struct ct_trace *t)
{
	return manifest_str(t, NULL, "status");
}

uint64_t ct_trace_lost(const struct ct_trace *t, const char *what)
{
	json_t *lost = json_object_get(json_object_get(t->manifest, "totals"), "lost");

	return json_u64(lost, what);
}

const char *ct_trace_manifest_json(const struct ct_trace *t)
{
	return t->manifest_text;
}

void ct_trace_close(struct ct_trace *t)
{
	if (!t)
		return;
	json_decref(t->manifest);
	free(t->manifest_text);
	free(t->chunks);
	free(t->path);
	free(t);
}

/* ---- chunk reader ---- */

struct src {
	struct ct_stream_reader *r;
	char *name;
	struct ct_event ev; /* current event, valid when live */
	unsigned idx;
	int live;
};

struct ct_chunk_reader {
	struct src *src;
	unsigned n_src;
	unsigned *heap; /* indices into src, ordered by (ev.ts, idx) */
	unsigned n_heap;
	int64_t clock_offset;
	uint64_t errors;
	ct_read_error_fn fn;
	void *arg;
	int started;
};

static int src_less(const struct ct_chunk_reader *r, unsigned a, unsigned b)
{
	const struct src *x = &r->src[a], *y = &r->src[b];

	return x->ev.ts < y->ev.ts || (x->ev.ts == y->ev.ts && x->idx < y->idx);
}

static void sift_down(struct ct_chunk_reader *r, unsigned i)
{
	for (;;) {
		unsigned l = 2 * i + 1, m = i, t;

		if (l < r->n_heap && src_less(r, r->heap[l], r->heap[m]))
			m = l;
		if (l + 1 < r->n_heap && src_less(r, r->heap[l + 1], r->heap[m]))
			m = l + 1;
		if (m == i)
			return;
		t = r->heap[i];
		r->heap[i] = r->heap[m];
		r->heap[m] = t;
		i = m;
	}
}

/* Advances a source to its next good event; returns 1 when it has one. */
static int src_advance(struct ct_chunk_reader *r, struct src *s)
{
	for (;;) {
		int n = ct_stream_reader_next(s->r, &s->ev);

		if (n > 0) {
			s->ev.stream = s->idx;
			return 1;
		}
		if (n == 0)
			return 0;
		r->errors++;
		if (r->fn)
			r->fn(r->arg, n, ct_stream_reader_error(s->r));
	}
}

/* Reads the few metadata facts the fast reader needs. */
static int read_metadata(const char *dir, uint8_t uuid[16], int64_t *offset, char *errbuf,
			 size_t errlen)
{
	char p[PATH_MAX], line[512];
	int64_t off_s = 0, off = 0;
	int version = -1, have_uuid = 0, in_trace = 0, in_clock = 0;
	FILE *f;

	snprintf(p, sizeof(p), "%s/metadata", dir);
	f = fopen(p, "re");
	if (!f) {
		int err = -errno;

		snprintf(errbuf, errlen, "%s: cannot open metadata: %s (not a complete chunk)", p,
			 ct_strerror(err));
		return err;
	}
	if (!fgets(line, sizeof(line), f) || strncmp(line, "/* CTF 1.8", 10)) {
		fclose(f);
		snprintf(errbuf, errlen, "%s: not CTF 1.8 text metadata", p);
		return CT_EFORMAT;
	}
	while (fgets(line, sizeof(line), f)) {
		char *s = line + strspn(line, "\t ");

		if (!strncmp(s, "trace {", 7))
			in_trace = 1;
		else if (!strncmp(s, "clock {", 7))
			in_clock = 1;
		else if (!strncmp(s, "};", 2))
			in_trace = in_clock = 0;
		else if (in_trace && !strncmp(s, "uuid = \"", 8))
			have_uuid = ct_uuid_parse(s + 8, uuid) == 0;
		else if (in_clock && !strncmp(s, "offset_s = ", 11))
			off_s = strtoll(s + 11, NULL, 10);
		else if (in_clock && !strncmp(s, "offset = ", 9))
			off = strtoll(s + 9, NULL, 10);
		else if (!strncmp(s, "crosstrace_format_version = ", 28))
			version = atoi(s + 28);
	}
	fclose(f);
	if (version < 0 || !have_uuid) {
		snprintf(errbuf, errlen,
			 "%s: not written by crosstrace (no format version or uuid)", p);
		return CT_EFORMAT;
	}
	if (version > CT_FORMAT_VERSION) {
		snprintf(errbuf, errlen,
			 "%s: format version %d is newer than this crosstrace supports (%d): "
			 "upgrade crosstrace",
			 p, version, CT_FORMAT_VERSION);
		return CT_EVERSION;
	}
	*offset = off_s * 1000000000 + off;
	return 0;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int ct_chunk_reader_open(struct ct_chunk_reader **out, const char *dir, ct_read_error_fn fn,
			 void *arg, char *errbuf, size_t errlen)
{
	struct ct_chunk_reader *r;
	uint8_t uuid[16];
	int64_t offset = 0;
	char **names = NULL;
	unsigned n = 0;
	struct dirent *e;
	DIR *d;
	int err;

	err = read_metadata(dir, uuid, &offset, errbuf, errlen);
	if (err)
		return err;
	d = opendir(dir);
	if (!d) {
		err = -errno;
		snprintf(errbuf, errlen, "%s: %s", dir, ct_strerror(err));
		return err;
	}
	while ((e = readdir(d))) {
		char **p;

		if (e->d_name[0] == '.' || !strcmp(e->d_name, "metadata") || e->d_type == DT_DIR)
			continue;
		p = realloc(names, (n + 1) * sizeof(*p));
		if (!p)
			break;
		names = p;
		if ((names[n] = strdup(e->d_name)))
			n++;
	}
	closedir(d);
	/* Stable stream order (by name) so that merge ties resolve the same way every run. */
	if (n)
		qsort(names, n, sizeof(*names), cmp_name);
	r = calloc(1, sizeof(*r));
	if (!r || (n && (!(r->src = calloc(n, sizeof(*r->src))) ||
			 !(r->heap = calloc(n, sizeof(*r->heap)))))) {
		for (unsigned i = 0; i < n; i++)
			free(names[i]);
		free(names);
		if (r) {
			free(r->src);
			free(r);
		}
		return -ENOMEM;
	}
	r->clock_offset = offset;
	r->fn = fn;
	r->arg = arg;
	for (unsigned i = 0; i < n; i++) {
		char path[PATH_MAX], msg[600];
		struct src *s = &r->src[r->n_src];

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		err = ct_stream_reader_open(&s->r, path, uuid, msg, sizeof(msg));
		if (err) {
			r->errors++;
			report(fn, arg, err, "%s", msg);
			free(names[i]);
			continue;
		}
		s->name = names[i];
		s->idx = r->n_src++;
	}
	free(names);
	*out = r;
	return 0;
}

int ct_chunk_reader_next(struct ct_chunk_reader *r, struct ct_event *ev)
{
	struct src *s;

	if (!r->started) {
		r->started = 1;
		for (unsigned i = 0; i < r->n_src; i++) {
			if (src_advance(r, &r->src[i]))
				r->heap[r->n_heap++] = i;
		}
		for (unsigned i = r->n_heap / 2; i-- > 0;)
			sift_down(r, i);
	}
	if (!r->n_heap)
		return 0;
	s = &r->src[r->heap[0]];
	*ev = s->ev;
	/* The event's strings live in the stream mapping, so advancing the source is safe. */
	if (!src_advance(r, s))
		r->heap[0] = r->heap[--r->n_heap];
	if (r->n_heap)
		sift_down(r, 0);
	return 1;
}

unsigned ct_chunk_reader_stream_count(const struct ct_chunk_reader *r)
{
	return r->n_src;
}

const char *ct_chunk_reader_stream_name(const struct ct_chunk_reader *r, unsigned stream)
{
	return stream < r->n_src ? r->src[stream].name : NULL;
}

int64_t ct_chunk_reader_clock_offset(const struct ct_chunk_reader *r)
{
	return r->clock_offset;
}

uint64_t ct_chunk_reader_errors(const struct ct_chunk_reader *r)
{
	return r->errors;
}

uint64_t ct_chunk_reader_discarded(const struct ct_chunk_reader *r)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < r->n_src; i++)
		n += ct_stream_reader_discarded(r->src[i].r);
	return n;
}

void ct_chunk_reader_close(struct ct_chunk_reader *r)
{
	if (!r)
		return;
	for (unsigned i = 0; i < r->n_src; i++) {
		ct_stream_reader_close(r->src[i].r);
		free(r->src[i].name);
	}
	free(r->src);
	free(r->heap);
	free(r);
}
