// SPDX-License-Identifier: MIT
/*
 * `crosstrace info DIR`: what a trace holds — host, status, chunks with their time ranges,
 * events by type and every loss counter — read from the manifest and checked against the
 * chunks themselves (the counts come from reading every event).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli/command.h"
#include "crosstrace/crosstrace.h"
#include "format/trace_reader.h"
#include "util/jsonw.h"

struct info {
	uint64_t by_type[CT_EV_MAX];
	uint64_t unknown;
	uint64_t events;
	uint64_t problems;
	uint64_t first_ts, last_ts;
};

static void count_problem(void *arg, int code, const char *msg)
{
	struct info *in = arg;

	(void)code;
	in->problems++;
	fprintf(stderr, "crosstrace info: warning: %s\n", msg);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: crosstrace info [--format text|json] DIR\n"
		   "Summarises the trace in DIR: chunks, events by type, losses.\n");
}

static void print_json(const struct ct_trace *t, const struct info *in)
{
	struct ct_buf b;
	struct ct_jsonw w;
	static const char *const kinds[] = {"kernel_events", "client_records", "late",
					    "out_of_order", "write_errors"};

	ct_buf_init(&b);
	ct_jsonw_init(&w, &b, 1);
	ct_jsonw_obj_begin(&w);
	ct_jsonw_kstr(&w, "hostname", ct_trace_hostname(t));
	ct_jsonw_kstr(&w, "status", ct_trace_status(t));
	ct_jsonw_kuint(&w, "chunks", ct_trace_chunk_count(t));
	ct_jsonw_kuint(&w, "events", in->events);
	ct_jsonw_kuint(&w, "unknown_events", in->unknown);
	ct_jsonw_kuint(&w, "read_problems", in->problems);
	ct_jsonw_kuint(&w, "first_ns", in->first_ts);
	ct_jsonw_kuint(&w, "last_ns", in->last_ts);
	ct_jsonw_key(&w, "by_type");
	ct_jsonw_obj_begin(&w);
	for (unsigned i = 1; i < CT_EV_MAX; i++)
		if (in->by_type[i])
			ct_jsonw_kuint(&w, ct_ev_name(i), in->by_type[i]);
	ct_jsonw_obj_end(&w);
	ct_jsonw_key(&w, "lost");
	ct_jsonw_obj_begin(&w);
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		ct_jsonw_kuint(&w, kinds[i], ct_trace_lost(t, kinds[i]));
	ct_jsonw_obj_end(&w);
	ct_jsonw_obj_end(&w);
	ct_buf_putc(&b, '\n');
	fwrite(b.data, 1, b.len, stdout);
	ct_buf_fini(&b);
}

static void print_text(const struct ct_trace *t, const struct info *in, const char *dir)
{
	printf("trace      %s\nhost       %s\nstatus     %s\nchunks     %u\n", dir,
	       ct_trace_hostname(t), ct_trace_status(t), ct_trace_chunk_count(t));
	if (in->events)
		printf("duration   %.3f s\n", (double)(in->last_ts - in->first_ts) / 1e9);
	printf("events     %" PRIu64 "\n", in->events);
	for (unsigned i = 1; i < CT_EV_MAX; i++)
		if (in->by_type[i])
			printf("  %-22s %12" PRIu64 "\n", ct_ev_name(i), in->by_type[i]);
	if (in->unknown)
		printf("  %-22s %12" PRIu64 "\n", "(unknown types)", in->unknown);
	printf("lost       kernel %" PRIu64 ", client %" PRIu64 ", late %" PRIu64
	       ", out-of-order %" PRIu64 "\n",
	       ct_trace_lost(t, "kernel_events"), ct_trace_lost(t, "client_records"),
	       ct_trace_lost(t, "late"), ct_trace_lost(t, "out_of_order"));
	if (in->problems)
		printf("problems   %" PRIu64 " (see warnings above)\n", in->problems);
}

static int info(int argc, char **argv)
{
	static const struct option opts[] = {{"format", required_argument, NULL, 'f'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	struct info in = {0};
	struct ct_trace *t;
	char err[512];
	int json = 0, c;

	while ((c = getopt_long(argc, argv, "f:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			json = !strcmp(optarg, "json");
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	if (ct_trace_open(&t, argv[optind], count_problem, &in, err, sizeof(err))) {
		fprintf(stderr, "crosstrace info: %s\n", err);
		return 1;
	}
	for (unsigned i = 0; i < ct_trace_chunk_count(t); i++) {
		struct ct_chunk_reader *r;
		struct ct_event ev;

		if (ct_chunk_reader_open(&r, ct_trace_chunk(t, i)->dir, count_problem, &in, err,
					 sizeof(err))) {
			count_problem(&in, 0, err);
			continue;
		}
		while (ct_chunk_reader_next(r, &ev) > 0) {
			if (!in.events)
				in.first_ts = ev.ts;
			in.last_ts = ev.ts;
			in.events++;
			if (ev.type > 0 && ev.type < CT_EV_MAX)
				in.by_type[ev.type]++;
			else
				in.unknown++;
		}
		ct_chunk_reader_close(r);
	}
	if (json)
		print_json(t, &in);
	else
		print_text(t, &in, argv[optind]);
	ct_trace_close(t);
	return in.problems ? 1 : 0;
}

CT_COMMAND(info, "summarise a trace: chunks, events by type, losses", info)
