// SPDX-License-Identifier: MIT
/*
 * crosstrace critical-path DIR --trace ID: the critical path of a request, segment by
 * segment (service, thread, state, what it waited for), summing to its latency.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/driver.h"
#include "analysis/evtext.h"
#include "cli/command.h"

static void on_error(void *arg, int code, const char *msg)
{
	(void)arg;
	(void)code;
	fprintf(stderr, "%s: warning: %s\n", ct_progname, msg);
}

static int run_critical_path(int argc, char **argv)
{
	static const struct option opts[] = {
		{"trace", required_argument, NULL, 't'},  {"format", required_argument, NULL, 'f'},
		{"window", required_argument, NULL, 'w'}, {"jobs", required_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},	  {NULL, 0, NULL, 0},
	};
	struct ct_an_driver_opts o = {.on_error = on_error};
	struct ct_an_progress_bar bar = {0};
	const char *format = "text";
	struct ct_partial *p;
	char err[1024];
	struct ct_buf b;
	int c;

	while ((c = getopt_long(argc, argv, "t:f:w:j:h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (ct_an_parse_trace_id(optarg, &o.cfg.trace_hi, &o.cfg.trace_lo)) {
				fprintf(stderr,
					"%s critical-path: --trace wants 32 hex digits, got '%s'\n",
					ct_progname, optarg);
				return 2;
			}
			o.cfg.trace_filter = 1;
			break;
		case 'f':
			format = optarg;
			break;
		case 'w':
			if (ct_evtext_time(optarg, &o.cfg.window_ns)) {
				fprintf(stderr, "%s critical-path: bad duration '%s'\n",
					ct_progname, optarg);
				return 2;
			}
			break;
		case 'j':
			o.jobs = (unsigned)atoi(optarg);
			break;
		case 'h':
		default:
			fprintf(c == 'h' ? stdout : stderr, "usage: crosstrace critical-path DIR "
							    "--trace ID [--format text|json]\n"
							    "                                  "
							    "[--window DURATION] [--jobs N]\n");
			return c == 'h' ? 0 : 2;
		}
	}
	if (optind + 1 != argc || !o.cfg.trace_filter ||
	    (strcmp(format, "text") && strcmp(format, "json"))) {
		fprintf(stderr,
			"usage: crosstrace critical-path DIR --trace ID [--format text|json]\n"
			"(the trace ids are in `crosstrace report DIR`)\n");
		return 2;
	}
	o.dir = argv[optind];
	o.progress = ct_an_progress;
	o.progress_arg = &bar;
	if (ct_an_analyse_dir(&o, &p, err, sizeof(err))) {
		ct_an_progress_done(&bar);
		fprintf(stderr, "%s critical-path: %s\n", ct_progname, err);
		return 1;
	}
	ct_an_progress_done(&bar);
	ct_buf_init(&b);
	if (!strcmp(format, "json")) {
		struct ct_jsonw w;

		ct_jsonw_init(&w, &b, 1);
		ct_result_json(p, &w, CT_OUT_FILTERED);
		ct_buf_putc(&b, '\n');
	} else {
		ct_result_text_critpath(p, &b, 0);
	}
	if (b.len)
		fwrite(b.data, 1, b.len, stdout);
	ct_buf_fini(&b);
	c = ct_result_trace_requests(p, o.cfg.trace_hi, o.cfg.trace_lo) ? 0 : 1;
	ct_partial_free(p);
	return c;
}

/* Registered by hand: the command's name has a dash, which CT_COMMAND's identifier cannot. */
static struct ct_command cmd_critical_path = {
	.name = "critical-path",
	.summary = "the critical path of one request, segment by segment",
	.run = run_critical_path,
};

__attribute__((constructor)) static void register_critical_path(void)
{
	ct_command_register(&cmd_critical_path);
}
