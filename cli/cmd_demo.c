// SPDX-License-Identifier: MIT
/*
 * crosstrace demo: runs the bundled shop (examples/shop: frontend, inventory, cart, payment,
 * with known pathologies) under `crosstrace record` for a few seconds of load, then prints
 * what crosstrace makes of it: the slowest requests with their causes, the per-operation
 * table and the critical path of the slowest request. It builds nothing: ct-shop is found
 * next to this binary (build tree) or where it is installed.
 */
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "analysis/driver.h"
#include "cli/command.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: crosstrace demo [--pathology LIST] [--duration SEC] [-o DIR]\n"
		"                       [--format text|json] [--clients N]\n"
		"\n"
		"Records a small distributed shop (frontend -> inventory, cart -> payment: "
		"separate\n"
		"processes speaking HTTP over loopback with W3C trace context) under load, with\n"
		"known pathologies switched on, and prints the report that explains its slow\n"
		"requests. Needs what `crosstrace record` needs (root, or CAP_BPF+CAP_PERFMON).\n"
		"\n"
		"  -p, --pathology LIST  comma-separated: lock (cart workers contend for a "
		"mutex),\n"
		"                        fsync (cart fsyncs every order), hog (a CPU hog shares\n"
		"                        payment's CPU), slow-downstream (payment waits for its\n"
		"                        bank), fanout (slow inventory lookups in parallel) or\n"
		"                        sequential (the same, one after another); all (every one\n"
		"                        but fanout: the default); none (a healthy shop)\n"
		"  -d, --duration SEC    seconds of load (default 5)\n"
		"  -o, --output DIR      keep the trace in DIR (default: a temporary directory,\n"
		"                        removed at the end)\n"
		"      --format json     the analysis as JSON (as `crosstrace report --format "
		"json`)\n"
		"  -c, --clients N       concurrent clients (default 8)\n"
		"\n"
		"The shop is ct-shop, found next to this program (build/examples/shop/ct-shop), "
		"in\n"
		"../libexec/crosstrace/, or at $CROSSTRACE_SHOP.\n");
}

/* The directory of this program, resolved. */
static int self_dir(char *buf, size_t size)
{
	ssize_t n = readlink("/proc/self/exe", buf, size - 1);
	char *slash;

	if (n <= 0)
		return -1;
	buf[n] = 0;
	slash = strrchr(buf, '/');
	if (!slash)
		return -1;
	*slash = 0;
	return 0;
}

static int find_shop(char *out, size_t size)
{
	static const char *const rel[] = {"/examples/shop/ct-shop", "/ct-shop",
					  "/../libexec/crosstrace/ct-shop"};
	const char *env = getenv("CROSSTRACE_SHOP");
	char dir[PATH_MAX];

	if (env && *env) {
		snprintf(out, size, "%s", env);
		return access(out, X_OK) ? -1 : 0;
	}
	if (self_dir(dir, sizeof(dir)))
		return -1;
	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		snprintf(out, size, "%s%s", dir, rel[i]);
		if (access(out, X_OK) == 0)
			return 0;
	}
	snprintf(out, size, "%s", dir);
	return -1;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void rm_tree(const char *path)
{
	nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
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

/* Runs `crosstrace record -q -o trace -- shop ...` (this very program) and waits for it. */
static int record_shop(const char *shop, const char *trace, const char *data, const char *pathology,
		       const char *duration, const char *clients)
{
	char self[PATH_MAX];
	char *argv[20];
	int n = 0, st;
	pid_t pid;
	struct sigaction ign = {.sa_handler = SIG_IGN}, old_int, old_term;

	/* By its real path: the recorder's process name is then "crosstrace", not "exe". */
	{
		ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);

		if (len <= 0)
			return -1;
		self[len] = 0;
	}
	argv[n++] = (char *)"crosstrace";
	argv[n++] = (char *)"record";
	argv[n++] = (char *)"-q";
	argv[n++] = (char *)"-o";
	argv[n++] = (char *)trace;
	argv[n++] = (char *)"--";
	argv[n++] = (char *)shop;
	argv[n++] = (char *)"--pathology";
	argv[n++] = (char *)pathology;
	argv[n++] = (char *)"--duration";
	argv[n++] = (char *)duration;
	argv[n++] = (char *)"--data";
	argv[n++] = (char *)data;
	if (clients) {
		argv[n++] = (char *)"--clients";
		argv[n++] = (char *)clients;
	}
	argv[n] = NULL;
	/* Ctrl-C reaches the recorder, which stops and keeps what it has: we go on to the
	 * report of that. */
	sigaction(SIGINT, &ign, &old_int);
	sigaction(SIGTERM, &ign, &old_term);
	pid = fork();
	if (pid == 0) {
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGTERM, &old_term, NULL);
		execv(self, argv);
		fprintf(stderr, "%s demo: cannot run %s record: %s\n", ct_progname, self,
			strerror(errno));
		_exit(127);
	}
	if (pid < 0) {
		fprintf(stderr, "%s demo: fork: %s\n", ct_progname, strerror(errno));
		return -1;
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int run_demo(int argc, char **argv)
{
	static const struct option opts[] = {
		{"pathology", required_argument, NULL, 'p'},
		{"duration", required_argument, NULL, 'd'},
		{"output", required_argument, NULL, 'o'},
		{"format", required_argument, NULL, 'f'},
		{"clients", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *pathology = "all", *duration = "5", *out = NULL, *format = "text";
	const char *clients = NULL;
	char shop[PATH_MAX], tmp[] = "/var/tmp/crosstrace-demo-XXXXXX", trace[PATH_MAX],
			     data[PATH_MAX], err[1024];
	struct ct_an_driver_opts o = {.on_error = on_error};
	struct ct_an_progress_bar bar = {0};
	struct ct_partial *p = NULL;
	struct ct_result_stats st;
	struct ct_buf b;
	int c, rc, status = 0;
	char *end;
	double secs;

	optind = 1;
	while ((c = getopt_long(argc, argv, "p:d:o:f:c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			pathology = optarg;
			break;
		case 'd':
			duration = optarg;
			secs = strtod(optarg, &end);
			if (*end || secs <= 0 || secs > 600) {
				fprintf(stderr,
					"%s demo: --duration wants seconds of load (up to 600), "
					"got '%s'\n",
					ct_progname, optarg);
				return 2;
			}
			break;
		case 'o':
			out = optarg;
			break;
		case 'f':
			format = optarg;
			break;
		case 'c':
			clients = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || (strcmp(format, "text") && strcmp(format, "json"))) {
		usage(stderr);
		return 2;
	}
	if (find_shop(shop, sizeof(shop))) {
		fprintf(stderr,
			"%s demo: cannot find the demo shop (ct-shop) next to %s: build it "
			"(`ninja -C build ct-shop`, or ./scripts/build.sh) or point "
			"CROSSTRACE_SHOP at it\n",
			ct_progname, shop);
		return 1;
	}
	if (out && access(out, F_OK) == 0) {
		fprintf(stderr, "%s demo: %s already exists (give a new directory to -o)\n",
			ct_progname, out);
		return 2;
	}
	if (!mkdtemp(tmp)) {
		fprintf(stderr, "%s demo: cannot create a directory under /var/tmp: %s\n",
			ct_progname, strerror(errno));
		return 1;
	}
	snprintf(trace, sizeof(trace), "%s/trace", tmp);
	if (out)
		snprintf(trace, sizeof(trace), "%s", out);
	snprintf(data, sizeof(data), "%s/data", tmp);

	fprintf(stderr,
		"%s demo: recording the shop for %s s of load (pathologies: %s); the shop's "
		"processes are named frontend, inventory, cart, payment, hog, loadgen\n",
		ct_progname, duration, pathology);
	rc = record_shop(shop, trace, data, pathology, duration, clients);
	if (rc == 2) {
		/* The shop refused its options (an unknown pathology): it said why. */
		status = 2;
		goto done;
	}
	o.dir = trace;
	o.cfg.threshold_ns = 5000000;
	o.cfg.top_requests = 5;
	/* Span names on the critical path; a demo's trace is small. */
	o.cfg.keep_spans = 1;
	o.progress = ct_an_progress;
	o.progress_arg = &bar;
	memset(&st, 0, sizeof(st));
	if (rc >= 0 && access(trace, F_OK) == 0 && ct_an_analyse_dir(&o, &p, err, sizeof(err)) == 0)
		ct_result_stats(p, &st);
	if (!st.events) {
		ct_an_progress_done(&bar);
		fprintf(stderr,
			"%s demo: nothing was recorded (see the message of `crosstrace record` "
			"above: it needs root, or CAP_BPF and CAP_PERFMON)\n",
			ct_progname);
		status = 1;
		goto done;
	}
	ct_an_progress_done(&bar);
	if (rc)
		fprintf(stderr,
			"%s demo: the shop or its recording ended with status %d (see above); "
			"here is what was recorded\n",
			ct_progname, rc);
	ct_buf_init(&b);
	if (!strcmp(format, "json")) {
		struct ct_jsonw w;

		ct_jsonw_init(&w, &b, 1);
		ct_result_json(p, &w, CT_OUT_INPUT | CT_OUT_OPERATIONS | CT_OUT_REQUESTS);
		ct_buf_putc(&b, '\n');
	} else {
		unsigned width = term_width();

		ct_result_text_report(p, &b, width);
		ct_result_text_slowest_path(p, &b, width);
		if (out)
			ct_buf_printf(&b,
				      "\nThe trace is in %s: `crosstrace report %s --trace ID` "
				      "shows one request as a waterfall,\n`crosstrace export %s "
				      "--format chrome -o trace.json` opens in the Perfetto UI.\n",
				      out, out, out);
		else
			ct_buf_puts(&b, "\n(The trace was recorded in a temporary directory and "
					"removed; keep it with -o DIR.)\n");
	}
	fwrite(b.data, 1, b.len, stdout);
	ct_buf_fini(&b);
	if (ferror(stdout))
		status = 1;
done:
	ct_partial_free(p);
	if (!out)
		rm_tree(trace);
	rm_tree(data);
	rmdir(tmp);
	return status;
}

CT_COMMAND(demo, "record the bundled demo shop with known pathologies and explain it (root)",
	   run_demo)
