// SPDX-License-Identifier: MIT
/*
 * W3C Trace Context Level 1 conformance of traceparent/tracestate parsing, formatting and
 * mutation, and of inject/extract through a carrier. Cases come from the Recommendation
 * (https://www.w3.org/TR/trace-context/, section numbers cited per group) and from the W3C
 * test suite (w3c/trace-context test/test.py). Also checks, under seccomp strict mode, that
 * the propagation and sampling calls make no system call at all.
 */
#include <errno.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crosstrace/crosstrace.h"
#include "test.h"

#define TID "12345678901234567890123456789012"
#define PID "1234567890123456"
#define SPEC_TP "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

static int parse_str(const char *s, struct ct_span_context *out)
{
	return ct_traceparent_parse(s, strlen(s), out);
}

/* Accepts s and checks the ids it carries against independently decoded hex. */
static void expect_tp(const char *s, const char *tid_hex, const char *pid_hex, int flags)
{
	struct ct_span_context c;
	char hex[33];
	int err = parse_str(s, &c);

	if (err) {
		T_FAIL("traceparent \"%s\" rejected (%d), expected valid", s, err);
		return;
	}
	for (int i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", c.trace_id[i]);
	CHECK_STR(hex, tid_hex);
	for (int i = 0; i < 8; i++)
		snprintf(hex + 2 * i, 3, "%02x", c.span_id[i]);
	CHECK_STR(hex, pid_hex);
	CHECK_INT(c.trace_flags, flags);
	CHECK_INT(c.is_remote, 1);
}

/* Rejects s and leaves the output untouched. */
static void reject_tp(const char *s, size_t len)
{
	struct ct_span_context c, before;
	int err;

	memset(&c, 0xa5, sizeof(c));
	before = c;
	err = ct_traceparent_parse(s, len, &c);
	if (err != CT_EFORMAT)
		T_FAIL("traceparent \"%.*s\" gave %d, expected CT_EFORMAT", (int)len, s ? s : "",
		       err);
	CHECK(!memcmp(&c, &before, sizeof(c)));
}

#define REJECT(s) reject_tp(s, strlen(s))

/* 3.2.3 examples, 3.2.2.5 flags as a bit field. */
TEST(traceparent_valid)
{
	expect_tp(SPEC_TP, "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", 1);
	expect_tp("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",
		  "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", 0);
	/* 3.2.2.5: "01" and "09" both carry sampled; unknown bits are not kept (3.2.2.5.2). */
	expect_tp("00-" TID "-" PID "-09", TID, PID, 1);
	expect_tp("00-" TID "-" PID "-ff", TID, PID, 1);
	expect_tp("00-" TID "-" PID "-fe", TID, PID, 0);
	/* Not NUL-terminated: only len bytes count. */
	{
		char b[64];
		struct ct_span_context c;

		memcpy(b, SPEC_TP "XYZ", sizeof(SPEC_TP "XYZ"));
		CHECK_INT(ct_traceparent_parse(b, CT_TRACEPARENT_LEN, &c), 0);
	}
}

/* Test suite test_traceparent_ows_handling: surrounding OWS of the field is not the value. */
TEST(traceparent_ows)
{
	expect_tp(" 00-" TID "-" PID "-01", TID, PID, 1);
	expect_tp("\t00-" TID "-" PID "-01", TID, PID, 1);
	expect_tp("00-" TID "-" PID "-01 ", TID, PID, 1);
	expect_tp("00-" TID "-" PID "-01\t", TID, PID, 1);
	expect_tp("\t 00-" TID "-" PID "-01 \t", TID, PID, 1);
	REJECT("00-" TID " -" PID "-01");
	REJECT("00 -" TID "-" PID "-01");
}

/* 3.2.2.1 version (ff forbidden) and 3.2.4 versioning: future versions parse as 00. */
TEST(traceparent_versions)
{
	REJECT("ff-" TID "-" PID "-01");
	REJECT("ff-" TID "-" PID "-01-extra");
	/* test_traceparent_version_0x00: version 00 has exactly four fields. */
	REJECT("00-" TID "-" PID "-01.");
	REJECT("00-" TID "-" PID "-01-what-the-future-will-be-like");
	REJECT("00-" TID "-" PID "-01-");
	/* test_traceparent_version_0xcc: a higher version with and without extra fields. */
	expect_tp("cc-" TID "-" PID "-01", TID, PID, 1);
	expect_tp("cc-" TID "-" PID "-01-what-the-future-will-be-like", TID, PID, 1);
	expect_tp("01-" TID "-" PID "-00-", TID, PID, 0);
	expect_tp("fe-" TID "-" PID "-03-x-y-z", TID, PID, 1);
	REJECT("cc-" TID "-" PID "-01.what-the-future-will-be-like");
	REJECT("cc-" TID "-" PID "-011");
	/* 3.2.4: shorter than 55 characters is never parsed, whatever the version. */
	REJECT("cc-" TID "-" PID "-0");
	REJECT("cc-" TID "-" PID);
	/* test_traceparent_version_illegal_characters / too_long / too_short. */
	REJECT(".0-" TID "-" PID "-01");
	REJECT("0.-" TID "-" PID "-01");
	REJECT("000-" TID "-" PID "-01");
	REJECT("0000-" TID "-" PID "-01");
	REJECT("0-" TID "-" PID "-01");
	/* HEXDIGLC: upper-case version. */
	REJECT("0A-" TID "-" PID "-01");
	REJECT("CC-" TID "-" PID "-01");
}

/* 3.2.2.3 trace-id and 3.2.2.4 parent-id: 32/16 HEXDIGLC, all zeroes forbidden. */
TEST(traceparent_ids)
{
	REJECT("00-00000000000000000000000000000000-" PID "-01");
	REJECT("00-" TID "-0000000000000000-01");
	REJECT("cc-00000000000000000000000000000000-" PID "-01");
	REJECT("00-.2345678901234567890123456789012-" PID "-01");
	REJECT("00-1234567890123456789012345678901.-" PID "-01");
	REJECT("00-123456789012345678901234567890123-" PID "-01");
	REJECT("00-1234567890123456789012345678901-" PID "-01");
	REJECT("00-" TID "-.234567890123456-01");
	REJECT("00-" TID "-123456789012345.-01");
	REJECT("00-" TID "-12345678901234567-01");
	REJECT("00-" TID "-123456789012345-01");
	/* Upper-case hex is not HEXDIGLC, in either id. */
	REJECT("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01");
	REJECT("00-4bf92f3577b34da6a3ce929d0e0e473A-00f067aa0ba902b7-01");
	REJECT("00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01");
	REJECT("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902bF-01");
	/* Non-hex letters and bytes. */
	REJECT("00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01");
	REJECT("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902bz-01");
	REJECT("00-4bf92f3577b34da6 3ce929d0e0e4736-00f067aa0ba902b7-01");
	reject_tp("00-4bf92f3577b34da6\0003ce929d0e0e4736-00f067aa0ba902b7-01", 55);
	/* A single non-zero nibble anywhere makes an id valid. */
	expect_tp("00-00000000000000000000000000000001-0000000000000001-01",
		  "00000000000000000000000000000001", "0000000000000001", 1);
	expect_tp("00-80000000000000000000000000000000-8000000000000000-00",
		  "80000000000000000000000000000000", "8000000000000000", 0);
}

/* 3.2.2.5 trace-flags (test_traceparent_trace_flags_*) and 3.2.2 separators. */
TEST(traceparent_flags_and_separators)
{
	REJECT("00-" TID "-" PID "-.0");
	REJECT("00-" TID "-" PID "-0.");
	REJECT("00-" TID "-" PID "-001");
	REJECT("00-" TID "-" PID "-1");
	REJECT("00-" TID "-" PID "-0F");
	REJECT("00-" TID "-" PID "-");
	REJECT("00_" TID "-" PID "-01");
	REJECT("00-" TID "_" PID "-01");
	REJECT("00-" TID "-" PID "_01");
	REJECT("00" TID "-" PID "-01x");
	REJECT("00-" TID PID "-01--");
	REJECT("00--" TID "-" PID "-1");
	REJECT("");
	REJECT("   ");
	reject_tp(NULL, 0);
	/* One character short or long, at every position. */
	for (size_t cut = 0; cut < CT_TRACEPARENT_LEN; cut++) {
		static const char tp[] = SPEC_TP;
		char b[64];

		memcpy(b, tp, cut);
		memcpy(b + cut, tp + cut + 1, CT_TRACEPARENT_LEN - cut);
		reject_tp(b, CT_TRACEPARENT_LEN - 1);
		memcpy(b, tp, cut);
		b[cut] = '0';
		memcpy(b + cut + 1, tp + cut, CT_TRACEPARENT_LEN - cut + 1);
		reject_tp(b, CT_TRACEPARENT_LEN + 1);
	}
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* 3.4: what we send is version 00 built from the parsed fields, known flags only. */
TEST(traceparent_format_roundtrip)
{
	struct ct_span_context c = {0}, d;
	char buf[CT_TRACEPARENT_LEN + 1];

	CHECK_INT(parse_str(SPEC_TP, &c), 0);
	CHECK_INT(ct_traceparent_format(&c, buf, sizeof(buf)), CT_TRACEPARENT_LEN);
	CHECK_STR(buf, SPEC_TP);
	/* Downgrade of a future version: extra fields dropped, version 00. */
	CHECK_INT(parse_str("cc-" TID "-" PID "-09-future", &c), 0);
	CHECK_INT(ct_traceparent_format(&c, buf, sizeof(buf)), CT_TRACEPARENT_LEN);
	CHECK_STR(buf, "00-" TID "-" PID "-01");
	/* Unknown flags are sent as zero even when set in memory. */
	c.trace_flags = 0xfe;
	CHECK_INT(ct_traceparent_format(&c, buf, sizeof(buf)), CT_TRACEPARENT_LEN);
	CHECK_STR(buf, "00-" TID "-" PID "-00");
	/* Errors: too small a buffer, invalid contexts. */
	CHECK_INT(ct_traceparent_format(&c, buf, CT_TRACEPARENT_LEN), CT_ETOOBIG);
	memset(&d, 0, sizeof(d));
	CHECK_INT(ct_traceparent_format(&d, buf, sizeof(buf)), -EINVAL);
	d.trace_id[15] = 1;
	CHECK_INT(ct_traceparent_format(&d, buf, sizeof(buf)), -EINVAL);
	CHECK_INT(ct_traceparent_format(NULL, buf, sizeof(buf)), -EINVAL);
	CHECK(!ct_span_context_is_valid(&d));
	CHECK(!ct_span_context_is_valid(NULL));
	d.span_id[0] = 0x80;
	CHECK(ct_span_context_is_valid(&d));
	/* Random contexts survive format -> parse exactly (flags masked to sampled). */
	for (int i = 0; i < 20000; i++) {
		uint64_t a = rng(), b = rng(), s = rng();

		memcpy(c.trace_id, &a, 8);
		memcpy(c.trace_id + 8, &b, 8);
		memcpy(c.span_id, &s, 8);
		c.trace_flags = (uint8_t)rng();
		c.is_remote = 0;
		if (!ct_span_context_is_valid(&c))
			continue;
		if (ct_traceparent_format(&c, buf, sizeof(buf)) != CT_TRACEPARENT_LEN ||
		    parse_str(buf, &d)) {
			T_FAIL("round trip of %s failed", buf);
			break;
		}
		if (memcmp(c.trace_id, d.trace_id, 16) || memcmp(c.span_id, d.span_id, 8) ||
		    d.trace_flags != (c.trace_flags & 1) || !d.is_remote) {
			T_FAIL("round trip of %s changed the context", buf);
			break;
		}
	}
}

/* ---- tracestate ---- */

static int ts_parse(const char *s, struct ct_tracestate *ts)
{
	return ct_tracestate_parse(s, strlen(s), ts);
}

static const char *ts_str(const struct ct_tracestate *ts)
{
	static char buf[1100];

	if (ct_tracestate_format(ts, buf, sizeof(buf)) < 0)
		return "(format failed)";
	return buf;
}

static void accept_ts(const char *s, const char *canonical)
{
	struct ct_tracestate ts;
	int err = ts_parse(s, &ts);

	if (err) {
		T_FAIL("tracestate \"%s\" rejected (%d), expected valid", s, err);
		return;
	}
	CHECK_STR(ts_str(&ts), canonical);
}

static void reject_ts(const char *s)
{
	struct ct_tracestate ts;
	int err;

	ct_tracestate_init(&ts);
	ct_tracestate_set(&ts, "pre", "existing");
	err = ts_parse(s, &ts);
	if (err != CT_EFORMAT)
		T_FAIL("tracestate \"%s\" gave %d, expected CT_EFORMAT", s, err);
	CHECK_INT(ct_tracestate_count(&ts), 0);
	CHECK(ct_tracestate_get(&ts, "pre") == NULL);
}

/* 3.3.2 examples and 3.3.1.2 list: members kept in order; 3.1's vendor example. */
TEST(tracestate_examples)
{
	struct ct_tracestate ts;
	const char *k, *v;

	CHECK_INT(ts_parse("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE", &ts), 0);
	CHECK_INT(ct_tracestate_count(&ts), 2);
	CHECK_INT(ct_tracestate_member(&ts, 0, &k, &v), 0);
	CHECK_STR(k, "rojo");
	CHECK_STR(v, "00f067aa0ba902b7");
	CHECK_INT(ct_tracestate_member(&ts, 1, &k, &v), 0);
	CHECK_STR(k, "congo");
	CHECK_STR(v, "t61rcWkgMzE");
	CHECK_INT(ct_tracestate_member(&ts, 2, &k, &v), -ERANGE);
	CHECK_STR(ct_tracestate_get(&ts, "congo"), "t61rcWkgMzE");
	CHECK(ct_tracestate_get(&ts, "cong") == NULL);
	CHECK(ct_tracestate_get(&ts, "congo2") == NULL);
	accept_ts("rojo=00f067aa0ba902b7", "rojo=00f067aa0ba902b7");
	accept_ts("vendorname1=opaqueValue1,vendorname2=opaqueValue2",
		  "vendorname1=opaqueValue1,vendorname2=opaqueValue2");
	accept_ts("fw529a3039@dt=1", "fw529a3039@dt=1");
}

/* 3.3.1.1: OWS around members ignored; empty and whitespace-only members allowed. */
TEST(tracestate_ows_and_empty)
{
	accept_ts("foo=1 \t , \t bar=2, \t baz=3", "foo=1,bar=2,baz=3");
	accept_ts("foo=1\t \t,\t \tbar=2,\t \tbaz=3", "foo=1,bar=2,baz=3");
	accept_ts(" foo=1", "foo=1");
	accept_ts("\tfoo=1", "foo=1");
	accept_ts("foo=1 ", "foo=1");
	accept_ts("foo=1\t", "foo=1");
	accept_ts("\t foo=1 \t", "foo=1");
	accept_ts("", "");
	accept_ts("   ", "");
	accept_ts(",", "");
	accept_ts(",,, \t ,", "");
	accept_ts("foo=1,,bar=2", "foo=1,bar=2");
	accept_ts(",foo=1,", "foo=1");
	accept_ts("foo=1, ,\t,bar=2", "foo=1,bar=2");
	/* 3.3.1.3.2: a value's leading spaces are part of it; trailing ones are OWS. */
	accept_ts("foo= 1", "foo= 1");
	accept_ts("foo=  a b  ", "foo=  a b");
	{
		struct ct_tracestate ts;

		CHECK_INT(ct_tracestate_parse(NULL, 0, &ts), 0);
		CHECK_INT(ct_tracestate_count(&ts), 0);
	}
}

/* 3.3.1.3.1 key grammar; test_tracestate_key_illegal_characters / _vendor_format. */
TEST(tracestate_keys)
{
	char key[600], hdr[700];

	reject_ts("foo =1");
	reject_ts("FOO=1");
	reject_ts("fOo=1");
	reject_ts("foo.bar=1");
	reject_ts("foo:bar=1");
	reject_ts("foo bar=1");
	reject_ts("=1");
	reject_ts("foo");
	reject_ts("foo=1,bar");
	reject_ts("1foo=1"); /* a simple-key starts with lcalpha */
	reject_ts("_foo=1");
	reject_ts("-foo=1");
	reject_ts("f\xc3\xa9=1");
	/* Multi-tenant forms. */
	reject_ts("foo@=1,bar=2");
	reject_ts("@foo=1,bar=2");
	reject_ts("foo@@bar=1,bar=2");
	reject_ts("foo@bar@baz=1,bar=2");
	reject_ts("foo@1bar=1"); /* system-id starts with lcalpha */
	reject_ts("foo@BAR=1");
	reject_ts("Foo@bar=1");
	reject_ts("_foo@bar=1"); /* tenant-id starts with lcalpha or DIGIT */
	accept_ts("1foo@bar=1", "1foo@bar=1");
	accept_ts("foo@b-1_*/=1", "foo@b-1_*/=1");
	/* Every allowed key character (test_tracestate_all_allowed_characters). */
	accept_ts("abcdefghijklmnopqrstuvwxyz0123456789_-*/=v",
		  "abcdefghijklmnopqrstuvwxyz0123456789_-*/=v");
	accept_ts("abcdefghijklmnopqrstuvwxyz0123456789_-*/@a-z0-9_-*/=v",
		  "abcdefghijklmnopqrstuvwxyz0123456789_-*/@a-z0-9_-*/=v");
	/* Lengths (test_tracestate_key_length_limit): simple 256, tenant 241, system 14. */
	memset(key, 'z', 256);
	snprintf(hdr, sizeof(hdr), "foo=1,%.256s=1", key);
	accept_ts(hdr, hdr);
	memset(key, 'z', 257);
	snprintf(hdr, sizeof(hdr), "foo=1,%.257s=1", key);
	reject_ts(hdr);
	memset(key, 't', 241);
	snprintf(hdr, sizeof(hdr), "foo=1,%.241s@vvvvvvvvvvvvvv=1", key);
	accept_ts(hdr, hdr);
	memset(key, 't', 242);
	snprintf(hdr, sizeof(hdr), "foo=1,%.242s@v=1", key);
	reject_ts(hdr);
	reject_ts("foo=1,t@vvvvvvvvvvvvvvv=1");
	accept_ts("foo=1,t@vvvvvvvvvvvvvv=1", "foo=1,t@vvvvvvvvvvvvvv=1");
}

/* 3.3.1.3.2 value grammar; test_tracestate_value_illegal_characters. */
TEST(tracestate_values)
{
	char v[300], hdr[400];
	size_t n = 0;

	reject_ts("foo=bar=baz");
	reject_ts("foo=,bar=3");
	reject_ts("foo=");
	reject_ts("foo= ");
	reject_ts("foo=a\tb");
	reject_ts("foo=a\nb");
	reject_ts("foo=a\x7f");
	reject_ts("foo=\x01");
	reject_ts("foo=caf\xc3\xa9");
	/* All allowed value characters: 0x20-0x2B, 0x2D-0x3C, 0x3E-0x7E (leading space kept). */
	for (int c = 0x20; c <= 0x7e; c++)
		if (c != ',' && c != '=')
			v[n++] = (char)c;
	v[n] = '\0';
	snprintf(hdr, sizeof(hdr), "key=%s", v);
	accept_ts(hdr, hdr);
	{
		struct ct_tracestate ts;

		CHECK_INT(ts_parse(hdr, &ts), 0);
		CHECK_STR(ct_tracestate_get(&ts, "key"), v);
	}
	/* Up to 256 characters. */
	memset(v, 'x', 257);
	snprintf(hdr, sizeof(hdr), "k=%.256s", v);
	accept_ts(hdr, hdr);
	snprintf(hdr, sizeof(hdr), "k=%.257s", v);
	reject_ts(hdr);
	/* 256 characters followed by trailing OWS is still 256 characters. */
	snprintf(hdr, sizeof(hdr), "k=%.256s   ", v);
	{
		struct ct_tracestate ts;

		CHECK_INT(ts_parse(hdr, &ts), 0);
		CHECK_INT(strlen(ct_tracestate_get(&ts, "k")), 256);
	}
}

/* 3.3.1.2 at most 32 members (test_tracestate_member_count_limit); 3.3.1.4 one per key. */
TEST(tracestate_count_and_duplicates)
{
	char hdr[512];
	size_t o = 0;
	struct ct_tracestate ts;

	for (int i = 1; i <= 32; i++)
		o += (size_t)snprintf(hdr + o, sizeof(hdr) - o, "%sbar%02d=%02d", i > 1 ? "," : "",
				      i, i);
	CHECK_INT(ts_parse(hdr, &ts), 0);
	CHECK_INT(ct_tracestate_count(&ts), 32);
	CHECK_STR(ct_tracestate_get(&ts, "bar01"), "01");
	CHECK_STR(ct_tracestate_get(&ts, "bar32"), "32");
	/* Empty members do not count towards the 32. */
	snprintf(hdr + o, sizeof(hdr) - o, ",,  ,");
	CHECK_INT(ts_parse(hdr, &ts), 0);
	CHECK_INT(ct_tracestate_count(&ts), 32);
	snprintf(hdr + o, sizeof(hdr) - o, ",bar33=33");
	reject_ts(hdr);
	reject_ts("foo=1,foo=1");
	reject_ts("foo=1,foo=2");
	reject_ts("foo=1,bar=2,foo=3");
	reject_ts("t@s=1,t@s=2");
	accept_ts("t@s=1,t@s2=2,t2@s=3,s=4", "t@s=1,t@s2=2,t2@s=3,s=4");
}

/* 3.5 mutation: update/add move to the front (the 3.1 Congo/Rojo walk-through), delete. */
TEST(tracestate_mutation)
{
	struct ct_tracestate ts;
	char before[1100];

	ct_tracestate_init(&ts);
	CHECK_INT(ct_tracestate_set(&ts, "congo", "t61rcWkgMzE"), 0);
	CHECK_STR(ts_str(&ts), "congo=t61rcWkgMzE");
	CHECK_INT(ct_tracestate_set(&ts, "rojo", "00f067aa0ba902b7"), 0);
	CHECK_STR(ts_str(&ts), "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
	CHECK_INT(ct_tracestate_set(&ts, "congo", "ucfJifl5GOE"), 0);
	CHECK_STR(ts_str(&ts), "congo=ucfJifl5GOE,rojo=00f067aa0ba902b7");
	CHECK_INT(ct_tracestate_count(&ts), 2);
	/* Setting the front key again keeps it in front, with the new value. */
	CHECK_INT(ct_tracestate_set(&ts, "congo", "x"), 0);
	CHECK_STR(ts_str(&ts), "congo=x,rojo=00f067aa0ba902b7");
	CHECK_INT(ct_tracestate_set(&ts, "a@b", "1"), 0);
	CHECK_STR(ts_str(&ts), "a@b=1,congo=x,rojo=00f067aa0ba902b7");
	/* Delete keeps the others' order. */
	CHECK_INT(ct_tracestate_delete(&ts, "congo"), 0);
	CHECK_STR(ts_str(&ts), "a@b=1,rojo=00f067aa0ba902b7");
	CHECK_INT(ct_tracestate_delete(&ts, "congo"), -ENOENT);
	CHECK_INT(ct_tracestate_delete(&ts, "a@b"), 0);
	CHECK_INT(ct_tracestate_delete(&ts, "rojo"), 0);
	CHECK_INT(ct_tracestate_count(&ts), 0);
	CHECK_STR(ts_str(&ts), "");
	/* Invalid keys or values leave ts unchanged. */
	CHECK_INT(ts_parse("foo=1,bar=2", &ts), 0);
	snprintf(before, sizeof(before), "%s", ts_str(&ts));
	CHECK_INT(ct_tracestate_set(&ts, "Foo", "1"), CT_EFORMAT);
	CHECK_INT(ct_tracestate_set(&ts, "foo", ""), CT_EFORMAT);
	CHECK_INT(ct_tracestate_set(&ts, "foo", "a "), CT_EFORMAT);
	CHECK_INT(ct_tracestate_set(&ts, "foo", "a,b"), CT_EFORMAT);
	CHECK_INT(ct_tracestate_set(&ts, "foo", "a=b"), CT_EFORMAT);
	CHECK_INT(ct_tracestate_set(&ts, "", "1"), CT_EFORMAT);
	CHECK_INT(ct_tracestate_set(&ts, "x@", "1"), CT_EFORMAT);
	CHECK_INT(ct_tracestate_set(&ts, NULL, "1"), CT_EFORMAT);
	CHECK_STR(ts_str(&ts), before);
	/* The result of any mutation re-parses to the same list. */
	{
		struct ct_tracestate again;
		char s[1100];

		CHECK_INT(ct_tracestate_set(&ts, "baz", " lead"), 0);
		snprintf(s, sizeof(s), "%s", ts_str(&ts));
		CHECK_STR(s, "baz= lead,foo=1,bar=2");
		CHECK_INT(ts_parse(s, &again), 0);
		CHECK_STR(ts_str(&again), s);
	}
}

/* 3.5 + 3.3.1.2: adding a 33rd key drops the last (oldest) member. */
TEST(tracestate_cap_32)
{
	struct ct_tracestate ts;
	const char *k;
	char key[16];

	ct_tracestate_init(&ts);
	for (int i = 1; i <= 32; i++) {
		snprintf(key, sizeof(key), "k%02d", i);
		CHECK_INT(ct_tracestate_set(&ts, key, "v"), 0);
	}
	/* Front is the most recent: k32 ... k01. */
	CHECK_INT(ct_tracestate_count(&ts), 32);
	CHECK_INT(ct_tracestate_member(&ts, 31, &k, NULL), 0);
	CHECK_STR(k, "k01");
	CHECK_INT(ct_tracestate_set(&ts, "new", "1"), 0);
	CHECK_INT(ct_tracestate_count(&ts), 32);
	CHECK_INT(ct_tracestate_member(&ts, 0, &k, NULL), 0);
	CHECK_STR(k, "new");
	CHECK_INT(ct_tracestate_member(&ts, 31, &k, NULL), 0);
	CHECK_STR(k, "k02");
	CHECK(ct_tracestate_get(&ts, "k01") == NULL);
	/* Updating an existing key at the cap removes nothing. */
	CHECK_INT(ct_tracestate_set(&ts, "k02", "2"), 0);
	CHECK_INT(ct_tracestate_count(&ts), 32);
	CHECK_INT(ct_tracestate_member(&ts, 0, &k, NULL), 0);
	CHECK_STR(k, "k02");
	CHECK_STR(ct_tracestate_get(&ts, "k03"), "v");
}

/* 3.3.1.5 limits: at least 512 characters kept; truncation by whole entries, long first. */
TEST(tracestate_truncation)
{
	char hdr[8192], big[301];
	size_t o = 0;
	struct ct_tracestate ts;
	const char *k;
	int r;

	/* A header of exactly 512 characters survives untouched. */
	memset(big, 'v', sizeof(big) - 1);
	big[300] = '\0';
	o = (size_t)snprintf(hdr, sizeof(hdr), "aa=%.250s,bb=%.250s,cc=", big, big);
	while (o < 512)
		hdr[o++] = 'x';
	hdr[o] = '\0';
	CHECK_INT(strlen(hdr), 512);
	CHECK_INT(ts_parse(hdr, &ts), 0);
	CHECK_STR(ts_str(&ts), hdr);
	/*
	 * s01..s10 short, l1..l6 of 254 characters interleaved: six long entries need 6 * 256
	 * bytes of storage, so the long ones go first, from the end (l6, l5, l4), and every
	 * short one stays, in order.
	 */
	o = 0;
	for (int i = 1; i <= 10; i++) {
		o += (size_t)snprintf(hdr + o, sizeof(hdr) - o, "%ss%02d=x", o ? "," : "", i);
		if (i <= 6)
			o += (size_t)snprintf(hdr + o, sizeof(hdr) - o, ",l%d=%.251s", i, big);
	}
	CHECK_INT(ts_parse(hdr, &ts), 0);
	CHECK_INT(ct_tracestate_count(&ts), 13);
	CHECK(ct_tracestate_get(&ts, "l3") != NULL);
	CHECK(ct_tracestate_get(&ts, "l4") == NULL);
	CHECK(ct_tracestate_get(&ts, "l5") == NULL);
	CHECK(ct_tracestate_get(&ts, "l6") == NULL);
	CHECK_INT(ct_tracestate_member(&ts, 0, &k, NULL), 0);
	CHECK_STR(k, "s01");
	CHECK_INT(ct_tracestate_member(&ts, 12, &k, NULL), 0);
	CHECK_STR(k, "s10");
	/* Entries of at most 128 characters are removed from the end. */
	o = 0;
	for (int i = 1; i <= 32; i++)
		o += (size_t)snprintf(hdr + o, sizeof(hdr) - o, "%sk%02d=%.120s", o ? "," : "", i,
				      big);
	CHECK_INT(ts_parse(hdr, &ts), 0);
	/* Each member stores 3 + 120 + 2 = 125 bytes: 8 fit in 1024. */
	CHECK_INT(ct_tracestate_count(&ts), 8);
	CHECK_INT(ct_tracestate_member(&ts, 7, &k, NULL), 0);
	CHECK_STR(k, "k08");
	r = ct_tracestate_format(&ts, hdr, 1024);
	CHECK(r > 0);
	/* set makes room the same way: the long entry goes before the short old ones. */
	CHECK_INT(ct_tracestate_set(&ts, "big", big + 44), 0);
	CHECK_INT(ct_tracestate_member(&ts, 0, &k, NULL), 0);
	CHECK_STR(k, "big");
	CHECK(ct_tracestate_get(&ts, "k01") != NULL);
	o = 0;
	ct_tracestate_init(&ts);
	CHECK_INT(ct_tracestate_set(&ts, "s1", "x"), 0);
	CHECK_INT(ct_tracestate_set(&ts, "l1", big + 44), 0);
	CHECK_INT(ct_tracestate_set(&ts, "l2", big + 44), 0);
	CHECK_INT(ct_tracestate_set(&ts, "l3", big + 44), 0);
	CHECK_INT(ct_tracestate_set(&ts, "s2", "x"), 0);
	CHECK_INT(ct_tracestate_set(&ts, "l4", big + 44), 0);
	/* l4 needed room: the last long entry (l1) went, the short s1 behind it stayed. */
	CHECK(ct_tracestate_get(&ts, "l1") == NULL);
	CHECK(ct_tracestate_get(&ts, "s1") != NULL);
	CHECK(ct_tracestate_get(&ts, "l2") != NULL);
	CHECK_INT(ct_tracestate_count(&ts), 5);
}

/* ---- carriers (section 4 processing model) ---- */

struct carrier {
	int n;
	char key[8][32];
	char val[8][1200];
	int sets;
};

static void carrier_set(void *c, const char *key, const char *value)
{
	struct carrier *h = c;

	h->sets++;
	if (h->n < 8) {
		snprintf(h->key[h->n], sizeof(h->key[0]), "%s", key);
		snprintf(h->val[h->n], sizeof(h->val[0]), "%s", value);
		h->n++;
	}
}

/* Header names match in any case (3.2.1, 3.3.1), as an HTTP carrier would do. */
static const char *carrier_get(void *c, const char *key, size_t *len)
{
	struct carrier *h = c;

	for (int i = 0; i < h->n; i++) {
		if (!strcasecmp(h->key[i], key)) {
			*len = strlen(h->val[i]);
			return h->val[i];
		}
	}
	return NULL;
}

static void carrier_add(struct carrier *h, const char *k, const char *v)
{
	carrier_set(h, k, v);
}

TEST(inject_extract)
{
	struct carrier h = {0};
	struct ct_span_context ctx, out;
	struct ct_tracestate ts, ts2;

	CHECK_INT(parse_str(SPEC_TP, &ctx), 0);
	ctx.is_remote = 0;
	ct_tracestate_init(&ts);
	/* Empty tracestate: only traceparent goes out, under its lower-case name. */
	CHECK_INT(ct_context_inject(&ctx, &ts, carrier_set, &h), 0);
	CHECK_INT(h.n, 1);
	CHECK_STR(h.key[0], "traceparent");
	CHECK_STR(h.val[0], SPEC_TP);
	CHECK_INT(ct_tracestate_set(&ts, "congo", "t61rcWkgMzE"), 0);
	CHECK_INT(ct_tracestate_set(&ts, "rojo", "00f067aa0ba902b7"), 0);
	memset(&h, 0, sizeof(h));
	CHECK_INT(ct_context_inject(&ctx, &ts, carrier_set, &h), 0);
	CHECK_INT(h.n, 2);
	CHECK_STR(h.key[1], "tracestate");
	CHECK_STR(h.val[1], "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
	CHECK_INT(ct_context_extract(carrier_get, &h, &out, &ts2), 0);
	CHECK(!memcmp(out.trace_id, ctx.trace_id, 16) && !memcmp(out.span_id, ctx.span_id, 8));
	CHECK_INT(out.trace_flags, 1);
	CHECK_INT(out.is_remote, 1);
	CHECK_STR(ts_str(&ts2), "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
	/* Invalid context: nothing is written. */
	memset(&h, 0, sizeof(h));
	memset(&out, 0, sizeof(out));
	CHECK_INT(ct_context_inject(&out, &ts, carrier_set, &h), -EINVAL);
	CHECK_INT(h.sets, 0);
	CHECK_INT(ct_context_inject(NULL, NULL, carrier_set, &h), -EINVAL);
	CHECK_INT(h.sets, 0);
	/* Mixed-case header names are found (test_*_header_name_valid_casing). */
	memset(&h, 0, sizeof(h));
	carrier_add(&h, "TrAcEpArEnT", "00-" TID "-" PID "-00");
	carrier_add(&h, "TRACESTATE", "foo=1");
	CHECK_INT(ct_context_extract(carrier_get, &h, &out, &ts2), 0);
	CHECK_STR(ct_tracestate_get(&ts2, "foo"), "1");
	CHECK_INT(out.trace_flags, 0);
}

TEST(extract_processing_model)
{
	struct carrier h = {0};
	struct ct_span_context out;
	struct ct_tracestate ts;

	/* 4.2: no traceparent; a tracestate alone MUST be discarded. */
	carrier_add(&h, "tracestate", "foo=1,bar=2");
	CHECK_INT(ct_context_extract(carrier_get, &h, &out, &ts), -ENOENT);
	CHECK_INT(ct_tracestate_count(&ts), 0);
	/* Wrong header names are not traceparent (test_traceparent_header_name). */
	carrier_add(&h, "trace-parent", "00-" TID "-" PID "-01");
	carrier_add(&h, "trace.parent", "00-" TID "-" PID "-01");
	CHECK_INT(ct_context_extract(carrier_get, &h, &out, &ts), -ENOENT);
	/* 4.3: an invalid traceparent: no context, tracestate deleted. */
	memset(&h, 0, sizeof(h));
	carrier_add(&h, "traceparent", "00-00000000000000000000000000000000-" PID "-01");
	carrier_add(&h, "tracestate", "foo=1");
	ct_tracestate_init(&ts);
	ct_tracestate_set(&ts, "stale", "1");
	CHECK_INT(ct_context_extract(carrier_get, &h, &out, &ts), CT_EFORMAT);
	CHECK_INT(ct_tracestate_count(&ts), 0);
	/* 3.3: a bad tracestate never affects traceparent. */
	memset(&h, 0, sizeof(h));
	carrier_add(&h, "traceparent", "00-" TID "-" PID "-01");
	carrier_add(&h, "tracestate", "foo=1,foo=2");
	CHECK_INT(ct_context_extract(carrier_get, &h, &out, &ts), 0);
	CHECK_INT(out.trace_flags, 1);
	CHECK_INT(ct_tracestate_count(&ts), 0);
	/* Wrong tracestate names are not tracestate (test_tracestate_header_name). */
	memset(&h, 0, sizeof(h));
	carrier_add(&h, "traceparent", "00-" TID "-" PID "-01");
	carrier_add(&h, "trace-state", "foo=1");
	CHECK_INT(ct_context_extract(carrier_get, &h, &out, &ts), 0);
	CHECK_INT(ct_tracestate_count(&ts), 0);
	/* ts may be NULL; get must not be. */
	CHECK_INT(ct_context_extract(carrier_get, &h, &out, NULL), 0);
	CHECK_INT(ct_context_extract(NULL, &h, &out, NULL), -EINVAL);
}

TEST(baggage_carrier)
{
	struct carrier h = {0};
	struct ct_baggage *bg = malloc(sizeof(*bg)), *bg2 = malloc(sizeof(*bg2));

	ct_baggage_init(bg);
	CHECK_INT(ct_baggage_inject(bg, carrier_set, &h), 0);
	CHECK_INT(h.sets, 0); /* nothing to send */
	CHECK_INT(ct_baggage_extract(carrier_get, &h, bg2), -ENOENT);
	CHECK_INT(ct_baggage_set(bg, "userId", "alice"), 0);
	CHECK_INT(ct_baggage_set(bg, "serverNode", "DF 28"), 0);
	CHECK_INT(ct_baggage_inject(bg, carrier_set, &h), 0);
	CHECK_INT(h.n, 1);
	CHECK_STR(h.key[0], "baggage");
	CHECK_STR(h.val[0], "userId=alice,serverNode=DF%2028");
	CHECK_INT(ct_baggage_extract(carrier_get, &h, bg2), 2);
	CHECK_STR(ct_baggage_get(bg2, "serverNode"), "DF 28");
	free(bg);
	free(bg2);
}

static struct carrier nosys_carrier;

/*
 * In seccomp strict mode any system call but read/write/exit/sigreturn kills the process:
 * a child that runs every propagation and sampling call there and exits through SYS_exit
 * proves none of them makes one.
 */
TEST(no_syscalls)
{
	pid_t pid;
	int status = 0;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		SKIP("fork failed: %s", strerror(errno));
	if (pid == 0) {
		static struct ct_baggage bg;
		struct ct_tracestate ts;
		struct ct_span_context ctx;
		struct ct_sampler s;
		char buf[1100];
		int bad = 0;

		if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT))
			syscall(SYS_exit, 3);
		bad |= ct_traceparent_parse(SPEC_TP, CT_TRACEPARENT_LEN, &ctx) != 0;
		bad |= ct_traceparent_format(&ctx, buf, sizeof(buf)) != CT_TRACEPARENT_LEN;
		bad |= ct_tracestate_parse("a=1,b=2", 7, &ts) != 0;
		bad |= ct_tracestate_set(&ts, "c", "3") != 0;
		bad |= ct_tracestate_delete(&ts, "a") != 0;
		bad |= ct_tracestate_format(&ts, buf, sizeof(buf)) <= 0;
		bad |= ct_tracestate_get(&ts, "b") == NULL;
		bad |= ct_baggage_parse("k=v%20w;p", 9, &bg) != 1;
		bad |= ct_baggage_set(&bg, "x", "caf\xc3\xa9") != 0;
		bad |= ct_baggage_format(&bg, buf, sizeof(buf)) <= 0;
		bad |= ct_baggage_delete(&bg, "k") != 0;
		bad |= ct_context_inject(&ctx, &ts, carrier_set, &nosys_carrier) != 0;
		bad |= ct_context_extract(carrier_get, &nosys_carrier, &ctx, &ts) != 0;
		bad |= ct_baggage_inject(&bg, carrier_set, &nosys_carrier) != 0;
		for (int k = CT_SAMPLER_ALWAYS_ON; k <= CT_SAMPLER_PARENTBASED_RATE_LIMITED; k++) {
			bad |= ct_sampler_init(&s, (enum ct_sampler_kind)k, 0.5) != 0;
			for (int i = 0; i < 10; i++)
				(void)ct_sampler_should_sample(&s, ctx.trace_id, NULL,
							       (uint64_t)i * 1000000000u);
		}
		syscall(SYS_exit, bad ? 2 : 0);
	}
	if (waitpid(pid, &status, 0) != pid) {
		T_FAIL("waitpid: %s", strerror(errno));
		return;
	}
	if (WIFSIGNALED(status))
		T_FAIL("child killed by signal %d: a call made a system call", WTERMSIG(status));
	else
		CHECK_INT(WEXITSTATUS(status), 0);
}

int main(void)
{
	RUN(traceparent_valid);
	RUN(traceparent_ows);
	RUN(traceparent_versions);
	RUN(traceparent_ids);
	RUN(traceparent_flags_and_separators);
	RUN(traceparent_format_roundtrip);
	RUN(tracestate_examples);
	RUN(tracestate_ows_and_empty);
	RUN(tracestate_keys);
	RUN(tracestate_values);
	RUN(tracestate_count_and_duplicates);
	RUN(tracestate_mutation);
	RUN(tracestate_cap_32);
	RUN(tracestate_truncation);
	RUN(inject_extract);
	RUN(extract_processing_model);
	RUN(baggage_carrier);
	RUN(no_syscalls);
	return test_main_end();
}
