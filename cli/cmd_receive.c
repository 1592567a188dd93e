// SPDX-License-Identifier: MIT
/*
 * `crosstrace receive`: a small span receiver for tests and trials, built from net/: OTLP/HTTP
 * and Zipkin listeners, received spans written as JSON lines and/or into a trace directory's
 * foreign stream, and optionally forwarded to an OTLP/HTTP endpoint. `crosstrace agent`
 * (kernel capture + annotation) is assembled from the same parts.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/command.h"
#include "crosstrace/crosstrace.h"
#include "format/tracedir.h"
#include "net/foreign_stream.h"
#include "net/http_receiver.h"
#include "net/otlp_exporter.h"
#include "net/span_dump.h"
#include "util/clock.h"

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

struct recv_state {
	pthread_mutex_t mu; /* guards the JSON file */
	FILE *json;
	struct ct_foreign *foreign;
	struct ct_otlp_exporter *exporter;
};

static int sink(void *arg, struct ct_nbatch *b)
{
	struct recv_state *st = arg;
	struct ct_span_ev_clock clk;
	int err;

	/* The trace directory first: when its buffer is full the client is told to send the
	 * batch again, so nothing else may have seen it yet. */
	if (st->foreign) {
		clk.offset_ns = ct_clock_offset_ns(&clk.uncertainty_ns);
		err = ct_foreign_add(st->foreign, b, &clk);
		if (err == CT_EFULL || err == -ENOMEM) {
			ct_nbatch_free(b);
			return CT_EFULL;
		}
	}
	if (st->json) {
		struct ct_buf out;

		ct_buf_init(&out);
		for (uint32_t i = 0; i < b->n_spans; i++)
			ct_span_dump_json(&out, b, &b->spans[i]);
		pthread_mutex_lock(&st->mu);
		if (out.len)
			fwrite(out.data, 1, out.len, st->json);
		fflush(st->json);
		pthread_mutex_unlock(&st->mu);
		ct_buf_fini(&out);
	}
	if (st->exporter)
		ct_otlp_exporter_submit(st->exporter, b, NULL,
					0); /* a full queue counts its drops */
	ct_nbatch_free(b);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: crosstrace receive [options]\n"
		"Receives spans over OTLP/HTTP (POST /v1/traces) and Zipkin v2 (POST "
		"/api/v2/spans)\n"
		"until SIGINT/SIGTERM.\n\n"
		"  --bind ADDR          IPv4 address to listen on (default 127.0.0.1)\n"
		"  --otlp-port N        OTLP/HTTP port (default 4318; 0 = any free; -1 = off)\n"
		"  --zipkin-port N      Zipkin port (default 9411; 0 = any free; -1 = off)\n"
		"  --ports-file FILE    write the bound ports there (\"otlp N\\nzipkin N\\n\")\n"
		"  --spans-json FILE    append each received span as a JSON line (- = stdout)\n"
		"  --out DIR            write received spans as events into a new trace directory\n"
		"  --rotate-ms N        rotate its chunks every N ms (default: never)\n"
		"  --export URL         forward spans to an OTLP/HTTP endpoint (.../v1/traces)\n"
		"  --max-body BYTES     largest request body accepted (default 4194304)\n"
		"  --body-timeout-ms N  a request body must arrive within N ms (default 10000)\n"
		"  --idle-timeout-s N   close connections silent for N s (default 15)\n");
}

static int write_ports(const char *path, int otlp, int zipkin)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	fprintf(f, "otlp %d\nzipkin %d\n", otlp, zipkin);
	if (fclose(f))
		return -errno;
	/* Atomic: a test polling for the file never reads half of it. */
	return rename(tmp, path) ? -errno : 0;
}

static int cmd_receive(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"bind", required_argument, NULL, 'b'},
		{"otlp-port", required_argument, NULL, 'o'},
		{"zipkin-port", required_argument, NULL, 'z'},
		{"ports-file", required_argument, NULL, 'p'},
		{"spans-json", required_argument, NULL, 'j'},
		{"out", required_argument, NULL, 'O'},
		{"rotate-ms", required_argument, NULL, 'r'},
		{"export", required_argument, NULL, 'e'},
		{"max-body", required_argument, NULL, 'm'},
		{"body-timeout-ms", required_argument, NULL, 't'},
		{"idle-timeout-s", required_argument, NULL, 'i'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct ct_receiver_opts ro = {.otlp_port = 4318, .zipkin_port = 9411};
	struct recv_state st = {.mu = PTHREAD_MUTEX_INITIALIZER};
	const char *ports_file = NULL, *json_path = NULL, *out_dir = NULL, *export_url = NULL;
	uint64_t rotate_ms = 0;
	struct ct_tracedir *td = NULL;
	struct ct_receiver *rcv = NULL;
	struct ct_receiver_stats rs;
	struct sigaction sa;
	char err[512];
	int c, rc = 1, e;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'b':
			ro.bind = optarg;
			break;
		case 'o':
			ro.otlp_port = atoi(optarg);
			break;
		case 'z':
			ro.zipkin_port = atoi(optarg);
			break;
		case 'p':
			ports_file = optarg;
			break;
		case 'j':
			json_path = optarg;
			break;
		case 'O':
			out_dir = optarg;
			break;
		case 'r':
			rotate_ms = strtoull(optarg, NULL, 10);
			break;
		case 'e':
			export_url = optarg;
			break;
		case 'm':
			ro.max_body = strtoull(optarg, NULL, 10);
			break;
		case 't':
			ro.body_timeout_ms = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'i':
			ro.idle_timeout_s = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (json_path) {
		st.json = strcmp(json_path, "-") ? fopen(json_path, "a") : stdout;
		if (!st.json) {
			fprintf(stderr, "crosstrace receive: cannot open %s: %s\n", json_path,
				strerror(errno));
			return 1;
		}
	}
	if (out_dir) {
		struct ct_tracedir_opts to = {.path = out_dir,
					      .rotate_ns = rotate_ms * 1000000,
					      .tool = "crosstrace receive"};
		struct ct_foreign_opts fo = {0};

		e = ct_tracedir_create(&td, &to, err, sizeof(err));
		if (e) {
			fprintf(stderr, "crosstrace receive: %s\n", err);
			goto out;
		}
		fo.td = td;
		e = ct_foreign_new(&st.foreign, &fo);
		if (e) {
			fprintf(stderr,
				"crosstrace receive: cannot create the foreign stream: %s\n",
				ct_strerror(e));
			goto out;
		}
	}
	if (export_url) {
		struct ct_otlp_exporter_opts eo = {.endpoint = export_url};

		e = ct_otlp_exporter_new(&st.exporter, &eo, err, sizeof(err));
		if (e) {
			fprintf(stderr, "crosstrace receive: %s\n", err);
			goto out;
		}
	}
	ro.sink = sink;
	ro.sink_arg = &st;
	e = ct_receiver_start(&rcv, &ro, err, sizeof(err));
	if (e) {
		fprintf(stderr, "crosstrace receive: %s\n", err);
		goto out;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	fprintf(stderr, "crosstrace receive: OTLP/HTTP on port %d, Zipkin on port %d\n",
		ct_receiver_otlp_port(rcv), ct_receiver_zipkin_port(rcv));
	if (ports_file) {
		e = write_ports(ports_file, ct_receiver_otlp_port(rcv),
				ct_receiver_zipkin_port(rcv));
		if (e) {
			fprintf(stderr, "crosstrace receive: cannot write %s: %s\n", ports_file,
				ct_strerror(e));
			goto out;
		}
	}
	while (!stop_flag) {
		struct timespec ts = {0, 100 * 1000000};

		nanosleep(&ts, NULL);
		if (st.foreign)
			ct_foreign_tick(st.foreign, ct_mono_ns());
	}
	rc = 0;
out:
	if (rcv) {
		ct_receiver_stats(rcv, &rs);
		ct_receiver_stop(rcv); /* no sink call runs after this */
		fprintf(stderr,
			"crosstrace receive: %" PRIu64 " requests, %" PRIu64 " spans, %" PRIu64
			" rejected spans, %" PRIu64 " malformed, %" PRIu64 " too large, %" PRIu64
			" wrong type, %" PRIu64 " too slow, %" PRIu64 " abandoned\n",
			rs.requests, rs.spans, rs.rejected_spans, rs.malformed, rs.too_large,
			rs.bad_type, rs.too_slow, rs.aborted);
	}
	if (st.exporter) {
		struct ct_otlp_exporter_stats es;

		ct_otlp_exporter_flush(st.exporter, 5000);
		ct_otlp_exporter_stats(st.exporter, &es);
		fprintf(stderr,
			"crosstrace receive: exported %" PRIu64 " spans, dropped %" PRIu64
			" (queue full %" PRIu64 ", failed %" PRIu64 ")\n",
			es.exported, es.dropped_queue_full + es.dropped_failed,
			es.dropped_queue_full, es.dropped_failed);
		ct_otlp_exporter_free(st.exporter);
	}
	if (st.foreign) {
		struct ct_foreign_stats fs;

		ct_foreign_flush(st.foreign);
		ct_foreign_stats(st.foreign, &fs);
		fprintf(stderr,
			"crosstrace receive: %" PRIu64 " events written to %s, %" PRIu64
			" late, %" PRIu64 " overflow\n",
			fs.events_written, out_dir, fs.late, fs.overflow);
		ct_foreign_free(st.foreign);
	}
	if (td && ct_tracedir_close(td, rc ? "failed" : "complete") && !rc)
		rc = 1;
	if (st.json && st.json != stdout)
		fclose(st.json);
	return rc;
}

CT_COMMAND(receive, "receive spans over OTLP/HTTP and Zipkin (test receiver)", cmd_receive)
