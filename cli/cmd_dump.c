// SPDX-License-Identifier: MIT
/*
 * `crosstrace dump DIR`: every event of a trace in time order, as text or JSON lines, in the
 * spirit of babeltrace2's text output but from our own reader. Scripts and tests use
 * `--format json` to compare traces with other tools.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/command.h"
#include "crosstrace/crosstrace.h"
#include "format/event_print.h"
#include "format/trace_reader.h"

static void print_problem(void *arg, int code, const char *msg)
{
	(void)arg;
	(void)code;
	fprintf(stderr, "crosstrace dump: warning: %s\n", msg);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: crosstrace dump [--format text|json] [--chunk N] [--limit N] DIR\n"
		   "Prints every event of the trace in DIR in time order, one per line.\n");
}

static int dump(int argc, char **argv)
{
	static const struct option opts[] = {{"format", required_argument, NULL, 'f'},
					     {"chunk", required_argument, NULL, 'c'},
					     {"limit", required_argument, NULL, 'n'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	long chunk = -1;
	unsigned long long limit = 0, n = 0;
	int json = 0, c, rc = 0;
	struct ct_trace *t;
	struct ct_buf line;
	char err[512];

	while ((c = getopt_long(argc, argv, "f:c:n:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (strcmp(optarg, "json") && strcmp(optarg, "text")) {
				fprintf(stderr, "crosstrace dump: unknown format '%s'\n", optarg);
				return 2;
			}
			json = !strcmp(optarg, "json");
			break;
		case 'c':
			chunk = strtol(optarg, NULL, 10);
			break;
		case 'n':
			limit = strtoull(optarg, NULL, 10);
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
	if (ct_trace_open(&t, argv[optind], print_problem, NULL, err, sizeof(err))) {
		fprintf(stderr, "crosstrace dump: %s\n", err);
		return 1;
	}
	ct_buf_init(&line);
	for (unsigned i = 0; i < ct_trace_chunk_count(t) && (!limit || n < limit); i++) {
		const struct ct_chunk_meta *m = ct_trace_chunk(t, i);
		struct ct_chunk_reader *r;
		struct ct_event ev;

		if (chunk >= 0 && m->index != (unsigned)chunk)
			continue;
		if (ct_chunk_reader_open(&r, m->dir, print_problem, NULL, err, sizeof(err))) {
			fprintf(stderr, "crosstrace dump: warning: %s\n", err);
			rc = 1;
			continue;
		}
		while ((!limit || n < limit) && ct_chunk_reader_next(r, &ev) > 0) {
			ct_buf_reset(&line);
			if (json) {
				ct_ev_print_json(&ev, &line);
			} else {
				ct_buf_printf(&line, "[%" PRIu64 ".%09" PRIu64 "] %d/%d ",
					      ev.ts / 1000000000, ev.ts % 1000000000, ev.pid,
					      ev.tid);
				ct_ev_print_text(&ev, &line);
			}
			ct_buf_putc(&line, '\n');
			fwrite(line.data, 1, line.len, stdout);
			n++;
		}
		if (ct_chunk_reader_errors(r))
			rc = 1;
		ct_chunk_reader_close(r);
	}
	ct_buf_fini(&line);
	ct_trace_close(t);
	if (fflush(stdout)) {
		fprintf(stderr, "crosstrace dump: cannot write output: %s\n", strerror(errno));
		return 1;
	}
	return rc;
}

CT_COMMAND(dump, "print every event of a trace (text or JSON lines)", dump)
