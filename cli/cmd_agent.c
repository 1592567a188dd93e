// SPDX-License-Identifier: MIT
/*
 * `crosstrace agent [--config FILE] [--OPTION VALUE]...`: the long-running daemon (agent/).
 * Options come from the config file first, then the flags (which win); both use the same
 * names (agent/config.c). Runs in the foreground until SIGTERM/SIGINT/SIGHUP, logging to
 * stderr; the work is in agent/agent.c.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "agent/config.h"
#include "agent/log.h"
#include "cli/command.h"

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: crosstrace agent [--config FILE] [options]\n"
		"\n"
		"Runs in the foreground until SIGTERM or SIGINT: receives spans (OTLP/HTTP, "
		"Zipkin,\n"
		"libcrosstrace over a UNIX socket), records the kernel activity of the watched\n"
		"processes, annotates each span with what the kernel did for it, and exports the\n"
		"annotated spans over OTLP/HTTP. Logs go to stderr; counters to GET /stats.\n"
		"\n"
		"  --config FILE                lines 'option = value' (# comments); flags "
		"override\n"
		"  --help                       this help\n"
		"\n"
		"options (in a config file without the leading --; booleans on the command line:\n"
		"--NAME, --NAME=false or --no-NAME):\n");
	ct_agent_config_help(f);
	fprintf(f, "\nDurations: 500ms, 10s, 2m. Sizes: 64K, 256M, 1G. Kernel capture needs root\n"
		   "(or CAP_BPF + CAP_PERFMON). See docs/internals/agent.md.\n");
}

static int cmd_agent(int argc, char **argv)
{
	const char *const *keys = ct_agent_config_keys();
	struct ct_agent_config cfg;
	struct ct_agent *a = NULL;
	struct option *lo;
	struct sigaction sa;
	char err[1024];
	size_t nk = 0, n = 0;
	int c, idx, e, rc = 0;

	while (keys[nk])
		nk++;
	/* Every option, plus --no-NAME for booleans, --config and --help. */
	lo = calloc(2 * nk + 3, sizeof(*lo));
	if (!lo)
		return 1;
	for (size_t i = 0; i < nk; i++) {
		int flag = ct_agent_config_is_flag(keys[i]);

		lo[n++] = (struct option){keys[i], flag ? optional_argument : required_argument,
					  NULL, 1000 + (int)i};
		if (flag) {
			char *no = malloc(strlen(keys[i]) + 4);

			if (!no)
				return 1;
			sprintf(no, "no-%s", keys[i]);
			lo[n++] = (struct option){no, no_argument, NULL, 3000 + (int)i};
		}
	}
	lo[n++] = (struct option){"config", required_argument, NULL, 'c'};
	lo[n++] = (struct option){"help", no_argument, NULL, 'h'};

	ct_agent_config_defaults(&cfg);
	/* The file first, wherever --config is, so that flags override it. */
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+c:h", lo, &idx)) != -1) {
		if (c == 'c' && ct_agent_config_load(&cfg, optarg, err, sizeof(err))) {
			fprintf(stderr, "crosstrace agent: %s\n", err);
			rc = 2;
			goto out;
		}
	}
	optind = 1;
	opterr = 1;
	while ((c = getopt_long(argc, argv, "+c:h", lo, &idx)) != -1) {
		if (c == 'h') {
			usage(stdout);
			goto out;
		}
		if (c == 'c')
			continue;
		if (c >= 1000 && c < 3000) {
			const char *v = optarg ? optarg : "true";

			if (ct_agent_config_set(&cfg, keys[c - 1000], v, err, sizeof(err))) {
				fprintf(stderr, "crosstrace agent: %s\n", err);
				rc = 2;
				goto out;
			}
			continue;
		}
		if (c >= 3000) {
			ct_agent_config_set(&cfg, keys[c - 3000], "false", err, sizeof(err));
			continue;
		}
		fprintf(stderr, "crosstrace agent: see --help for the options\n");
		rc = 2;
		goto out;
	}
	if (optind < argc) {
		fprintf(stderr,
			"crosstrace agent: unexpected argument '%s' (options only; see --help)\n",
			argv[optind]);
		rc = 2;
		goto out;
	}
	if (ct_agent_config_check(&cfg, err, sizeof(err))) {
		fprintf(stderr, "crosstrace agent: %s\n", err);
		rc = 2;
		goto out;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* A closed stderr or a vanished peer must not kill the daemon. */
	signal(SIGPIPE, SIG_IGN);

	e = ct_agent_new(&a, &cfg, err, sizeof(err));
	if (e) {
		ct_agent_log("cannot start: %s", err);
		rc = 1;
		goto out;
	}
	e = ct_agent_run(a, &stop_signal);
	if (stop_signal)
		ct_agent_log("signal %d (%s) received", (int)stop_signal,
			     strsignal((int)stop_signal));
	if (ct_agent_finish(a) || e)
		rc = 1;
	ct_agent_log("stopped%s", rc ? " with errors" : "");
out:
	for (size_t i = 0; i < n; i++)
		if (lo[i].val >= 3000)
			free((char *)lo[i].name);
	free(lo);
	return rc;
}

CT_COMMAND(agent, "run the agent: receive spans, record the kernel, annotate, export (root)",
	   cmd_agent)
