// SPDX-License-Identifier: MIT
/*
 * The agent's configuration: defaults, every kind of value (durations, sizes, ports,
 * booleans, lists), the config file syntax (comments, quotes, blank lines) with errors naming
 * the file and line, and the checks across options.
 */
#include <errno.h>

#include "agent/config.h"
#include "test.h"

static struct ct_agent_config c;
static char err[512];

TEST(defaults)
{
	ct_agent_config_defaults(&c);
	CHECK_INT(c.otlp_port, 4318);
	CHECK_INT(c.zipkin_port, 9411);
	CHECK_INT(c.health_port, 13133);
	CHECK_STR(c.bind, "127.0.0.1");
	CHECK_INT(c.capture, 1);
	CHECK_INT(c.annotate, 1);
	CHECK_U64(c.threshold_ns, 100000000ull);
	CHECK_U64(c.span_delay_ns, 6000000000ull);
	CHECK_U64(c.rotate_ns, 10000000000ull);
}

TEST(values)
{
	ct_agent_config_defaults(&c);
	CHECK_INT(ct_agent_config_set(&c, "rotate-time", "250ms", err, sizeof(err)), 0);
	CHECK_U64(c.rotate_ns, 250000000ull);
	CHECK_INT(ct_agent_config_set(&c, "flight-recorder", "1.5m", err, sizeof(err)), 0);
	CHECK_U64(c.flight_ns, 90000000000ull);
	CHECK_INT(ct_agent_config_set(&c, "max-bytes", "1.5G", err, sizeof(err)), 0);
	CHECK_U64(c.max_bytes, 1610612736ull);
	CHECK_INT(ct_agent_config_set(&c, "max-body", "64KiB", err, sizeof(err)), 0);
	CHECK_U64(c.max_body, 65536);
	CHECK_INT(ct_agent_config_set(&c, "otlp-port", "-1", err, sizeof(err)), 0);
	CHECK_INT(c.otlp_port, -1);
	CHECK_INT(ct_agent_config_set(&c, "zipkin-port", "0", err, sizeof(err)), 0);
	CHECK_INT(c.zipkin_port, 0);
	CHECK_INT(ct_agent_config_set(&c, "watch-all", "yes", err, sizeof(err)), 0);
	CHECK_INT(c.watch_all, 1);
	CHECK_INT(ct_agent_config_set(&c, "capture", "OFF", err, sizeof(err)), 0);
	CHECK_INT(c.capture, 0);
	CHECK_INT(ct_agent_config_set(&c, "backend", "perf", err, sizeof(err)), 0);
	CHECK_STR(c.backend, "perf");
	/* Lists grow. */
	CHECK_INT(ct_agent_config_set(&c, "watch-pid", "12", err, sizeof(err)), 0);
	CHECK_INT(ct_agent_config_set(&c, "watch-pid", "34", err, sizeof(err)), 0);
	CHECK_INT(c.n_watch_pid, 2);
	CHECK_INT(c.watch_pid[1], 34);
	CHECK_INT(ct_agent_config_set(&c, "watch-comm", "node", err, sizeof(err)), 0);
	CHECK_STR(c.watch_comm[0], "node");
	CHECK_INT(ct_agent_config_set(&c, "watch-cgroup", "/sys/fs/cgroup/a", err, sizeof(err)), 0);
	CHECK_STR(c.watch_cgroup[0], "/sys/fs/cgroup/a");
	CHECK(ct_agent_config_is_flag("watch-all"));
	CHECK(!ct_agent_config_is_flag("watch-pid"));
	CHECK(!ct_agent_config_is_flag("nope"));
}

TEST(bad_values)
{
	ct_agent_config_defaults(&c);
	CHECK_INT(ct_agent_config_set(&c, "rotate-time", "soon", err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "invalid rotate-time 'soon'") && strstr(err, "duration"));
	CHECK_INT(ct_agent_config_set(&c, "rotate-time", "-1s", err, sizeof(err)), -EINVAL);
	CHECK_INT(ct_agent_config_set(&c, "max-bytes", "12X", err, sizeof(err)), -EINVAL);
	CHECK_INT(ct_agent_config_set(&c, "otlp-port", "65536", err, sizeof(err)), -EINVAL);
	CHECK_INT(ct_agent_config_set(&c, "otlp-port", "-2", err, sizeof(err)), -EINVAL);
	CHECK_INT(ct_agent_config_set(&c, "capture", "maybe", err, sizeof(err)), -EINVAL);
	CHECK_INT(ct_agent_config_set(&c, "backend", "ebpf", err, sizeof(err)), -EINVAL);
	CHECK_INT(ct_agent_config_set(&c, "watch-pid", "0", err, sizeof(err)), -EINVAL);
	/* The kernel keeps 15 bytes of a command name: a longer one could never match. */
	CHECK_INT(ct_agent_config_set(&c, "watch-comm", "a-very-long-name", err, sizeof(err)),
		  -EINVAL);
	CHECK_INT(ct_agent_config_set(&c, "no-such", "1", err, sizeof(err)), -ENOENT);
	CHECK(strstr(err, "unknown option 'no-such'"));
	for (int i = 0; i < CT_AGENT_MAX_WATCH; i++)
		CHECK_INT(ct_agent_config_set(&c, "watch-pid", "7", err, sizeof(err)), 0);
	CHECK_INT(ct_agent_config_set(&c, "watch-pid", "7", err, sizeof(err)), -E2BIG);
	/* A value that does not fit is refused, not cut. */
	{
		char big[300];

		memset(big, 'x', sizeof(big) - 1);
		big[sizeof(big) - 1] = 0;
		CHECK_INT(ct_agent_config_set(&c, "socket", big, err, sizeof(err)), -EINVAL);
	}
}

TEST(file_syntax)
{
	static const char text[] = "# comment\n"
				   "\n"
				   "  otlp-port = 0   # trailing comment\n"
				   "output = \"/data/my trace # not a comment\"\n"
				   "watch-comm=node\n"
				   "watch-comm = python3\n"
				   "\tthreshold\t=\t250ms\n";

	ct_agent_config_defaults(&c);
	CHECK_INT(ct_agent_config_parse(&c, "a.conf", text, sizeof(text) - 1, err, sizeof(err)), 0);
	CHECK_INT(c.otlp_port, 0);
	CHECK_STR(c.output, "/data/my trace # not a comment");
	CHECK_INT(c.n_watch_comm, 2);
	CHECK_STR(c.watch_comm[1], "python3");
	CHECK_U64(c.threshold_ns, 250000000ull);
}

TEST(file_errors)
{
	static const char no_eq[] = "otlp-port = 1\nwatch-all\n";
	static const char bad_quote[] = "\n\noutput = \"abc\n";
	static const char trailing[] = "output = \"abc\" extra\n";
	static const char nul[] = "otlp-port = 1\n\0\n";
	static const char unknown[] = "otlp-port = 1\nzipkin = 3\n";

	ct_agent_config_defaults(&c);
	CHECK_INT(ct_agent_config_parse(&c, "x.conf", no_eq, sizeof(no_eq) - 1, err, sizeof(err)),
		  -EINVAL);
	CHECK(strstr(err, "x.conf:2: expected 'key = value'"));
	CHECK_INT(ct_agent_config_parse(&c, "x.conf", bad_quote, sizeof(bad_quote) - 1, err,
					sizeof(err)),
		  -EINVAL);
	CHECK(strstr(err, "x.conf:3: quoted value for output not terminated"));
	CHECK_INT(ct_agent_config_parse(&c, "x.conf", trailing, sizeof(trailing) - 1, err,
					sizeof(err)),
		  -EINVAL);
	CHECK_INT(ct_agent_config_parse(&c, "x.conf", nul, sizeof(nul) - 1, err, sizeof(err)),
		  -EINVAL);
	CHECK(strstr(err, "x.conf:2: NUL byte"));
	CHECK_INT(
		ct_agent_config_parse(&c, "x.conf", unknown, sizeof(unknown) - 1, err, sizeof(err)),
		-ENOENT);
	CHECK(strstr(err, "x.conf:2: unknown option 'zipkin'"));
	{
		char *big = malloc(5000);

		memset(big, ' ', 5000);
		CHECK_INT(ct_agent_config_parse(&c, "x.conf", big, 5000, err, sizeof(err)),
			  -EINVAL);
		CHECK(strstr(err, "x.conf:1: line too long"));
		free(big);
	}
	CHECK_INT(ct_agent_config_load(&c, "/nonexistent/agent.conf", err, sizeof(err)), -ENOENT);
	CHECK(strstr(err, "cannot read config file /nonexistent/agent.conf"));
}

TEST(checks)
{
	ct_agent_config_defaults(&c);
	CHECK_INT(ct_agent_config_check(&c, err, sizeof(err)), 0);
	/* Retention without rotation. */
	c.rotate_ns = 0;
	c.max_chunks = 3;
	CHECK_INT(ct_agent_config_check(&c, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "need rotation"));
	/* A grace longer than three chunks would be cut short by the trace directory. */
	ct_agent_config_defaults(&c);
	c.rotate_ns = 200000000ull;
	c.grace_ns = 1000000000ull;
	CHECK_INT(ct_agent_config_check(&c, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "grace"));
	ct_agent_config_defaults(&c);
	c.flight_ns = 500000000ull; /* shorter than a 1 s chunk */
	CHECK_INT(ct_agent_config_check(&c, err, sizeof(err)), -EINVAL);
	ct_agent_config_defaults(&c);
	c.capture = 0;
	c.watch_all = 1;
	CHECK_INT(ct_agent_config_check(&c, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "kernel capture"));
	ct_agent_config_defaults(&c);
	snprintf(c.export_url, sizeof(c.export_url), "ftp://x");
	CHECK_INT(ct_agent_config_check(&c, err, sizeof(err)), -EINVAL);
	ct_agent_config_defaults(&c);
	c.zipkin_port = 4318;
	CHECK_INT(ct_agent_config_check(&c, err, sizeof(err)), -EINVAL);
}

TEST(keys_and_help)
{
	const char *const *k = ct_agent_config_keys();
	int n = 0, found = 0;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	for (; k[n]; n++)
		found += !strcmp(k[n], "flight-recorder") || !strcmp(k[n], "export");
	CHECK(n > 40);
	CHECK_INT(found, 2);
	ct_agent_config_help(f);
	fclose(f);
	/* Every option is documented in --help. */
	for (int i = 0; i < n; i++) {
		char want[64];

		snprintf(want, sizeof(want), "--%s ", k[i]);
		if (!strstr(text, want))
			T_FAIL("option %s missing from the help", k[i]);
	}
	free(text);
}

int main(void)
{
	RUN(defaults);
	RUN(values);
	RUN(bad_values);
	RUN(file_syntax);
	RUN(file_errors);
	RUN(checks);
	RUN(keys_and_help);
	return test_main_end();
}
