// SPDX-License-Identifier: MIT
/*
 * crosstrace report DIR: the slowest requests with their causes and a per-operation table;
 * with --trace ID, that trace as a waterfall (spans, syscalls, the critical path marked).
 * --format json gives the analysis result (analysis/result_json.c) instead.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "analysis/driver.h"
#include "analysis/evtext.h"
#include "cli/command.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: crosstrace report DIR [--trace ID] [--format text|json] [--top N]\n"
		"                         [--threshold DURATION] [--window DURATION] [--jobs N]\n"
		"                         [--spans]\n"
		"  --trace ID        one trace (32 hex digits) as a waterfall with its critical "
		"path\n"
		"  --format json     the analysis as JSON (operations, requests, critical paths)\n"
		"  --top N           slowest requests to show (default 10)\n"
		"  --threshold D     full detail (syscalls, kernel events) for spans over D (5ms)\n"
		"  --window D        longest request given a critical path (default 60s)\n"
		"  --jobs N          chunks analysed in parallel (default: one per CPU)\n"
		"  --spans           with --format json: every span with its breakdown\n");
}

static unsigned term_width(void)
{
	struct winsize ws;

	if (isatty(1) && ioctl(1, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 60)
		return ws.ws_col;
	return 120;
}

static void on_error(void *arg, int code, const char *msg)
{
	(void)arg;
	(void)code;
	fprintf(stderr, "%s: warning: %s\n", ct_progname, msg);
}

static int run_report(int argc, char **argv)
{
	static const struct option opts[] = {
		{"trace", required_argument, NULL, 't'},
		{"format", required_argument, NULL, 'f'},
		{"top", required_argument, NULL, 'n'},
		{"threshold", required_argument, NULL, 'T'},
		{"window", required_argument, NULL, 'w'},
		{"jobs", required_argument, NULL, 'j'},
		{"spans", no_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct ct_an_driver_opts o = {.on_error = on_error};
	struct ct_an_progress_bar bar = {0};
	struct ct_partial *p;
	const char *format = "text";
	char err[1024];
	int c, json, spans = 0;
	struct ct_buf b;

	o.cfg.threshold_ns = 5000000;
	while ((c = getopt_long(argc, argv, "t:f:n:T:w:j:sh", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (ct_an_parse_trace_id(optarg, &o.cfg.trace_hi, &o.cfg.trace_lo)) {
				fprintf(stderr,
					"%s report: --trace wants 32 hex digits, got '%s'\n",
					ct_progname, optarg);
				return 2;
			}
			o.cfg.trace_filter = 1;
			break;
		case 'f':
			format = optarg;
			break;
		case 'n':
			o.cfg.top_requests = (unsigned)atoi(optarg);
			break;
		case 'T':
		case 'w':
			if (ct_evtext_time(optarg,
					   c == 'T' ? &o.cfg.threshold_ns : &o.cfg.window_ns)) {
				fprintf(stderr,
					"%s report: bad duration '%s' (try 5ms, 250us, 2s)\n",
					ct_progname, optarg);
				return 2;
			}
			break;
		case 'j':
			o.jobs = (unsigned)atoi(optarg);
			break;
		case 's':
			spans = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind + 1 != argc || (strcmp(format, "text") && strcmp(format, "json"))) {
		usage(stderr);
		return 2;
	}
	json = !strcmp(format, "json");
	o.dir = argv[optind];
	o.cfg.keep_spans = spans;
	o.progress = ct_an_progress;
	o.progress_arg = &bar;
	if (ct_an_analyse_dir(&o, &p, err, sizeof(err))) {
		ct_an_progress_done(&bar);
		fprintf(stderr, "%s report: %s\n", ct_progname, err);
		return 1;
	}
	ct_an_progress_done(&bar);
	ct_buf_init(&b);
	if (json) {
		struct ct_jsonw w;

		ct_jsonw_init(&w, &b, 1);
		ct_result_json(p, &w,
			       CT_OUT_INPUT | CT_OUT_OPERATIONS | CT_OUT_REQUESTS |
				       (spans || o.cfg.trace_filter ? CT_OUT_SPANS : 0));
		ct_buf_putc(&b, '\n');
	} else if (o.cfg.trace_filter) {
		ct_result_text_trace(p, &b, term_width());
	} else {
		ct_result_text_report(p, &b, term_width());
	}
	if (b.len)
		fwrite(b.data, 1, b.len, stdout);
	ct_buf_fini(&b);
	ct_partial_free(p);
	return ferror(stdout) ? 1 : 0;
}

CT_COMMAND(report, "explain the slowest requests of a recording (kernel causes, critical path)",
	   run_report)
