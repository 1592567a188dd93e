// SPDX-License-Identifier: MIT
/*
 * The processes the agent's kernel tests watch:
 *
 *   agent_workload loop [NAME]     names itself NAME (prctl), then writes a byte to /dev/null
 *                                  every 2 ms until killed: steady kernel activity
 *   agent_workload spans FILE N [NAME]
 *                                  names itself NAME, waits for a line on stdin (the test's
 *                                  go, once the agent traces it), then makes N root spans with
 *                                  libcrosstrace (CROSSTRACE_OUTPUT from the environment), each
 *                                  current on this thread while it reads FILE and spins 3 ms;
 *                                  prints "SPAN <span id hex>" per span and exits after
 *                                  ct_shutdown (everything sent)
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "crosstrace/crosstrace.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int loop(void)
{
	int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	struct timespec nap = {0, 2000000};

	for (;;) {
		if (write(fd, "x", 1) != 1)
			return 1;
		nanosleep(&nap, NULL);
	}
}

static int spans(const char *file, int n)
{
	char line[16], buf[4096];

	if (!fgets(line, sizeof(line), stdin))
		return 1;
	if (ct_init(NULL)) {
		fprintf(stderr, "agent_workload: ct_init failed\n");
		return 1;
	}
	for (int i = 0; i < n; i++) {
		struct ct_span_opts o = {.kind = CT_SPAN_KIND_SERVER, .root = 1};
		struct ct_span s;
		const struct ct_span_context *c;
		uint64_t until;
		int fd;

		ct_span_start(&s, "native-op", &o);
		ct_span_set_int(&s, "op.index", i);
		ct_scope_enter(&s);
		fd = open(file, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			while (read(fd, buf, sizeof(buf)) > 0)
				;
			close(fd);
		}
		until = now_ns() + 3000000;
		while (now_ns() < until)
			;
		ct_scope_exit();
		ct_span_end(&s);
		c = ct_span_context_of(&s);
		printf("SPAN ");
		for (int k = 0; k < 8; k++)
			printf("%02x", c->span_id[k]);
		printf("\n");
	}
	fflush(stdout);
	return ct_shutdown() ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "loop")) {
		if (argc > 2)
			prctl(PR_SET_NAME, argv[2]);
		return loop();
	}
	if (argc >= 4 && !strcmp(argv[1], "spans")) {
		if (argc > 4)
			prctl(PR_SET_NAME, argv[4]);
		return spans(argv[2], atoi(argv[3]));
	}
	fprintf(stderr, "usage: agent_workload loop [NAME] | spans FILE N [NAME]\n");
	return 2;
}
