// SPDX-License-Identifier: MIT
/*
 * crosstrace export DIR --format otlp-json|jaeger|chrome: the annotated spans for other
 * tools: OTLP JSON (any OpenTelemetry backend or collector), Jaeger JSON (Jaeger UI's
 * "JSON file" upload), Chrome trace-event JSON (Perfetto UI: per-thread state tracks, spans,
 * wake-up arrows).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/driver.h"
#include "analysis/evtext.h"
#include "cli/command.h"
#include "crosstrace/crosstrace.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: crosstrace export DIR --format otlp-json|jaeger|chrome [-o FILE]\n"
		"                         [--detail slow|all] [--threshold DURATION] [--trace ID]\n"
		"  --detail all      syscalls as child spans for every span (default: for the\n"
		"                    slowest of each operation and spans over --threshold)\n"
		"  --trace ID        only that trace\n");
}

static void on_error(void *arg, int code, const char *msg)
{
	(void)arg;
	(void)code;
	fprintf(stderr, "%s: warning: %s\n", ct_progname, msg);
}

static int run_export(int argc, char **argv)
{
	static const struct option opts[] = {
		{"format", required_argument, NULL, 'f'},
		{"output", required_argument, NULL, 'o'},
		{"detail", required_argument, NULL, 'd'},
		{"threshold", required_argument, NULL, 'T'},
		{"trace", required_argument, NULL, 't'},
		{"jobs", required_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct ct_an_driver_opts o = {.on_error = on_error};
	struct ct_an_progress_bar bar = {0};
	const char *format = NULL, *output = NULL;
	struct ct_partial *p;
	char err[1024];
	struct ct_buf b;
	FILE *f = stdout;
	int c;

	while ((c = getopt_long(argc, argv, "f:o:d:T:t:j:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			format = optarg;
			break;
		case 'o':
			output = optarg;
			break;
		case 'd':
			if (strcmp(optarg, "all") && strcmp(optarg, "slow")) {
				fprintf(stderr, "%s export: --detail is 'slow' or 'all'\n",
					ct_progname);
				return 2;
			}
			o.cfg.detail_all = !strcmp(optarg, "all");
			break;
		case 'T':
			if (ct_evtext_time(optarg, &o.cfg.threshold_ns)) {
				fprintf(stderr, "%s export: bad duration '%s'\n", ct_progname,
					optarg);
				return 2;
			}
			break;
		case 't':
			if (ct_an_parse_trace_id(optarg, &o.cfg.trace_hi, &o.cfg.trace_lo)) {
				fprintf(stderr, "%s export: --trace wants 32 hex digits\n",
					ct_progname);
				return 2;
			}
			o.cfg.trace_filter = 1;
			break;
		case 'j':
			o.jobs = (unsigned)atoi(optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind + 1 != argc || !format ||
	    (strcmp(format, "otlp-json") && strcmp(format, "jaeger") && strcmp(format, "chrome"))) {
		usage(stderr);
		return 2;
	}
	o.dir = argv[optind];
	/* Without --trace every span is exported; with it, only that trace's. */
	o.cfg.keep_spans = !o.cfg.trace_filter;
	o.cfg.keep_history = !strcmp(format, "chrome");
	o.progress = ct_an_progress;
	o.progress_arg = &bar;
	if (ct_an_analyse_dir(&o, &p, err, sizeof(err))) {
		ct_an_progress_done(&bar);
		fprintf(stderr, "%s export: %s\n", ct_progname, err);
		return 1;
	}
	ct_an_progress_done(&bar);
	ct_buf_init(&b);
	if (!strcmp(format, "otlp-json"))
		ct_export_otlp_json(p, &b);
	else if (!strcmp(format, "jaeger"))
		ct_export_jaeger_json(p, &b);
	else
		ct_export_chrome_json(p, &b);
	ct_partial_free(p);
	if (b.oom) {
		ct_buf_fini(&b);
		fprintf(stderr, "%s export: out of memory building the %s output\n", ct_progname,
			format);
		return 1;
	}
	if (output && !(f = fopen(output, "we"))) {
		int e = errno;

		ct_buf_fini(&b);
		fprintf(stderr, "%s export: cannot create %s: %s\n", ct_progname, output,
			strerror(e));
		return 1;
	}
	if ((b.len && fwrite(b.data, 1, b.len, f) != b.len) || (f != stdout && fclose(f))) {
		ct_buf_fini(&b);
		fprintf(stderr, "%s export: writing %s failed\n", ct_progname,
			output ? output : "standard output");
		return 1;
	}
	ct_buf_fini(&b);
	return 0;
}

CT_COMMAND(export, "write the annotated spans as OTLP JSON, Jaeger JSON or Chrome trace JSON",
	   run_export)
