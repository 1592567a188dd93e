// SPDX-License-Identifier: MIT
/*
 * Flight-recorder snapshots (see flight.h). The owner thread knows which ring chunks are
 * sealed and still present; a snapshot copies those overlapping its window at once and the
 * rest as they are sealed, keeping each chunk's manifest entry (the ring forgets removed
 * chunks), and is written out — trace.json last, so a reader never sees half of one — once a
 * sealed chunk reaches past its window.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "flight.h"
#include "log.h"
#include "net/span_model.h"

struct ring_chunk {
	unsigned index;
	uint64_t begin, end;
	char dir[PATH_MAX];
};

struct snap {
	unsigned id;
	char dir[PATH_MAX];
	uint64_t lo, hi;
	struct ct_flight_trigger *trig;
	size_t n_trig;
	json_t *chunks; /* manifest entries of the chunks copied */
	unsigned last_copied; /* index + 1 of the newest chunk copied; 0 none */
	unsigned missing;
	int created;
};

struct ct_flight {
	struct ct_flight_opts o;
	char ring_dir[PATH_MAX], out_dir[PATH_MAX];

	pthread_mutex_t mu; /* guards queue and st */
	struct ct_flight_trigger *queue;
	size_t n_queue, cap_queue;
	struct ct_flight_stats st;

	/* owner thread */
	struct ring_chunk *ring; /* sealed and present, in index order */
	size_t n_ring, cap_ring;
	uint64_t sealed_until; /* end of the newest sealed chunk */
	uint64_t removed_until; /* end of the newest chunk retention removed */
	struct snap **snaps; /* open snapshots */
	size_t n_snaps, cap_snaps;
	unsigned next_id;
};

int ct_flight_new(struct ct_flight **out, const struct ct_flight_opts *o)
{
	struct ct_flight *f = calloc(1, sizeof(*f));

	if (!f)
		return -ENOMEM;
	f->o = *o;
	snprintf(f->ring_dir, sizeof(f->ring_dir), "%s", o->ring_dir);
	snprintf(f->out_dir, sizeof(f->out_dir), "%s", o->out_dir);
	f->o.ring_dir = f->ring_dir;
	f->o.out_dir = f->out_dir;
	pthread_mutex_init(&f->mu, NULL);
	*out = f;
	return 0;
}

void ct_flight_trigger(struct ct_flight *f, const struct ct_flight_trigger *t)
{
	pthread_mutex_lock(&f->mu);
	f->st.triggers++;
	if (f->n_queue == f->cap_queue) {
		size_t cap = f->cap_queue ? f->cap_queue * 2 : 16;
		struct ct_flight_trigger *n = realloc(f->queue, cap * sizeof(*n));

		if (!n) {
			pthread_mutex_unlock(&f->mu);
			ct_agent_log(
				"flight recorder: out of memory: a slow span triggers nothing");
			return;
		}
		f->queue = n;
		f->cap_queue = cap;
	}
	f->queue[f->n_queue++] = *t;
	pthread_mutex_unlock(&f->mu);
}

static void count(struct ct_flight *f, uint64_t *field, uint64_t n)
{
	pthread_mutex_lock(&f->mu);
	*field += n;
	pthread_mutex_unlock(&f->mu);
}

static int mkdir_p(const char *path)
{
	char tmp[PATH_MAX];

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return mkdir(tmp, 0755) && errno != EEXIST ? -errno : 0;
}

static int copy_file(const char *from, const char *to)
{
	char buf[65536];
	int in = open(from, O_RDONLY | O_CLOEXEC), out, e = 0;

	if (in < 0)
		return -errno;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0) {
		e = -errno;
		close(in);
		return e;
	}
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf)), w = 0;

		if (n < 0) {
			e = -errno;
			break;
		}
		if (!n)
			break;
		while (w < n) {
			ssize_t k = write(out, buf + w, (size_t)(n - w));

			if (k < 0) {
				e = -errno;
				break;
			}
			w += k;
		}
		if (e)
			break;
	}
	if (close(out) && !e)
		e = -errno;
	close(in);
	return e;
}

/* The ring manifest's entry for chunk index, or a minimal one. New reference. */
static json_t *chunk_entry(struct ct_flight *f, const struct ring_chunk *c)
{
	char path[PATH_MAX + 16], dir[32];
	json_t *m, *chunks, *e = NULL;
	size_t i;
	json_t *v;

	snprintf(path, sizeof(path), "%s/trace.json", f->ring_dir);
	m = json_load_file(path, 0, NULL);
	chunks = m ? json_object_get(m, "chunks") : NULL;
	json_array_foreach(chunks, i, v)
	{
		if (json_integer_value(json_object_get(v, "index")) == (json_int_t)c->index) {
			e = json_deep_copy(v);
			break;
		}
	}
	json_decref(m);
	if (!e) {
		snprintf(dir, sizeof(dir), "chunks/%06u", c->index);
		e = json_pack("{s:I, s:s, s:b, s:I, s:I}", "index", (json_int_t)c->index, "dir",
			      dir, "complete", 1, "begin_ns", (json_int_t)c->begin, "end_ns",
			      (json_int_t)c->end);
	}
	return e;
}

static int copy_chunk(struct ct_flight *f, struct snap *s, const struct ring_chunk *c)
{
	char to[PATH_MAX + 32], from[PATH_MAX + 256], dst[PATH_MAX + 300];
	struct dirent *de;
	DIR *d;
	int e;

	if (!s->created) {
		e = mkdir_p(s->dir);
		if (e) {
			ct_agent_log("flight recorder: cannot create %s: %s (check output)", s->dir,
				     strerror(-e));
			count(f, &f->st.copy_errors, 1);
			return e;
		}
		s->created = 1;
	}
	snprintf(to, sizeof(to), "%s/chunks/%06u", s->dir, c->index);
	e = mkdir_p(to);
	d = e ? NULL : opendir(c->dir);
	if (!d) {
		e = e ? e : -errno;
		ct_agent_log("flight recorder: cannot copy chunk %u into %s: %s", c->index, s->dir,
			     strerror(-e));
		count(f, &f->st.copy_errors, 1);
		return e;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(from, sizeof(from), "%s/%s", c->dir, de->d_name);
		snprintf(dst, sizeof(dst), "%s/%s", to, de->d_name);
		e = copy_file(from, dst);
		if (e) {
			ct_agent_log("flight recorder: cannot copy %s: %s", from, strerror(-e));
			count(f, &f->st.copy_errors, 1);
			break;
		}
	}
	closedir(d);
	if (!e) {
		json_t *entry = chunk_entry(f, c);

		if (entry)
			json_array_append_new(s->chunks, entry);
		s->last_copied = c->index + 1;
		count(f, &f->st.chunks_copied, 1);
	}
	return e;
}

static void hex(char *out, const uint8_t *p, size_t n)
{
	ct_hex_encode(out, p, n);
}

/* trace.json of a snapshot: the ring's manifest with only the chunks copied. */
static void write_snapshot(struct ct_flight *f, struct snap *s)
{
	char path[PATH_MAX + 32], tmp[PATH_MAX + 32];
	json_t *m, *rec, *fr, *trig, *totals, *lost;
	uint64_t events = 0;
	size_t i;
	json_t *v;

	snprintf(path, sizeof(path), "%s/trace.json", f->ring_dir);
	m = json_load_file(path, 0, NULL);
	if (!m)
		m = json_pack("{s:i}", "version", 1);
	if (!m)
		return;
	json_object_set_new(m, "status", json_string("snapshot"));
	json_object_set(m, "chunks", s->chunks);
	totals = json_object();
	lost = json_object();
	json_array_foreach(s->chunks, i, v)
	{
		const char *k;
		json_t *n;

		events += (uint64_t)json_integer_value(json_object_get(v, "events"));
		json_object_foreach(json_object_get(v, "lost"), k, n)
		{
			json_int_t had = json_integer_value(json_object_get(lost, k));

			json_object_set_new(lost, k, json_integer(had + json_integer_value(n)));
		}
	}
	json_object_set_new(totals, "events", json_integer((json_int_t)events));
	json_object_set_new(totals, "chunks", json_integer((json_int_t)json_array_size(s->chunks)));
	json_object_set_new(totals, "chunks_removed", json_integer(0));
	json_object_set_new(totals, "lost", lost);
	json_object_set_new(m, "totals", totals);
	rec = json_object_get(m, "recording");
	if (!json_is_object(rec)) {
		rec = json_object();
		json_object_set_new(m, "recording", rec);
	}
	fr = json_object();
	trig = json_array();
	for (size_t k = 0; k < s->n_trig; k++) {
		const struct ct_flight_trigger *t = &s->trig[k];
		char tid[33], sid[17];

		hex(tid, t->trace_id, 16);
		hex(sid, t->span_id, 8);
		json_array_append_new(
			trig, json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:I, s:I, s:I}", "trace_id",
					tid, "span_id", sid, "name", t->name, "service", t->service,
					"pid", (int)t->pid, "source", t->source, "start_ns",
					(json_int_t)t->start_ns, "end_ns", (json_int_t)t->end_ns,
					"duration_ns", (json_int_t)(t->end_ns - t->start_ns)));
	}
	json_object_set_new(fr, "triggers", trig);
	json_object_set_new(fr, "window_begin_ns", json_integer((json_int_t)s->lo));
	json_object_set_new(fr, "window_end_ns", json_integer((json_int_t)s->hi));
	json_object_set_new(fr, "threshold_ns", json_integer((json_int_t)f->o.threshold_ns));
	json_object_set_new(fr, "margin_ns", json_integer((json_int_t)f->o.margin_ns));
	json_object_set_new(fr, "chunks_missing", json_integer(s->missing));
	json_object_set_new(rec, "flight_recorder", fr);
	snprintf(tmp, sizeof(tmp), "%s/.trace.json.tmp", s->dir);
	snprintf(path, sizeof(path), "%s/trace.json", s->dir);
	if (json_dump_file(m, tmp, JSON_INDENT(1)) || rename(tmp, path)) {
		ct_agent_log("flight recorder: cannot write %s: %s", path, strerror(errno));
		count(f, &f->st.copy_errors, 1);
	}
	json_decref(m);
}

static void complete(struct ct_flight *f, struct snap *s)
{
	const struct ct_flight_trigger *t = &s->trig[0];
	size_t n = json_array_size(s->chunks);

	if (s->created) {
		write_snapshot(f, s);
		ct_agent_log("flight recorder: persisted %zu chunk(s) (%.3f s around %zu slow "
			     "span(s), first '%s' of pid %d, %.1f ms) to %s%s",
			     n, (double)(s->hi - s->lo) / 1e9, s->n_trig, t->name, (int)t->pid,
			     (double)(t->end_ns - t->start_ns) / 1e6, s->dir,
			     s->missing ? " (some chunks had already left the ring)" : "");
		pthread_mutex_lock(&f->mu);
		f->st.snapshots++;
		pthread_mutex_unlock(&f->mu);
	} else {
		ct_agent_log("flight recorder: no kernel data around span '%s' of pid %d is in the "
			     "ring any more (raise flight-recorder): nothing persisted",
			     t->name, (int)t->pid);
	}
	json_decref(s->chunks);
	free(s->trig);
	free(s);
}

static int overlaps(uint64_t b, uint64_t e, uint64_t lo, uint64_t hi)
{
	return b <= hi && e > lo;
}

/* Copies the present sealed chunks that s needs and has not copied. */
static void catch_up(struct ct_flight *f, struct snap *s)
{
	for (size_t i = 0; i < f->n_ring; i++) {
		const struct ring_chunk *c = &f->ring[i];

		if (c->index + 1 <= s->last_copied || !overlaps(c->begin, c->end, s->lo, s->hi))
			continue;
		copy_chunk(f, s, c);
	}
}

static void take_trigger(struct ct_flight *f, const struct ct_flight_trigger *t, uint64_t now)
{
	uint64_t lo = t->start_ns > f->o.margin_ns ? t->start_ns - f->o.margin_ns : 0;
	uint64_t hi = t->end_ns + f->o.margin_ns;
	struct snap *s = NULL;
	struct ct_flight_trigger *nt;

	/* Bogus future times must not keep a snapshot open for ever. */
	if (hi > now + 60000000000ull)
		hi = now + 60000000000ull;
	for (size_t i = 0; i < f->n_snaps && !s; i++)
		if (overlaps(f->snaps[i]->lo, f->snaps[i]->hi + 1, lo, hi))
			s = f->snaps[i];
	if (!s) {
		struct snap **v;

		if (f->n_snaps == f->cap_snaps) {
			size_t cap = f->cap_snaps ? f->cap_snaps * 2 : 8;

			v = realloc(f->snaps, cap * sizeof(*v));
			if (!v)
				return;
			f->snaps = v;
			f->cap_snaps = cap;
		}
		s = calloc(1, sizeof(*s));
		if (!s || !(s->chunks = json_array())) {
			free(s);
			return;
		}
		s->id = ++f->next_id;
		snprintf(s->dir, sizeof(s->dir), "%s/snapshot-%06u", f->out_dir, s->id);
		s->lo = lo;
		s->hi = hi;
		f->snaps[f->n_snaps++] = s;
		/* Part of the window has left the ring already. */
		if (lo < f->removed_until) {
			s->missing = 1;
			count(f, &f->st.chunks_missing, 1);
		}
	} else {
		if (lo < s->lo)
			s->lo = lo;
		if (hi > s->hi)
			s->hi = hi;
	}
	nt = realloc(s->trig, (s->n_trig + 1) * sizeof(*nt));
	if (nt) {
		s->trig = nt;
		s->trig[s->n_trig++] = *t;
	}
	ct_agent_log("flight recorder: span '%s' of pid %d took %.1f ms (threshold %.1f ms): "
		     "persisting its kernel data to %s",
		     t->name, (int)t->pid, (double)(t->end_ns - t->start_ns) / 1e6,
		     (double)f->o.threshold_ns / 1e6, s->dir);
	catch_up(f, s);
}

static void complete_ready(struct ct_flight *f, int all)
{
	size_t w = 0;

	for (size_t i = 0; i < f->n_snaps; i++) {
		struct snap *s = f->snaps[i];

		if (all || f->sealed_until > s->hi)
			complete(f, s);
		else
			f->snaps[w++] = s;
	}
	f->n_snaps = w;
	pthread_mutex_lock(&f->mu);
	f->st.open = w;
	pthread_mutex_unlock(&f->mu);
}

void ct_flight_chunk(struct ct_flight *f, const char *what, unsigned index, uint64_t begin_ns,
		     uint64_t end_ns, const char *dir)
{
	if (!strcmp(what, "removed")) {
		size_t w = 0;

		if (end_ns > f->removed_until)
			f->removed_until = end_ns;
		for (size_t i = 0; i < f->n_ring; i++)
			if (f->ring[i].index != index)
				f->ring[w++] = f->ring[i];
		f->n_ring = w;
		return;
	}
	if (f->n_ring == f->cap_ring) {
		size_t cap = f->cap_ring ? f->cap_ring * 2 : 32;
		struct ring_chunk *n = realloc(f->ring, cap * sizeof(*n));

		if (!n)
			return;
		f->ring = n;
		f->cap_ring = cap;
	}
	f->ring[f->n_ring] = (struct ring_chunk){.index = index, .begin = begin_ns, .end = end_ns};
	snprintf(f->ring[f->n_ring].dir, PATH_MAX, "%s", dir);
	f->n_ring++;
	if (end_ns > f->sealed_until)
		f->sealed_until = end_ns;
	for (size_t i = 0; i < f->n_snaps; i++)
		if (overlaps(begin_ns, end_ns, f->snaps[i]->lo, f->snaps[i]->hi))
			copy_chunk(f, f->snaps[i], &f->ring[f->n_ring - 1]);
}

void ct_flight_tick(struct ct_flight *f, uint64_t now_ns)
{
	struct ct_flight_trigger *q;
	size_t n;

	pthread_mutex_lock(&f->mu);
	q = f->queue;
	n = f->n_queue;
	f->queue = NULL;
	f->n_queue = f->cap_queue = 0;
	pthread_mutex_unlock(&f->mu);
	for (size_t i = 0; i < n; i++)
		take_trigger(f, &q[i], now_ns);
	free(q);
	complete_ready(f, 0);
}

void ct_flight_finish(struct ct_flight *f)
{
	ct_flight_tick(f, UINT64_MAX / 2);
	complete_ready(f, 1);
}

void ct_flight_stats(struct ct_flight *f, struct ct_flight_stats *st)
{
	pthread_mutex_lock(&f->mu);
	*st = f->st;
	pthread_mutex_unlock(&f->mu);
}

void ct_flight_free(struct ct_flight *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n_snaps; i++) {
		json_decref(f->snaps[i]->chunks);
		free(f->snaps[i]->trig);
		free(f->snaps[i]);
	}
	free(f->snaps);
	free(f->ring);
	free(f->queue);
	pthread_mutex_destroy(&f->mu);
	free(f);
}
