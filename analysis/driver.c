// SPDX-License-Identifier: MIT
/*
 * Trace directory → engine (see driver.h). This file and mktrace*.c are the only ones in
 * analysis/ that do I/O; the rest is pure computation.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crosstrace/crosstrace.h"
#include "driver.h"

/*
 * Chunks are mapped in slices of at most slice_events events (cut between two timestamps),
 * and a worker hands each slice to the reducer as soon as it is mapped, holding at most
 * SLICES_AHEAD of them: a soft partial keeps every event's state until it is reduced into
 * the starting one (which settles and prunes), so memory is bounded by the open state plus
 * (map threads + 1) x (SLICES_AHEAD + 1) slices, whatever the chunk size.
 */
#define SLICE_EVENTS 131072
#define SLICES_AHEAD 2

struct slice {
	struct ct_partial *p;
	uint64_t events;
	struct slice *next;
};

struct job {
	const struct ct_chunk_meta *meta;
	struct slice *head, **tail; /* mapped, not reduced yet */
	unsigned queued;
	uint64_t cut_at; /* no memory for a slice: the chunk's rest from here is a gap */
	int state; /* 0 waiting, 1 taken, 2 done */
	int missing;
};

struct run {
	const struct ct_an_driver_opts *o;
	struct job *jobs;
	unsigned n, next_take, next_reduce, window;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop;
};

/* Opens chunk m for reading; NULL (and *missing) when it is absent or unreadable. */
static struct ct_chunk_reader *open_chunk(const struct ct_an_driver_opts *o,
					  const struct ct_chunk_meta *m, int *missing)
{
	struct ct_chunk_reader *r;
	char err[600];
	struct stat sb;
	int rc;

	*missing = 0;
	if (stat(m->dir, &sb)) {
		*missing = 1;
		return NULL;
	}
	rc = ct_chunk_reader_open(&r, m->dir, o->on_error, o->error_arg, err, sizeof(err));
	if (rc) {
		if (o->on_error)
			o->on_error(o->error_arg, rc, err);
		*missing = 1;
		return NULL;
	}
	return r;
}

/* What the chunk as a whole says about losses, for the partial holding its end. */
static void chunk_losses(const struct ct_chunk_meta *m, struct ct_chunk_reader *r,
			 struct ct_partial *p)
{
	uint64_t end = m->end_ns != UINT64_MAX ? m->end_ns : UINT64_MAX;

	if (ct_chunk_reader_errors(r))
		ct_partial_loss(p, m->begin_ns, end, "read-errors");
	if (m->lost || ct_chunk_reader_discarded(r))
		ct_partial_loss(p, m->begin_ns, end, "lost-events");
}

/* Feeds the events of one chunk into p; returns the number of events. */
static uint64_t feed_chunk(const struct ct_an_driver_opts *o, const struct ct_chunk_meta *m,
			   struct ct_partial *p, int *missing, void (*tick)(void *arg, uint64_t n),
			   void *tick_arg)
{
	struct ct_chunk_reader *r = open_chunk(o, m, missing);
	struct ct_event ev;
	uint64_t n = 0;

	if (!r)
		return 0;
	ct_partial_clock(p, m->begin_ns, ct_chunk_reader_clock_offset(r));
	while (ct_chunk_reader_next(r, &ev) > 0) {
		ct_partial_feed(p, &ev);
		if ((++n & 0xffff) == 0 && tick)
			tick(tick_arg, 0x10000);
	}
	if (tick)
		tick(tick_arg, n & 0xffff);
	chunk_losses(m, r, p);
	ct_chunk_reader_close(r);
	return n;
}

/* A new slice beginning at begin, or NULL (no memory). */
static struct slice *new_slice(const struct run *run, uint64_t begin)
{
	struct slice *s = calloc(1, sizeof(*s));

	if (s && ct_partial_new(&s->p, &run->o->cfg, begin, 0)) {
		free(s);
		s = NULL;
	}
	return s;
}

/* Hands a mapped slice to the reducer; waits while the job already holds enough. */
static void push_slice(struct run *run, struct job *j, struct slice *s)
{
	pthread_mutex_lock(&run->mu);
	while (!run->stop && j->queued >= SLICES_AHEAD)
		pthread_cond_wait(&run->cv, &run->mu);
	*j->tail = s;
	j->tail = &s->next;
	j->queued++;
	pthread_cond_broadcast(&run->cv);
	pthread_mutex_unlock(&run->mu);
}

static void map_chunk(struct run *run, struct job *j)
{
	const struct ct_chunk_meta *m = j->meta;
	struct ct_chunk_reader *r = open_chunk(run->o, m, &j->missing);
	struct slice *s;
	struct ct_event ev;
	uint64_t last = 0;

	if (!r)
		return;
	s = new_slice(run, m->begin_ns);
	if (!s) {
		/* Out of memory: the reducer makes the chunk a gap. */
		j->cut_at = m->begin_ns;
		ct_chunk_reader_close(r);
		return;
	}
	ct_partial_clock(s->p, m->begin_ns, ct_chunk_reader_clock_offset(r));
	while (ct_chunk_reader_next(r, &ev) > 0) {
		if (s->events >= (run->o->slice_events ? run->o->slice_events : SLICE_EVENTS) &&
		    ev.ts > last) {
			/* A cut between two instants: the next slice begins with this event. */
			ct_partial_end(s->p, ev.ts);
			push_slice(run, j, s);
			s = new_slice(run, ev.ts);
			if (!s) {
				j->cut_at = ev.ts;
				ct_chunk_reader_close(r);
				return;
			}
		}
		ct_partial_feed(s->p, &ev);
		last = ev.ts;
		s->events++;
	}
	chunk_losses(m, r, s->p);
	ct_chunk_reader_close(r);
	ct_partial_end(s->p, m->end_ns);
	push_slice(run, j, s);
}

static void *worker(void *arg)
{
	struct run *run = arg;

	for (;;) {
		struct job *j;

		pthread_mutex_lock(&run->mu);
		while (!run->stop && run->next_take < run->n &&
		       run->next_take >= run->next_reduce + run->window)
			pthread_cond_wait(&run->cv, &run->mu);
		if (run->stop || run->next_take >= run->n) {
			pthread_mutex_unlock(&run->mu);
			return NULL;
		}
		j = &run->jobs[run->next_take++];
		j->state = 1;
		pthread_mutex_unlock(&run->mu);

		map_chunk(run, j);
		pthread_mutex_lock(&run->mu);
		j->state = 2;
		pthread_cond_broadcast(&run->cv);
		pthread_mutex_unlock(&run->mu);
	}
}

struct progress {
	const struct ct_an_driver_opts *o;
	uint64_t done, total;
};

static void tick(void *arg, uint64_t n)
{
	struct progress *pg = arg;

	pg->done += n;
	if (pg->o->progress)
		pg->o->progress(pg->o->progress_arg, pg->done, pg->total);
}

/* [begin, end of the chunk) that could not be read: a gap. */
static void add_gap(struct ct_partial *acc, const struct ct_chunk_meta *m, uint64_t begin,
		    uint64_t next_begin)
{
	struct ct_partial *g;
	uint64_t end = m->end_ns != UINT64_MAX ? m->end_ns : next_begin;

	if (ct_partial_new_gap(&g, &(struct ct_an_config){0}, begin, end, 0) == 0)
		ct_partial_reduce(acc, g);
}

/* Reduces job j's slices into acc as they come, in order. */
static void reduce_job(struct run *run, struct job *j, struct ct_partial *acc, struct progress *pg,
		       uint64_t next_begin)
{
	for (;;) {
		struct slice *s;
		int done;

		pthread_mutex_lock(&run->mu);
		while (!j->head && j->state != 2)
			pthread_cond_wait(&run->cv, &run->mu);
		s = j->head;
		if (s) {
			j->head = s->next;
			if (!j->head)
				j->tail = &j->head;
			j->queued--;
			pthread_cond_broadcast(&run->cv);
		}
		done = !s && j->state == 2;
		pthread_mutex_unlock(&run->mu);
		if (done)
			break;
		ct_partial_reduce(acc, s->p);
		tick(pg, s->events);
		free(s);
	}
	if (j->missing)
		add_gap(acc, j->meta, j->meta->begin_ns, next_begin);
	else if (j->cut_at)
		add_gap(acc, j->meta, j->cut_at, next_begin);
}

int ct_an_analyse_dir(const struct ct_an_driver_opts *o, struct ct_partial **out, char *errbuf,
		      size_t errlen)
{
	struct ct_trace *t;
	struct ct_partial *acc = NULL;
	struct progress pg = {.o = o};
	struct run run = {.o = o};
	pthread_t *th = NULL;
	unsigned n, jobs = o->jobs, started = 0;
	int err, missing;

	*out = NULL;
	err = ct_trace_open(&t, o->dir, o->on_error, o->error_arg, errbuf, errlen);
	if (err)
		return err;
	n = ct_trace_chunk_count(t);
	for (unsigned i = 0; i < n; i++)
		pg.total += ct_trace_chunk(t, i)->events;
	err = ct_partial_new(&acc, &o->cfg, 0, 1);
	if (err) {
		snprintf(errbuf, errlen, "out of memory");
		ct_trace_close(t);
		return err;
	}
	if (!jobs) {
		long c = sysconf(_SC_NPROCESSORS_ONLN);

		jobs = c < 1 ? 1 : c > 8 ? 8 : (unsigned)c;
	}
	/* The first chunk goes straight into the starting partial. */
	if (n) {
		feed_chunk(o, ct_trace_chunk(t, 0), acc, &missing, tick, &pg);
		if (missing)
			add_gap(acc, ct_trace_chunk(t, 0), ct_trace_chunk(t, 0)->begin_ns,
				n > 1 ? ct_trace_chunk(t, 1)->begin_ns : UINT64_MAX);
	}
	if (n > 1 && jobs > 1) {
		run.n = n - 1;
		run.window = jobs + 1;
		run.jobs = calloc(run.n, sizeof(*run.jobs));
		th = calloc(jobs, sizeof(*th));
		if (!run.jobs || !th) {
			free(run.jobs);
			free(th);
			run.jobs = NULL;
			th = NULL;
			jobs = 1;
		}
	}
	if (n > 1 && jobs > 1) {
		pthread_mutex_init(&run.mu, NULL);
		pthread_cond_init(&run.cv, NULL);
		for (unsigned i = 0; i < run.n; i++) {
			run.jobs[i].meta = ct_trace_chunk(t, i + 1);
			run.jobs[i].tail = &run.jobs[i].head;
		}
		for (unsigned i = 0; i < jobs; i++)
			if (pthread_create(&th[i], NULL, worker, &run) == 0)
				started++;
		for (unsigned k = 0; k < run.n; k++) {
			struct job *j = &run.jobs[k];
			uint64_t next = k + 1 < run.n ? run.jobs[k + 1].meta->begin_ns : UINT64_MAX;

			if (!started) {
				/* No thread could start: everything here, in order. */
				feed_chunk(o, j->meta, acc, &missing, tick, &pg);
				if (missing)
					add_gap(acc, j->meta, j->meta->begin_ns, next);
				continue;
			}
			reduce_job(&run, j, acc, &pg, next);
			pthread_mutex_lock(&run.mu);
			run.next_reduce = k + 1;
			pthread_cond_broadcast(&run.cv);
			pthread_mutex_unlock(&run.mu);
		}
		for (unsigned i = 0; i < started; i++)
			pthread_join(th[i], NULL);
		pthread_mutex_destroy(&run.mu);
		pthread_cond_destroy(&run.cv);
	} else {
		/* One thread: the chunks' events go on into the same partial. */
		for (unsigned k = 1; k < n; k++) {
			const struct ct_chunk_meta *m = ct_trace_chunk(t, k);

			feed_chunk(o, m, acc, &missing, tick, &pg);
			if (missing)
				add_gap(acc, m, m->begin_ns,
					k + 1 < n ? ct_trace_chunk(t, k + 1)->begin_ns
						  : UINT64_MAX);
		}
	}
	free(run.jobs);
	free(th);
	ct_trace_close(t);
	err = ct_partial_finish(acc);
	if (err) {
		snprintf(errbuf, errlen, "analysis failed: %s", ct_strerror(err));
		ct_partial_free(acc);
		return err;
	}
	*out = acc;
	return 0;
}

int ct_an_parse_trace_id(const char *s, uint64_t *hi, uint64_t *lo)
{
	uint64_t v[2] = {0, 0};

	if (!s || strlen(s) != 32)
		return -1;
	for (int i = 0; i < 32; i++) {
		char c = s[i];
		int h = c >= '0' && c <= '9'   ? c - '0'
			: c >= 'a' && c <= 'f' ? c - 'a' + 10
			: c >= 'A' && c <= 'F' ? c - 'A' + 10
					       : -1;

		if (h < 0)
			return -1;
		v[i / 16] = v[i / 16] << 4 | (uint64_t)h;
	}
	*hi = v[0];
	*lo = v[1];
	return 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void ct_an_progress(void *arg, uint64_t done, uint64_t total)
{
	struct ct_an_progress_bar *b = arg;
	uint64_t t = now_ns();
	char line[96];
	unsigned filled;

	if (!b->started_ns) {
		b->started_ns = t;
		b->tty = isatty(2);
	}
	/* Quick analyses draw nothing; long ones redraw at most ten times a second. */
	if (!b->tty || t - b->started_ns < 500000000 || t - b->last_ns < 100000000)
		return;
	b->last_ns = t;
	if (total && done <= total) {
		filled = (unsigned)(done * 40 / total);
		memset(line, '#', filled);
		memset(line + filled, '.', 40 - filled);
		line[40] = 0;
		fprintf(stderr, "\ranalysing [%s] %3u%% (%llu events)", line,
			(unsigned)(done * 100 / total), (unsigned long long)done);
	} else {
		fprintf(stderr, "\ranalysing: %llu events", (unsigned long long)done);
	}
	b->drawn = 1;
}

void ct_an_progress_done(struct ct_an_progress_bar *b)
{
	if (b->drawn)
		fprintf(stderr, "\r%-78s\r", "");
}
