// SPDX-License-Identifier: MIT
/*
 * Exports of analysed golden cases (written as real trace directories, so chunk clock
 * offsets are real): OTLP JSON checked against the OTLP JSON mapping (hex ids, decimal-string
 * nanoseconds, integer enums) and, with node and protobufjs, against the OTLP .proto schema;
 * Jaeger JSON for the fields Jaeger UI reads; Chrome trace JSON structurally (slices per
 * thread never overlap, every flow arrow has both ends, async spans are balanced).
 */
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "analysis/analysis.h"
#include "analysis/driver.h"
#include "analysis/evtext.h"
#include "analysis/mktrace.h"
#include "test.h"

static char tmpdir[256];

/* Analyses tests/data/<name> written as a trace dir with two chunks; returns the result. */
static struct ct_partial *analyse_case(const char *name, int keep_history)
{
	const char *src = getenv("CT_SOURCE_DIR");
	char path[4096], tdir[600], err[512];
	struct ct_an_driver_opts o = {0};
	struct ct_partial *p = NULL;
	struct ct_evtext t;
	uint64_t cut;
	size_t len;
	char *text;

	snprintf(path, sizeof(path), "%s/tests/data/%s/events.txt", src ? src : ".", name);
	text = t_read_file(path, &len);
	if (!text || ct_evtext_parse(&t, text, len, err, sizeof(err))) {
		free(text);
		return NULL;
	}
	free(text);
	ct_evtext_sort(&t);
	cut = t.ev[t.n / 2].ts;
	snprintf(tdir, sizeof(tdir), "%s/%s-%d", tmpdir, name, keep_history);
	if (ct_mktrace_write(&t, tdir, &cut, 1, err, sizeof(err))) {
		ct_evtext_fini(&t);
		return NULL;
	}
	ct_evtext_fini(&t);
	o.dir = tdir;
	o.jobs = 2;
	o.cfg.keep_spans = 1;
	o.cfg.keep_history = keep_history;
	o.cfg.detail_all = 1;
	if (ct_an_analyse_dir(&o, &p, err, sizeof(err)))
		return NULL;
	return p;
}

static int is_hex(const char *s, size_t n)
{
	int nonzero = 0;

	if (!s || strlen(s) != n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
			return 0;
		nonzero |= s[i] != '0';
	}
	return nonzero;
}

static int is_decimal(const char *s)
{
	if (!s || !*s)
		return 0;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return 0;
	return 1;
}

static void check_anyvalue(json_t *v, const char *where)
{
	const char *k;
	json_t *x;
	int n = 0;

	json_object_foreach(v, k, x)
	{
		n++;
		if (!strcmp(k, "stringValue"))
			CHECK(json_is_string(x));
		else if (!strcmp(k, "intValue"))
			CHECK(json_is_string(x) && (is_decimal(json_string_value(x)) ||
						    (json_string_value(x)[0] == '-' &&
						     is_decimal(json_string_value(x) + 1))));
		else if (!strcmp(k, "doubleValue"))
			CHECK(json_is_number(x));
		else if (!strcmp(k, "boolValue"))
			CHECK(json_is_boolean(x));
		else
			T_FAIL("%s: AnyValue member '%s' not in the OTLP JSON mapping", where, k);
	}
	if (n != 1)
		T_FAIL("%s: AnyValue with %d members", where, n);
}

static void check_attrs(json_t *attrs, const char *where)
{
	size_t i;
	json_t *a;

	CHECK(json_is_array(attrs));
	json_array_foreach(attrs, i, a)
	{
		CHECK(json_is_string(json_object_get(a, "key")));
		check_anyvalue(json_object_get(a, "value"), where);
	}
}

static uint64_t u64s(json_t *v)
{
	return strtoull(json_string_value(v) ? json_string_value(v) : "0", NULL, 10);
}

TEST(otlp_json_follows_the_mapping)
{
	struct ct_partial *p = analyse_case("analysis-downstream", 0);
	struct ct_buf b;
	json_t *doc, *rs, *r, *ss, *s;
	json_error_t jerr;
	size_t i, j, k;
	int spans = 0, syscalls = 0, annotated = 0;
	uint64_t now = (uint64_t)time(NULL) * 1000000000ull;

	CHECK(p != NULL);
	if (!p)
		return;
	ct_buf_init(&b);
	ct_export_otlp_json(p, &b);
	doc = json_loads(b.data, 0, &jerr);
	CHECK(doc != NULL);
	rs = json_object_get(doc, "resourceSpans");
	CHECK(json_array_size(rs) == 2); /* frontend and payment */
	json_array_foreach(rs, i, r)
	{
		check_attrs(json_object_get(json_object_get(r, "resource"), "attributes"),
			    "resource");
		json_array_foreach(json_object_get(r, "scopeSpans"), j, ss)
		{
			CHECK(json_is_string(
				json_object_get(json_object_get(ss, "scope"), "name")));
			json_array_foreach(json_object_get(ss, "spans"), k, s)
			{
				json_t *parent = json_object_get(s, "parentSpanId"), *a;
				uint64_t st = u64s(json_object_get(s, "startTimeUnixNano"));
				uint64_t en = u64s(json_object_get(s, "endTimeUnixNano"));
				const char *name = json_string_value(json_object_get(s, "name"));
				size_t m;

				spans++;
				CHECK(is_hex(json_string_value(json_object_get(s, "traceId")), 32));
				CHECK(is_hex(json_string_value(json_object_get(s, "spanId")), 16));
				CHECK(!parent || is_hex(json_string_value(parent), 16));
				CHECK(is_decimal(json_string_value(
					json_object_get(s, "startTimeUnixNano"))));
				CHECK(is_decimal(
					json_string_value(json_object_get(s, "endTimeUnixNano"))));
				CHECK(en >= st);
				/* Wall clock: within a day of now. */
				CHECK(st > now - 86400000000000ull && st < now + 86400000000000ull);
				CHECK(json_is_integer(json_object_get(s, "kind")));
				CHECK(!json_object_get(s, "status") ||
				      json_is_integer(json_object_get(json_object_get(s, "status"),
								      "code")));
				check_attrs(json_object_get(s, "attributes"), name ? name : "span");
				json_array_foreach(json_object_get(s, "events"), m, a)
				{
					CHECK(is_decimal(json_string_value(
						json_object_get(a, "timeUnixNano"))));
					check_attrs(json_object_get(a, "attributes"), "event");
				}
				if (name && !strncmp(name, "syscall ", 8))
					syscalls++;
				json_array_foreach(json_object_get(s, "attributes"), m, a)
					annotated +=
					!strcmp(json_string_value(json_object_get(a, "key")),
						"crosstrace.time.blocked_network_ns");
				/* The client span: 150 us, exactly, and its top cause named. */
				if (!strcmp(json_string_value(json_object_get(s, "spanId")),
					    "00000000000000c1")) {
					CHECK_U64(en - st, 150000);
					json_array_foreach(json_object_get(s, "attributes"), m, a) if (
						!strcmp(json_string_value(
								json_object_get(a, "key")),
							"crosstrace.cause.1"))
						CHECK_STR(json_string_value(json_object_get(
								  json_object_get(a, "value"),
								  "stringValue")),
							  "81% blocked-network: blocked in "
							  "recvfrom(tcp 127.0.0.1:8082)");
				}
			}
		}
	}
	CHECK_INT(spans - syscalls, 3);
	CHECK_INT(syscalls,
		  8); /* socket; connect, sendto, recvfrom, close; read, nanosleep, sendto */
	CHECK_INT(annotated, 3);
	/* The real schema: protobufjs with the OTLP .proto files, when node can load them. */
	{
		const char *src = getenv("CT_SOURCE_DIR");
		char file[600], cmd[8192], modules[4200];
		struct stat sb;
		FILE *f;
		int rc;

		snprintf(file, sizeof(file), "%s/otlp.json", tmpdir);
		f = fopen(file, "wb");
		CHECK(f && fwrite(b.data, 1, b.len, f) == b.len);
		if (f)
			fclose(f);
		snprintf(modules, sizeof(modules), "%s/tests/e2e/node/node_modules/protobufjs",
			 src ? src : ".");
		if (stat(modules, &sb) || system("node --version >/dev/null 2>&1")) {
			if (getenv("CI") && !strcmp(getenv("CI"), "true"))
				T_FAIL("node or protobufjs missing (run scripts/install-deps.sh)");
			else
				fprintf(stderr,
					"SKIP protobufjs schema check: node or %s missing\n",
					modules);
		} else {
			/* OTLP JSON differs from protobuf JSON in its ids (hex, not base64):
			 * convert them, then decode with the real schema and re-encode. */
			snprintf(cmd, sizeof(cmd),
				 "cd %s/tests/e2e/node && node -e '"
				 "const pb=require(\"protobufjs\");const fs=require(\"fs\");"
				 "const root=new pb.Root();root.resolvePath=(o,t)=>\"%s/proto/\"+t;"
				 "root.loadSync(\"opentelemetry/proto/collector/trace/v1/"
				 "trace_service.proto\");"
				 "const T=root.lookupType(\"opentelemetry.proto.collector.trace.v1."
				 "ExportTraceServiceRequest\");"
				 "const d=JSON.parse(fs.readFileSync(\"%s\"));let n=0;"
				 "const fix=o=>{if(Array.isArray(o))return o.forEach(fix);"
				 "if(o&&typeof o===\"object\")for(const k of Object.keys(o)){"
				 "if(/^(traceId|spanId|parentSpanId)$/.test(k)){"
				 "o[k]=Buffer.from(o[k],\"hex\").toString(\"base64\");n++}else "
				 "fix(o[k])}};"
				 "fix(d);const err=T.verify(T.fromObject(d));if(err)throw new "
				 "Error(err);"
				 "const m=T.decode(T.encode(T.fromObject(d)).finish());"
				 "const "
				 "spans=m.resourceSpans.flatMap(r=>r.scopeSpans.flatMap(s=>s.spans)"
				 ");"
				 "if(spans.length!==%d)throw new Error(\"spans \"+spans.length);"
				 "if(spans.some(s=>s.traceId.length!==16||s.spanId.length!==8))"
				 "throw new Error(\"id lengths\");console.log(\"otlp schema ok\", "
				 "n)'",
				 src ? src : ".", src ? src : ".", file, spans);
			rc = system(cmd);
			CHECK(WIFEXITED(rc) && WEXITSTATUS(rc) == 0);
		}
	}
	json_decref(doc);
	ct_buf_fini(&b);
	ct_partial_free(p);
}

TEST(jaeger_json_has_what_the_ui_reads)
{
	struct ct_partial *p = analyse_case("analysis-fanout", 0);
	struct ct_buf b;
	json_t *doc, *tr, *s;
	json_error_t jerr;
	size_t i, j;
	int traces = 0, spans = 0;

	CHECK(p != NULL);
	if (!p)
		return;
	ct_buf_init(&b);
	ct_export_jaeger_json(p, &b);
	doc = json_loads(b.data, 0, &jerr);
	CHECK(doc != NULL);
	json_array_foreach(json_object_get(doc, "data"), i, tr)
	{
		json_t *procs = json_object_get(tr, "processes");

		traces++;
		CHECK(is_hex(json_string_value(json_object_get(tr, "traceID")), 32));
		CHECK(json_is_object(procs));
		json_array_foreach(json_object_get(tr, "spans"), j, s)
		{
			const char *pid = json_string_value(json_object_get(s, "processID"));
			json_t *ref;
			size_t k;

			spans++;
			CHECK(!strcmp(json_string_value(json_object_get(s, "traceID")),
				      json_string_value(json_object_get(tr, "traceID"))));
			CHECK(is_hex(json_string_value(json_object_get(s, "spanID")), 16));
			CHECK(json_is_string(json_object_get(s, "operationName")));
			CHECK(json_is_integer(json_object_get(s, "startTime")));
			CHECK(json_is_integer(json_object_get(s, "duration")));
			CHECK(json_is_array(json_object_get(s, "tags")));
			CHECK(json_is_array(json_object_get(s, "logs")));
			CHECK(pid && json_is_string(json_object_get(json_object_get(procs, pid),
								    "serviceName")));
			json_array_foreach(json_object_get(s, "references"), k, ref)
			{
				const char *rt = json_string_value(json_object_get(ref, "refType"));

				CHECK(rt &&
				      (!strcmp(rt, "CHILD_OF") || !strcmp(rt, "FOLLOWS_FROM")));
				CHECK(is_hex(json_string_value(json_object_get(ref, "spanID")),
					     16));
			}
		}
	}
	CHECK_INT(traces, 2);
	CHECK(spans > 10);
	json_decref(doc);
	ct_buf_fini(&b);
	ct_partial_free(p);
}

struct slice {
	double ts, dur;
	long pid, tid;
};

static int cmp_slice(const void *a, const void *b)
{
	const struct slice *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	return x->ts < y->ts ? -1 : x->ts > y->ts;
}

TEST(chrome_json_is_well_formed)
{
	struct ct_partial *p = analyse_case("analysis-lock", 1);
	struct ct_buf b;
	json_t *doc, *e;
	json_error_t jerr;
	size_t i, n;
	struct slice *sl;
	size_t n_sl = 0;
	long flows_s = 0, flows_f = 0, begins = 0, ends = 0, meta = 0;

	CHECK(p != NULL);
	if (!p)
		return;
	ct_buf_init(&b);
	ct_export_chrome_json(p, &b);
	doc = json_loads(b.data, 0, &jerr);
	CHECK(doc != NULL);
	n = json_array_size(json_object_get(doc, "traceEvents"));
	sl = calloc(n + 1, sizeof(*sl));
	json_array_foreach(json_object_get(doc, "traceEvents"), i, e)
	{
		const char *ph = json_string_value(json_object_get(e, "ph"));

		CHECK(ph != NULL);
		if (!ph)
			continue;
		CHECK(json_is_integer(json_object_get(e, "pid")));
		if (!strcmp(ph, "M")) {
			meta++;
			continue;
		}
		CHECK(json_is_number(json_object_get(e, "ts")));
		if (!strcmp(ph, "X")) {
			CHECK(json_is_number(json_object_get(e, "dur")));
			CHECK(json_number_value(json_object_get(e, "dur")) > 0);
			sl[n_sl++] =
				(struct slice){json_number_value(json_object_get(e, "ts")),
					       json_number_value(json_object_get(e, "dur")),
					       (long)json_integer_value(json_object_get(e, "pid")),
					       (long)json_integer_value(json_object_get(e, "tid"))};
		} else if (!strcmp(ph, "s")) {
			flows_s++;
		} else if (!strcmp(ph, "f")) {
			flows_f++;
			CHECK_STR(json_string_value(json_object_get(e, "bp")), "e");
		} else if (!strcmp(ph, "b")) {
			begins++;
		} else if (!strcmp(ph, "e")) {
			ends++;
		} else {
			T_FAIL("unexpected phase '%s'", ph);
		}
	}
	/* States of one thread are a partition: no two slices of a track overlap. */
	qsort(sl, n_sl, sizeof(*sl), cmp_slice);
	for (size_t k = 1; k < n_sl; k++)
		if (sl[k].pid == sl[k - 1].pid && sl[k].tid == sl[k - 1].tid &&
		    sl[k - 1].ts + sl[k - 1].dur > sl[k].ts + 1e-6)
			T_FAIL("overlapping slices on track %ld/%ld at %f", sl[k].pid, sl[k].tid,
			       sl[k].ts);
	CHECK(n_sl > 10);
	CHECK(meta >= 3); /* process and thread names */
	CHECK(flows_s == 1 && flows_f == 1); /* worker-1 wakes worker-2 */
	CHECK(begins == 2 && ends == 2);
	free(sl);
	json_decref(doc);
	ct_buf_fini(&b);
	ct_partial_free(p);
}

int main(void)
{
	char cmd[400];
	int rc;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ct-analysis-export-XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(otlp_json_follows_the_mapping);
	RUN(jaeger_json_has_what_the_ui_reads);
	RUN(chrome_json_is_well_formed);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	rc = system(cmd);
	(void)rc;
	return test_main_end();
}
