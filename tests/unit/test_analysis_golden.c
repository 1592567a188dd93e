// SPDX-License-Identifier: MIT
/*
 * Golden cases for the analysis (tests/data/analysis-<case>/: events.txt + expected.json):
 * each case is analysed whole and its result checked against the hand-derived expectations,
 * the invariants (breakdowns and critical paths sum exactly), and then the same events cut
 * into 2, 7 and random pieces, reduced in every grouping, must give the same JSON bytes.
 * CT_GOLDEN_DUMP=1 prints each case's result.
 */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis.h"
#include "analysis/cutrun.h"
#include "analysis/evtext.h"
#include "golden_config.h"
#include "test.h"

/* The result as compact JSON text (caller frees). */
static char *run(const struct ct_evtext *t, const uint64_t *cuts, size_t n_cuts, enum ct_grouping g)
{
	struct ct_an_config cfg;
	struct ct_partial *p;
	struct ct_buf b;
	struct ct_jsonw w;
	char *out;

	golden_config(&cfg);
	if (ct_an_run(&cfg, t->ev, t->n, cuts, n_cuts, g, &p))
		return NULL;
	ct_buf_init(&b);
	ct_jsonw_init(&w, &b, 0);
	ct_result_json(p, &w, CT_OUT_ALL);
	ct_partial_free(p);
	out = ct_buf_steal(&b);
	ct_buf_fini(&b);
	return out;
}

/* ---- expectations: {"checks": [{"path": "a.b[key=val][0].c", "equals": X}, ...]} ---- */

static json_t *select_path(json_t *doc, const char *path, char *why, size_t whylen)
{
	char buf[512], *p = buf;
	json_t *cur = doc;

	snprintf(buf, sizeof(buf), "%s", path);
	while (*p && cur) {
		char *dot = p, *br;
		size_t n;

		while (*dot && *dot != '.' && *dot != '[')
			dot++;
		n = (size_t)(dot - p);
		if (n) {
			char key[128];

			snprintf(key, sizeof(key), "%.*s", (int)n, p);
			cur = json_object_get(cur, key);
			if (!cur) {
				snprintf(why, whylen, "no member '%s'", key);
				return NULL;
			}
		}
		p = dot;
		while (*p == '[') {
			br = strchr(p, ']');
			if (!br)
				return NULL;
			*br = 0;
			if (strchr(p + 1, '=')) {
				char *eq = strchr(p + 1, '=');
				size_t i;
				json_t *el, *found = NULL;

				*eq = 0;
				json_array_foreach(cur, i, el)
				{
					json_t *v = json_object_get(el, p + 1);
					char sv[64];

					if (json_is_string(v))
						snprintf(sv, sizeof(sv), "%s",
							 json_string_value(v));
					else if (json_is_integer(v))
						snprintf(sv, sizeof(sv), "%lld",
							 (long long)json_integer_value(v));
					else
						continue;
					if (!strcmp(sv, eq + 1)) {
						found = el;
						break;
					}
				}
				if (!found) {
					snprintf(why, whylen, "no element with %s=%s", p + 1,
						 eq + 1);
					return NULL;
				}
				cur = found;
			} else {
				cur = json_array_get(cur, (size_t)atoi(p + 1));
				if (!cur) {
					snprintf(why, whylen, "no element %s", p + 1);
					return NULL;
				}
			}
			p = br + 1;
		}
		if (*p == '.')
			p++;
	}
	return cur;
}

/* expected ⊆ actual: objects by listed members, arrays element-wise with equal length. */
static int subset(json_t *exp, json_t *act, char *why, size_t whylen)
{
	if (json_is_object(exp)) {
		const char *k;
		json_t *v;

		if (!json_is_object(act)) {
			snprintf(why, whylen, "expected an object");
			return 0;
		}
		json_object_foreach(exp, k, v)
		{
			json_t *a = json_object_get(act, k);

			if (!a) {
				snprintf(why, whylen, "missing member '%s'", k);
				return 0;
			}
			if (!subset(v, a, why, whylen)) {
				size_t l = strlen(why);

				snprintf(why + l, whylen - l, " (in '%s')", k);
				return 0;
			}
		}
		return 1;
	}
	if (json_is_array(exp)) {
		size_t i;
		json_t *v;

		if (!json_is_array(act) || json_array_size(act) != json_array_size(exp)) {
			snprintf(why, whylen, "array length %zu, expected %zu",
				 json_is_array(act) ? json_array_size(act) : 0,
				 json_array_size(exp));
			return 0;
		}
		json_array_foreach(exp, i, v)
		{
			if (!subset(v, json_array_get(act, i), why, whylen)) {
				size_t l = strlen(why);

				snprintf(why + l, whylen - l, " (at [%zu])", i);
				return 0;
			}
		}
		return 1;
	}
	if (json_is_real(exp) && json_is_number(act)) {
		if (fabs(json_number_value(exp) - json_number_value(act)) < 1e-9)
			return 1;
	} else if (json_equal(exp, act)) {
		return 1;
	}
	{
		char *e = json_dumps(exp, JSON_ENCODE_ANY), *a = json_dumps(act, JSON_ENCODE_ANY);

		snprintf(why, whylen, "got %s, expected %s", a ? a : "?", e ? e : "?");
		free(e);
		free(a);
	}
	return 0;
}

static void check_expected(const char *name, json_t *actual, json_t *expected)
{
	json_t *checks = json_object_get(expected, "checks"), *c;
	size_t i;

	CHECK(json_array_size(checks) > 0);
	json_array_foreach(checks, i, c)
	{
		const char *path = json_string_value(json_object_get(c, "path"));
		json_t *want = json_object_get(c, "equals"), *got;
		char why[1024] = "";

		got = path ? select_path(actual, path, why, sizeof(why)) : NULL;
		if (!got) {
			T_FAIL("%s: %s: %s", name, path ? path : "(no path)", why);
			continue;
		}
		if (!subset(want, got, why, sizeof(why)))
			T_FAIL("%s: %s: %s", name, path, why);
	}
}

/* Invariants every result must hold, whatever the case. */
static void check_invariants(const char *name, json_t *doc)
{
	json_t *spans = json_object_get(doc, "spans"), *s, *reqs = json_object_get(doc, "requests");
	size_t i;

	json_array_foreach(spans, i, s)
	{
		json_t *bd = json_object_get(s, "breakdown"), *v;
		const char *k;
		long long sum = 0, dur = json_integer_value(json_object_get(s, "duration_ns"));
		long long children = json_integer_value(json_object_get(bd, "children"));

		json_object_foreach(bd, k, v) sum += json_integer_value(v);
		if (sum != dur)
			T_FAIL("%s: span %s: breakdown sums to %lld, duration %lld", name,
			       json_string_value(json_object_get(s, "span_id")), sum, dur);
		if (json_integer_value(json_object_get(s, "own_ns")) != dur - children)
			T_FAIL("%s: span %s: own_ns is not duration - children", name,
			       json_string_value(json_object_get(s, "span_id")));
	}
	json_array_foreach(reqs, i, s)
	{
		json_t *cp = json_object_get(s, "critical_path"), *seg;
		long long dur = json_integer_value(json_object_get(s, "duration_ns"));
		long long at = json_integer_value(json_object_get(s, "start_ns")), sum = 0;
		size_t j;

		if (!json_is_object(cp))
			continue;
		json_array_foreach(json_object_get(cp, "segments"), j, seg)
		{
			long long st = json_integer_value(json_object_get(seg, "start_ns"));
			long long d = json_integer_value(json_object_get(seg, "duration_ns"));

			if (st != at)
				T_FAIL("%s: request %s: segment %zu starts at %lld, expected %lld",
				       name, json_string_value(json_object_get(s, "span_id")), j,
				       st, at);
			at = st + d;
			sum += d;
		}
		if (sum != dur)
			T_FAIL("%s: request %s: critical path sums to %lld, latency %lld", name,
			       json_string_value(json_object_get(s, "span_id")), sum, dur);
	}
}

/* Deterministic random numbers for the cuts (a failing seed can be replayed). */
static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* A cut between two events with different timestamps: (ev[i-1].ts, ev[i].ts]. */
static int cut_before(const struct ct_evtext *t, size_t i, uint64_t *cut)
{
	uint64_t a, b;

	if (i == 0 || i >= t->n || t->ev[i].ts == t->ev[i - 1].ts)
		return 0;
	a = t->ev[i - 1].ts;
	b = t->ev[i].ts;
	*cut = a + 1 + rnd() % (b - a);
	return 1;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static size_t make_cuts(const struct ct_evtext *t, size_t want, int random, uint64_t *cuts)
{
	size_t n = 0;

	for (size_t k = 1; k <= want * 4 && n < want; k++) {
		size_t i = random ? 1 + (size_t)(rnd() % (t->n > 1 ? t->n - 1 : 1))
				  : k * t->n / (want + 1);
		uint64_t c;
		int dup = 0;

		if (!cut_before(t, i, &c))
			continue;
		for (size_t j = 0; j < n; j++)
			dup |= cuts[j] == c;
		if (!dup)
			cuts[n++] = c;
	}
	qsort(cuts, n, sizeof(*cuts), cmp_u64);
	return n;
}

/* Cut sets per case: 2 pieces, 7 pieces, then random ones (each in 3 groupings). */
#define VARIANTS 40

static void check_stitching(const char *name, const struct ct_evtext *t, const char *whole)
{
	static const char *const gname[] = {"fold", "right", "tree"};
	uint64_t cuts[64];
	int trials = 0;

	for (int variant = 0; variant < VARIANTS; variant++) {
		size_t want = variant == 0 ? 1 : variant == 1 ? 6 : 1 + rnd() % 12;
		size_t n = make_cuts(t, want, variant >= 2, cuts);

		for (int g = 0; g < 3; g++) {
			char *got = run(t, cuts, n, (enum ct_grouping)g);

			trials++;
			if (!got || strcmp(got, whole)) {
				char c[512] = "";

				for (size_t i = 0; i < n; i++)
					snprintf(c + strlen(c), sizeof(c) - strlen(c), " %llu",
						 (unsigned long long)cuts[i]);
				T_FAIL("%s: %zu cuts (%s), %s grouping: result differs from the "
				       "whole trace's",
				       name, n, c, gname[g]);
				if (getenv("CT_GOLDEN_DUMP") && got)
					printf("--- cut result\n%s\n--- whole\n%s\n", got, whole);
				free(got);
				return;
			}
			free(got);
		}
	}
	CHECK(trials == VARIANTS * 3);
}

static void run_case(const char *dir, const char *name)
{
	char path[4096], err[256];
	struct ct_evtext t;
	size_t len;
	char *text, *exp_text, *whole;
	json_t *actual, *expected;
	json_error_t jerr;

	snprintf(path, sizeof(path), "%s/events.txt", dir);
	text = t_read_file(path, &len);
	if (!text) {
		T_FAIL("%s: cannot read %s", name, path);
		return;
	}
	if (ct_evtext_parse(&t, text, len, err, sizeof(err))) {
		T_FAIL("%s: events.txt: %s", name, err);
		free(text);
		return;
	}
	free(text);
	ct_evtext_sort(&t);
	whole = run(&t, NULL, 0, CT_GROUP_FOLD);
	CHECK(whole != NULL);
	if (!whole) {
		ct_evtext_fini(&t);
		return;
	}
	actual = json_loads(whole, 0, &jerr);
	CHECK(actual != NULL);
	if (getenv("CT_GOLDEN_DUMP")) {
		char *pretty = json_dumps(actual, JSON_INDENT(1));

		printf("=== %s\n%s\n", name, pretty);
		free(pretty);
	}
	snprintf(path, sizeof(path), "%s/expected.json", dir);
	exp_text = t_read_file(path, NULL);
	expected = exp_text ? json_loads(exp_text, 0, &jerr) : NULL;
	if (!expected)
		T_FAIL("%s: expected.json: %s", name, exp_text ? jerr.text : "missing");
	else
		check_expected(name, actual, expected);
	check_invariants(name, actual);
	check_stitching(name, &t, whole);
	json_decref(actual);
	json_decref(expected);
	free(exp_text);
	free(whole);
	ct_evtext_fini(&t);
}

TEST(golden_cases)
{
	const char *src = getenv("CT_SOURCE_DIR");
	char dir[4096];
	struct dirent **names = NULL;
	int n, cases = 0;

	snprintf(dir, sizeof(dir), "%s/tests/data", src ? src : ".");
	n = scandir(dir, &names, NULL, alphasort);
	CHECK(n > 0);
	for (int i = 0; i < n; i++) {
		char sub[4200];

		if (!strncmp(names[i]->d_name, "analysis-", 9)) {
			snprintf(sub, sizeof(sub), "%s/%s", dir, names[i]->d_name);
			run_case(sub, names[i]->d_name);
			cases++;
		}
		free(names[i]);
	}
	free(names);
	CHECK(cases >= 1);
}

int main(void)
{
	if (getenv("CT_GOLDEN_SEED"))
		rng_state = strtoull(getenv("CT_GOLDEN_SEED"), NULL, 0) | 1;
	RUN(golden_cases);
	return test_main_end();
}
