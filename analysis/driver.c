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

struct job {
	const struct ct_chunk_meta *meta;
	struct ct_partial *p; /* the mapped chunk, when done */
	uint64_t events;
	int state; /* 0 waiting, 1 taken, 2 done */
};

struct run {
	const struct ct_an_driver_opts *o;
	struct job *jobs;
	unsigned n, next_take, next_reduce, window;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop;
};

/* Feeds the events of one chunk into p; returns the number of events. */
static uint64_t feed_chunk(const struct ct_an_driver_opts *o, const struct ct_chunk_meta *m,
			   struct ct_partial *p, int *missing, void (*tick)(void *arg, uint64_t n),
			   void *tick_arg)
{
	struct ct_chunk_reader *r;
	struct ct_event ev;
	char err[600];
	uint64_t n = 0;
	struct stat sb;
	int rc;

	*missing = 0;
	if (stat(m->dir, &sb)) {
		*missing = 1;
		return 0;
	}
	rc = ct_chunk_reader_open(&r, m->dir, o->on_error, o->error_arg, err, sizeof(err));
	if (rc) {
		if (o->on_error)
			o->on_error(o->error_arg, rc, err);
		*missing = 1;
		return 0;
	}
	ct_partial_clock(p, m->begin_ns, ct_chunk_reader_clock_offset(r));
	while (ct_chunk_reader_next(r, &ev) > 0) {
		ct_partial_feed(p, &ev);
		if ((++n & 0xffff) == 0 && tick)
			tick(tick_arg, 0x10000);
	}
	if (tick)
		tick(tick_arg, n & 0xffff);
	{
		uint64_t end = m->end_ns != UINT64_MAX ? m->end_ns : UINT64_MAX;

		if (ct_chunk_reader_errors(r))
			ct_partial_loss(p, m->begin_ns, end, "read-errors");
		if (m->lost || ct_chunk_reader_discarded(r))
			ct_partial_loss(p, m->begin_ns, end, "lost-events");
	}
	ct_chunk_reader_close(r);
	return n;
}

static void *worker(void *arg)
{
	struct run *run = arg;

	for (;;) {
		struct job *j;
		struct ct_partial *p = NULL;
		int missing = 0;

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

		if (ct_partial_new(&p, &run->o->cfg, j->meta->begin_ns, 0) == 0) {
			j->events = feed_chunk(run->o, j->meta, p, &missing, NULL, NULL);
			if (missing) {
				ct_partial_free(p);
				p = NULL;
			} else {
				ct_partial_end(p, j->meta->end_ns);
			}
		}
		pthread_mutex_lock(&run->mu);
		j->p = p;
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

/* A chunk that could not be read: its time range is a gap. */
static void add_gap(struct ct_partial *acc, const struct ct_chunk_meta *m, uint64_t next_begin)
{
	struct ct_partial *g;
	uint64_t end = m->end_ns != UINT64_MAX ? m->end_ns : next_begin;

	if (ct_partial_new_gap(&g, &(struct ct_an_config){0}, m->begin_ns, end, 0) == 0)
		ct_partial_reduce(acc, g);
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
			add_gap(acc, ct_trace_chunk(t, 0),
				n > 1 ? ct_trace_chunk(t, 1)->begin_ns : UINT64_MAX);
	}
	if (n > 1 && jobs > 1) {
		run.n = n - 1;
		/* Mapped partials keep their chunk's whole history until reduced: few in flight. */
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
		for (unsigned i = 0; i < run.n; i++)
			run.jobs[i].meta = ct_trace_chunk(t, i + 1);
		for (unsigned i = 0; i < jobs; i++)
			if (pthread_create(&th[i], NULL, worker, &run) == 0)
				started++;
		for (unsigned k = 0; k < run.n; k++) {
			struct job *j = &run.jobs[k];

			pthread_mutex_lock(&run.mu);
			while (j->state != 2 && started)
				pthread_cond_wait(&run.cv, &run.mu);
			pthread_mutex_unlock(&run.mu);
			if (!started) {
				/* No thread could start: map it here. */
				if (ct_partial_new(&j->p, &o->cfg, j->meta->begin_ns, 0) == 0) {
					j->events =
						feed_chunk(o, j->meta, j->p, &missing, NULL, NULL);
					if (missing) {
						ct_partial_free(j->p);
						j->p = NULL;
					}
				}
			}
			if (j->p)
				ct_partial_reduce(acc, j->p);
			else
				add_gap(acc, j->meta,
					k + 1 < run.n ? run.jobs[k + 1].meta->begin_ns
						      : UINT64_MAX);
			j->p = NULL;
			tick(&pg, j->events);
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
				add_gap(acc, m,
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
