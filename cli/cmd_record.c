// SPDX-License-Identifier: MIT
/*
 * `crosstrace record [options] -- CMD [ARGS]` and `crosstrace record -p PID`: records a
 * process tree's kernel events and its libcrosstrace spans into one trace directory.
 * Option parsing, signals and the exit status live here; the work is in capture/recorder.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "capture/launch.h"
#include "capture/recorder.h"
#include "cli/command.h"
#include "crosstrace/crosstrace.h"
#include "util/units.h"

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: crosstrace record [options] [--] COMMAND [ARGS...]\n"
		"       crosstrace record [options] -p PID\n"
		"\n"
		"Records what the kernel did for a process tree (syscalls, scheduling, wake-ups,\n"
		"process lifetime, block I/O) and the spans of programs linked with libcrosstrace\n"
		"(through CROSSTRACE_OUTPUT, set for COMMAND), on one CLOCK_MONOTONIC clock.\n"
		"\n"
		"options:\n"
		"  -o, --output DIR       trace directory (default ./crosstrace-DATE-TIME)\n"
		"  -p, --pid PID          attach to the running process PID and its descendants\n"
		"      --backend KIND     bpf, perf or auto (default auto: bpf, else perf)\n"
		"      --rotate-time DUR  start a new chunk every DUR (e.g. 30s, 500ms, 2m)\n"
		"      --rotate-size SIZE start a new chunk when one reaches SIZE (e.g. 256M)\n"
		"      --ring-size SIZE   kernel buffer size (BPF ring / per-CPU perf buffer)\n"
		"      --no-statedump     do not dump existing threads and open files at start\n"
		"      --only-in-spans    keep syscalls and block I/O only of threads inside a\n"
		"                         sampled span, switches and wake-ups only when such a\n"
		"                         thread takes part (BPF; spans must come to this record)\n"
		"  -q, --quiet            do not print the summary\n"
		"  -v, --verbose          print backend diagnostics\n"
		"  -h, --help             this help\n"
		"\n"
		"Needs root, or CAP_BPF and CAP_PERFMON. SIGINT/SIGTERM stop the recording and "
		"keep\n"
		"everything recorded so far. The exit status is the command's.\n");
}

static int bad_value(const char *opt, const char *val, const char *what)
{
	fprintf(stderr, "crosstrace record: invalid %s '%s' (%s)\n", opt, val, what);
	return 2;
}

static int exit_status_of(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return 1;
}

static int cmd_record(int argc, char **argv)
{
	static const struct option opts[] = {
		{"output", required_argument, NULL, 'o'},
		{"pid", required_argument, NULL, 'p'},
		{"backend", required_argument, NULL, 'b'},
		{"rotate-time", required_argument, NULL, 'T'},
		{"rotate-size", required_argument, NULL, 'S'},
		{"ring-size", required_argument, NULL, 'R'},
		{"no-statedump", no_argument, NULL, 'D'},
		{"only-in-spans", no_argument, NULL, 'I'},
		{"quiet", no_argument, NULL, 'q'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct ct_recorder_opts ro = {0};
	struct ct_recorder *r = NULL;
	struct sigaction sa;
	char defdir[64], err[1024] = "";
	const char *out = NULL;
	int quiet = 0, c, e, status = 0;
	pid_t attach = 0, child = 0;
	uint64_t v;

	optind = 1;
	/* '+': options end at the first non-option, which starts the command. */
	while ((c = getopt_long(argc, argv, "+o:p:qvh", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case 'p': {
			char *end;
			long p = strtol(optarg, &end, 10);

			if (*end || p <= 0 || p > INT32_MAX)
				return bad_value("pid", optarg, "a process id");
			attach = (pid_t)p;
			break;
		}
		case 'b':
			if (!strcmp(optarg, "bpf"))
				ro.backend = CT_KBACKEND_BPF;
			else if (!strcmp(optarg, "perf"))
				ro.backend = CT_KBACKEND_PERF;
			else if (!strcmp(optarg, "auto"))
				ro.backend = CT_KBACKEND_AUTO;
			else
				return bad_value("backend", optarg, "bpf, perf or auto");
			break;
		case 'T':
			if (ct_parse_duration(optarg, &ro.rotate_ns) || !ro.rotate_ns)
				return bad_value("--rotate-time", optarg,
						 "a duration like 30s or 500ms");
			break;
		case 'S':
			if (ct_parse_size(optarg, &ro.rotate_bytes) || !ro.rotate_bytes)
				return bad_value("--rotate-size", optarg, "a size like 256M");
			break;
		case 'R':
			if (ct_parse_size(optarg, &v) || v < 4096 || v > (1ull << 31))
				return bad_value("--ring-size", optarg, "a size from 4K to 2G");
			ro.ring_bytes = (size_t)v;
			break;
		case 'D':
			ro.no_statedump = 1;
			break;
		case 'I':
			ro.only_in_spans = 1;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'v':
			ro.verbose = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (attach && optind < argc) {
		fprintf(stderr, "crosstrace record: give either -p PID or a command, not both\n");
		return 2;
	}
	if (!attach && optind >= argc) {
		fprintf(stderr, "crosstrace record: no command to run (and no -p PID)\n\n");
		usage(stderr);
		return 2;
	}
	if (!out) {
		time_t now = time(NULL);
		struct tm tm;

		localtime_r(&now, &tm);
		strftime(defdir, sizeof(defdir), "crosstrace-%Y%m%d-%H%M%S", &tm);
		out = defdir;
	}
	ro.out_dir = out;
	ro.command = attach ? NULL : argv + optind;

	/* Errors that need no kernel and should leave no trace directory behind. */
	if (!attach) {
		char path[4096];

		e = ct_launch_resolve(argv[optind], path, sizeof(path), err, sizeof(err));
		if (e) {
			fprintf(stderr, "crosstrace record: %s\n", err);
			return 127;
		}
	} else if (kill(attach, 0) && errno == ESRCH) {
		fprintf(stderr, "crosstrace record: no process with pid %d (check it with ps)\n",
			(int)attach);
		return 1;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* A closed stderr must not kill us before cleanup (the command gets SIG_DFL back). */
	signal(SIGPIPE, SIG_IGN);

	e = ct_recorder_new(&r, &ro, err, sizeof(err));
	if (e) {
		fprintf(stderr, "crosstrace record: %s\n", err);
		return 1;
	}
	if (attach)
		e = ct_recorder_attach(r, attach, err, sizeof(err));
	else
		e = ct_recorder_spawn(r, argv + optind, &child, err, sizeof(err));
	if (e) {
		fprintf(stderr, "crosstrace record: %s\n", err);
		if (!child && ct_recorder_child_status(r) < 0) {
			/* Nothing ran: the directory holds only the (failed) setup. */
			ct_recorder_finish(r, "failed");
			ct_recorder_free(r);
			return e == -ENOENT || e == -EACCES ? 127 : 1;
		}
	}
	if (!e)
		e = ct_recorder_run(r, &stop_signal);
	if (e)
		fprintf(stderr,
			"crosstrace record: writing %s failed: %s (what was written is kept)\n",
			out, ct_strerror(e));
	if (stop_signal && child > 0 && ct_recorder_child_status(r) < 0)
		kill(child, stop_signal);
	e = ct_recorder_finish(r, stop_signal || e ? "interrupted" : "complete") || e;
	if (!quiet)
		ct_recorder_summary(r, stderr);

	status = ct_recorder_child_status(r);
	if (child > 0 && status < 0) {
		/* Interrupted: give the command a moment (2 s) to act on the forwarded signal. */
		for (int i = 0; i < 200 && status < 0; i++) {
			int st;

			if (waitpid(child, &st, WNOHANG) == child)
				status = st;
			else
				usleep(10000);
		}
	}
	ct_recorder_free(r);
	if (status >= 0)
		return exit_status_of(status);
	if (stop_signal)
		return 128 + stop_signal;
	return e ? 1 : 0;
}

CT_COMMAND(record, "record a process tree's kernel events and spans (root)", cmd_record)
