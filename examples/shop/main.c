// SPDX-License-Identifier: MIT
/*
 * ct-shop: starts the shop's services (each its own process, on loopback ports chosen by
 * the kernel), the CPU hog when asked, and the load generator; when the load is done it
 * stops everything and exits with the load's status. `crosstrace demo` runs it under
 * `crosstrace record`; it also runs on its own (spans are then not recorded).
 *
 *   ct-shop [--pathology lock,fsync,hog,slow-downstream,fanout|sequential|all|none] ...
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shop.h"

struct shop_opts shop;

static const struct {
	const char *name;
	unsigned bits;
} pathologies[] = {
	{"none", 0},
	{"lock", SHOP_LOCK},
	{"fsync", SHOP_FSYNC},
	{"hog", SHOP_HOG},
	{"slow-downstream", SHOP_SLOW},
	{"fanout", SHOP_FANOUT},
	{"sequential", SHOP_SEQUENTIAL},
	/* fan-out and sequential exclude each other: "all" takes the pathological one. */
	{"all", SHOP_LOCK | SHOP_FSYNC | SHOP_HOG | SHOP_SLOW | SHOP_SEQUENTIAL},
};

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = sig;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: ct-shop [options]\n"
		   "\n"
		   "A small shop (frontend -> inventory, cart -> payment; HTTP over loopback, W3C\n"
		   "traceparent, libcrosstrace spans) under load, with known pathologies.\n"
		   "\n"
		   "  -p, --pathology LIST  comma-separated: lock, fsync, hog, slow-downstream,\n"
		   "                        fanout or sequential; all; none (default none)\n"
		   "  -d, --duration SEC    load duration (default 5)\n"
		   "  -c, --clients N       concurrent clients (default 8)\n"
		   "      --period MS       each client starts a request every MS (default 120)\n"
		   "      --items N         inventory lookups per checkout (default 4)\n"
		   "      --hog-cpu N       CPU the hog and payment share (default: the last one)\n"
		   "      --data DIR        where orders.db is written (default: a temporary\n"
		   "                        directory under /var/tmp, removed at the end)\n"
		   "      --truth FILE      append what was injected (pids, lock address, lock\n"
		   "                        holds, database path) to FILE, for tests\n"
		   "  -h, --help            this help\n");
}

static int parse_pathologies(const char *list, unsigned *out)
{
	char buf[256], *save = NULL;

	*out = 0;
	snprintf(buf, sizeof(buf), "%s", list);
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		size_t i;

		for (i = 0; i < sizeof(pathologies) / sizeof(pathologies[0]); i++)
			if (!strcmp(tok, pathologies[i].name))
				break;
		if (i == sizeof(pathologies) / sizeof(pathologies[0])) {
			fprintf(stderr,
				"ct-shop: unknown pathology '%s' (lock, fsync, hog, "
				"slow-downstream, fanout, sequential, all, none)\n",
				tok);
			return -1;
		}
		*out |= pathologies[i].bits;
	}
	if ((*out & SHOP_FANOUT) && (*out & SHOP_SEQUENTIAL)) {
		fprintf(stderr,
			"ct-shop: choose fanout (parallel lookups) or sequential, not both\n");
		return -1;
	}
	return 0;
}

static int bind_listen(uint16_t port, uint16_t *out)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 256) ||
	    getsockname(fd, (struct sockaddr *)&sa, &len)) {
		close(fd);
		return -1;
	}
	*out = ntohs(sa.sin_port);
	return fd;
}

/*
 * A listening socket on a free loopback port. The port is found first and then bound by
 * number, so that the bind(2) a tracer sees names the port (a bind to port 0 does not).
 */
static int listen_loopback(uint16_t *port)
{
	for (int attempt = 0; attempt < 20; attempt++) {
		int probe = bind_listen(0, port), fd;

		if (probe < 0)
			return -1;
		close(probe);
		fd = bind_listen(*port, port);
		if (fd >= 0)
			return fd;
	}
	return bind_listen(0, port);
}

static unsigned last_cpu(void)
{
	cpu_set_t set;
	unsigned last = 0;

	if (sched_getaffinity(0, sizeof(set), &set))
		return 0;
	for (unsigned i = 0; i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, &set))
			last = i;
	return last;
}

struct child {
	const char *name;
	pid_t pid;
};

static pid_t spawn(const char *name, void (*role)(int), int fd, const int *all_fds, int n_fds)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	if (fd < 0) {
		/* Not a service: it never reports ready. */
		close(shop.ready_fd);
		shop.ready_fd = -1;
	}
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	for (int i = 0; i < n_fds; i++)
		if (all_fds[i] != fd)
			close(all_fds[i]);
	(void)name;
	role(fd);
	_exit(1);
}

static void hog_role(int fd)
{
	(void)fd;
	shop_hog();
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"pathology", required_argument, NULL, 'p'},
		{"duration", required_argument, NULL, 'd'},
		{"clients", required_argument, NULL, 'c'},
		{"period", required_argument, NULL, 'P'},
		{"items", required_argument, NULL, 'i'},
		{"hog-cpu", required_argument, NULL, 'H'},
		{"data", required_argument, NULL, 'D'},
		{"truth", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct sigaction sa = {.sa_handler = on_signal};
	struct child kids[8];
	int fds[4], ready[2], n_kids = 0, c, status = 0, failed = 0, tmp_data = 0;
	pid_t load;
	char *end;

	shop.duration_s = 5;
	shop.clients = 8;
	shop.period_ms = 120;
	shop.items = 4;
	shop.hog_cpu = last_cpu();
	while ((c = getopt_long(argc, argv, "p:d:c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (parse_pathologies(optarg, &shop.pathologies))
				return 2;
			break;
		case 'd':
			shop.duration_s = strtod(optarg, &end);
			if (*end || shop.duration_s <= 0 || shop.duration_s > 3600) {
				fprintf(stderr, "ct-shop: --duration wants seconds (0 to 3600)\n");
				return 2;
			}
			break;
		case 'c':
		case 'P':
		case 'i':
		case 'H': {
			unsigned long v = strtoul(optarg, &end, 10);

			if (*end || ((c == 'c' || c == 'i') && (v < 1 || v > 16)) ||
			    (c == 'P' && (v < 1 || v > 10000)) || (c == 'H' && v >= CPU_SETSIZE)) {
				fprintf(stderr, "ct-shop: bad value '%s' for --%s\n", optarg,
					c == 'c'   ? "clients (1 to 16)"
					: c == 'P' ? "period (ms)"
					: c == 'i' ? "items (1 to 16)"
						   : "hog-cpu");
				return 2;
			}
			if (c == 'c')
				shop.clients = (unsigned)v;
			else if (c == 'P')
				shop.period_ms = (unsigned)v;
			else if (c == 'i')
				shop.items = (unsigned)v;
			else
				shop.hog_cpu = (unsigned)v;
			break;
		}
		case 'D':
			snprintf(shop.data_dir, sizeof(shop.data_dir), "%s", optarg);
			break;
		case 't':
			snprintf(shop.truth, sizeof(shop.truth), "%s", optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	if (!shop.data_dir[0]) {
		snprintf(shop.data_dir, sizeof(shop.data_dir), "/var/tmp/ct-shop-XXXXXX");
		if (!mkdtemp(shop.data_dir)) {
			fprintf(stderr,
				"ct-shop: cannot create a data directory under /var/tmp: %s "
				"(give one with --data DIR)\n",
				strerror(errno));
			return 1;
		}
		tmp_data = 1;
	} else if (mkdir(shop.data_dir, 0755) && errno != EEXIST) {
		fprintf(stderr, "ct-shop: cannot create data directory %s: %s\n", shop.data_dir,
			strerror(errno));
		return 1;
	}

	shop_work_calibrate();
	fds[0] = listen_loopback(&shop.port_frontend);
	fds[1] = listen_loopback(&shop.port_cart);
	fds[2] = listen_loopback(&shop.port_payment);
	fds[3] = listen_loopback(&shop.port_inventory);
	for (int i = 0; i < 4; i++)
		if (fds[i] < 0) {
			fprintf(stderr, "ct-shop: cannot listen on 127.0.0.1: %s\n",
				strerror(errno));
			return 1;
		}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (pipe(ready)) {
		fprintf(stderr, "ct-shop: pipe: %s\n", strerror(errno));
		return 1;
	}
	shop.ready_fd = ready[1];
	/* Each thread's first span allocates and touches its record ring: with the default
	 * 1 MiB that is milliseconds per thread, which would make the first requests the
	 * slowest for a reason that has nothing to do with the shop. */
	setenv("CROSSTRACE_RING_BYTES", "65536", 0);

	if (shop.pathologies & SHOP_HOG) {
		kids[n_kids].name = "hog";
		kids[n_kids++].pid = spawn("hog", hog_role, -1, fds, 4);
	}
	kids[n_kids].name = "inventory";
	kids[n_kids++].pid = spawn("inventory", shop_inventory, fds[3], fds, 4);
	kids[n_kids].name = "payment";
	kids[n_kids++].pid = spawn("payment", shop_payment, fds[2], fds, 4);
	kids[n_kids].name = "cart";
	kids[n_kids++].pid = spawn("cart", shop_cart, fds[1], fds, 4);
	kids[n_kids].name = "frontend";
	kids[n_kids++].pid = spawn("frontend", shop_frontend, fds[0], fds, 4);
	for (int i = 0; i < 4; i++)
		close(fds[i]);
	close(ready[1]);
	for (int i = 0; i < n_kids; i++)
		if (kids[i].pid < 0) {
			fprintf(stderr, "ct-shop: cannot start %s: %s\n", kids[i].name,
				strerror(errno));
			failed = 1;
		}
	/* The load starts once every service serves (a byte each). */
	for (int n = 0; !failed && n < 4;) {
		struct pollfd pfd = {.fd = ready[0], .events = POLLIN};
		char b;
		int r = poll(&pfd, 1, 10000);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || read(ready[0], &b, 1) != 1) {
			fprintf(stderr, "ct-shop: a service did not start within 10 s\n");
			failed = 1;
			break;
		}
		n++;
	}
	close(ready[0]);

	for (int i = 0; i < n_kids; i++)
		shop_truth("role %s %d", kids[i].name, (int)kids[i].pid);
	shop_truth("ports frontend %u cart %u payment %u inventory %u", shop.port_frontend,
		   shop.port_cart, shop.port_payment, shop.port_inventory);
	shop_truth("lock %p", (void *)&shop_stock_lock);
	shop_truth("db %s/orders.db", shop.data_dir);
	shop_truth("hog_cpu %u", shop.hog_cpu);
	shop_truth("pathologies %u", shop.pathologies);

	load = failed ? -1 : fork();
	if (load == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		_exit(shop_load());
	}
	while (load > 0) {
		int st;
		pid_t pid = waitpid(-1, &st, 0);

		if (pid < 0 && errno == EINTR) {
			if (interrupted)
				kill(load, SIGTERM);
			continue;
		}
		if (pid < 0)
			break;
		if (pid == load) {
			status = WIFEXITED(st) ? WEXITSTATUS(st) : 1;
			break;
		}
		/* A service died under load: stop the load, report it. */
		for (int i = 0; i < n_kids; i++)
			if (kids[i].pid == pid) {
				fprintf(stderr, "ct-shop: %s (pid %d) exited unexpectedly\n",
					kids[i].name, (int)pid);
				kids[i].pid = -1;
				failed = 1;
			}
		kill(load, SIGTERM);
	}
	/* Services flush their spans on SIGTERM; the hog just dies. */
	for (int i = 0; i < n_kids; i++)
		if (kids[i].pid > 0)
			kill(kids[i].pid, SIGTERM);
	for (int i = 0; i < n_kids; i++) {
		int st;

		if (kids[i].pid <= 0)
			continue;
		while (waitpid(kids[i].pid, &st, 0) < 0 && errno == EINTR)
			;
		if (strcmp(kids[i].name, "hog") && !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
			fprintf(stderr, "ct-shop: %s (pid %d) failed at exit\n", kids[i].name,
				(int)kids[i].pid);
			failed = 1;
		}
	}
	if (tmp_data) {
		char path[4200];

		snprintf(path, sizeof(path), "%s/orders.db", shop.data_dir);
		unlink(path);
		rmdir(shop.data_dir);
	}
	return failed ? 1 : status;
}
