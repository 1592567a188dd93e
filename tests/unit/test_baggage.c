// SPDX-License-Identifier: MIT
/*
 * W3C Baggage: header grammar (list-member, key = token, value = baggage-octets that carry
 * percent-encoded UTF-8, properties), the spec's own examples, percent-encoding round trips,
 * skipping of invalid members, the 64-member / 8192-byte limits, and mutation.
 * Spec: https://www.w3.org/TR/baggage/ (sections "Definition", "Limits", "Mutating baggage").
 */
#include <errno.h>
#include <stdint.h>

#include "crosstrace/crosstrace.h"
#include "test.h"

static struct ct_baggage bg, bg2;
static char out[CT_BAGGAGE_MAX_BYTES + 64];

static int parse(const char *s, struct ct_baggage *b)
{
	return ct_baggage_parse(s, strlen(s), b);
}

static const char *fmt(const struct ct_baggage *b)
{
	if (ct_baggage_format(b, out, sizeof(out)) < 0)
		return "(format failed)";
	return out;
}

/* Every member of a equals the same member of b. */
static int same(const struct ct_baggage *a, const struct ct_baggage *b)
{
	if (ct_baggage_count(a) != ct_baggage_count(b))
		return 0;
	for (size_t i = 0; i < ct_baggage_count(a); i++) {
		const char *ka, *va, *kb, *vb;

		ct_baggage_member(a, i, &ka, &va);
		ct_baggage_member(b, i, &kb, &vb);
		if (strcmp(ka, kb) || strcmp(va, vb))
			return 0;
	}
	return 1;
}

/* Formats b, re-parses the text, and expects the same members and the same text again. */
static void check_roundtrip(const struct ct_baggage *b)
{
	char first[CT_BAGGAGE_MAX_BYTES + 1];
	int n = ct_baggage_format(b, first, sizeof(first));

	if (n < 0) {
		T_FAIL("format failed: %d", n);
		return;
	}
	CHECK_INT(ct_baggage_parse(first, (size_t)n, &bg2), (int)ct_baggage_count(b));
	CHECK(same(b, &bg2));
	CHECK_STR(fmt(&bg2), first);
}

/* Definition + "Example": OWS around keys, values and properties is trimmed. */
TEST(spec_examples)
{
	const char *k, *v;

	CHECK_INT(parse("key1=value1;property1;property2, key2 = value2, key3=value3; "
			"propertyKey=propertyValue",
			&bg),
		  3);
	CHECK_INT(ct_baggage_member(&bg, 0, &k, &v), 0);
	CHECK_STR(k, "key1");
	CHECK_STR(v, "value1");
	CHECK_INT(ct_baggage_member(&bg, 1, &k, &v), 0);
	CHECK_STR(k, "key2");
	CHECK_STR(v, "value2");
	CHECK_STR(ct_baggage_get(&bg, "key3"), "value3");
	CHECK_INT(ct_baggage_member(&bg, 3, &k, &v), -ERANGE);
	CHECK_STR(fmt(&bg), "key1=value1;property1;property2,key2=value2,key3=value3;"
			    "propertyKey=propertyValue");
	check_roundtrip(&bg);
	/* "Examples of HTTP headers". */
	CHECK_INT(parse("userId=alice,serverNode=DF%2028,isProduction=false", &bg), 3);
	CHECK_STR(ct_baggage_get(&bg, "userId"), "alice");
	CHECK_STR(ct_baggage_get(&bg, "serverNode"), "DF 28");
	CHECK_STR(ct_baggage_get(&bg, "isProduction"), "false");
	CHECK_STR(fmt(&bg), "userId=alice,serverNode=DF%2028,isProduction=false");
	/* The same split over two headers, combined as RFC 7230 says, with spaces. */
	CHECK_INT(parse("userId =   alice, serverNode = DF%2028, isProduction = false", &bg), 3);
	CHECK_STR(fmt(&bg), "userId=alice,serverNode=DF%2028,isProduction=false");
	/* "value MAY contain any number of the equal sign characters". */
	CHECK_INT(parse("k=a=b==c", &bg), 1);
	CHECK_STR(ct_baggage_get(&bg, "k"), "a=b==c");
	/* value = *baggage-octet: empty values are valid. */
	CHECK_INT(parse("empty=,e2 = ", &bg), 2);
	CHECK_STR(ct_baggage_get(&bg, "empty"), "");
	CHECK_STR(fmt(&bg), "empty=,e2=");
	/* Keys are tokens: every tchar is allowed. */
	CHECK_INT(parse("!#$%&'*+-.^_`|~09azAZ=1", &bg), 1);
	CHECK_STR(ct_baggage_get(&bg, "!#$%&'*+-.^_`|~09azAZ"), "1");
	CHECK_INT(parse("", &bg), 0);
	CHECK_INT(parse(" \t, ,", &bg), 0);
	CHECK_INT(ct_baggage_parse(NULL, 0, &bg), 0);
}

/* "A value contains a URL encoded UTF-8 string": decode on parse, encode on format. */
TEST(percent_encoding)
{
	static const struct {
		const char *raw, *enc;
	} cases[] = {
		{"DF 28", "DF%2028"},
		{"100%", "100%25"},
		{"a,b", "a%2Cb"},
		{"a;b", "a%3Bb"},
		{"a=b", "a=b"},
		{"  spaces  ", "%20%20spaces%20%20"},
		{"\"quoted\"\\", "%22quoted%22%5C"},
		{"tab\there", "tab%09here"},
		{"\x01\x7f", "%01%7F"},
		{"caf\xc3\xa9", "caf%C3%A9"},
		{"\xe2\x98\x83 \xf0\x9d\x84\x9e", "%E2%98%83%20%F0%9D%84%9E"},
		{"!#$&'()*+-./:<>?@[]^_`{|}~", "!#$&'()*+-./:<>?@[]^_`{|}~"},
		{"", ""},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char expect[256];

		ct_baggage_init(&bg);
		CHECK_INT(ct_baggage_set(&bg, "k", cases[i].raw), 0);
		snprintf(expect, sizeof(expect), "k=%s", cases[i].enc);
		CHECK_STR(fmt(&bg), expect);
		CHECK_INT(parse(expect, &bg2), 1);
		CHECK_STR(ct_baggage_get(&bg2, "k"), cases[i].raw);
		check_roundtrip(&bg);
	}
	/* Decoding accepts both hex cases and encodings of characters that needed none. */
	CHECK_INT(parse("k=%e2%98%83%41%2c", &bg), 1);
	CHECK_STR(ct_baggage_get(&bg, "k"), "\xe2\x98\x83"
					    "A,");
	CHECK_STR(fmt(&bg), "k=%E2%98%83A%2C");
	/* '+' is not a space here: percent-encoding, not form encoding. */
	CHECK_INT(parse("k=a+b", &bg), 1);
	CHECK_STR(ct_baggage_get(&bg, "k"), "a+b");
}

/* Random UTF-8 strings of every plane survive set -> format -> parse -> get. */
TEST(utf8_roundtrip_random)
{
	uint64_t x = 0x2545f4914f6cdd1dull;

	for (int iter = 0; iter < 2000; iter++) {
		char s[200];
		size_t n = 0;
		int len = 1 + (int)(x % 30);

		for (int i = 0; i < len; i++) {
			uint32_t cp;

			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			switch (x % 4) {
			case 0:
				cp = 0x01 + (uint32_t)(x >> 8) % 0x7f;
				break;
			case 1:
				cp = 0x80 + (uint32_t)(x >> 8) % (0x800 - 0x80);
				break;
			case 2:
				cp = 0x800 + (uint32_t)(x >> 8) % (0x10000 - 0x800);
				if (cp >= 0xd800 && cp <= 0xdfff)
					cp = '%';
				break;
			default:
				cp = 0x10000 + (uint32_t)(x >> 8) % (0x110000 - 0x10000);
				break;
			}
			if (cp < 0x80) {
				s[n++] = (char)cp;
			} else if (cp < 0x800) {
				s[n++] = (char)(0xc0 | cp >> 6);
				s[n++] = (char)(0x80 | (cp & 0x3f));
			} else if (cp < 0x10000) {
				s[n++] = (char)(0xe0 | cp >> 12);
				s[n++] = (char)(0x80 | ((cp >> 6) & 0x3f));
				s[n++] = (char)(0x80 | (cp & 0x3f));
			} else {
				s[n++] = (char)(0xf0 | cp >> 18);
				s[n++] = (char)(0x80 | ((cp >> 12) & 0x3f));
				s[n++] = (char)(0x80 | ((cp >> 6) & 0x3f));
				s[n++] = (char)(0x80 | (cp & 0x3f));
			}
		}
		s[n] = '\0';
		ct_baggage_init(&bg);
		if (ct_baggage_set(&bg, "u", s) || ct_baggage_set(&bg, "v", "x")) {
			T_FAIL("set of a valid UTF-8 value failed (iteration %d)", iter);
			break;
		}
		ct_baggage_format(&bg, out, sizeof(out));
		if (parse(out, &bg2) != 2 || strcmp(ct_baggage_get(&bg2, "u"), s)) {
			T_FAIL("UTF-8 round trip failed for \"%s\"", out);
			break;
		}
	}
}

/* Properties after ';' are opaque: validated against the grammar, kept verbatim. */
TEST(properties)
{
	CHECK_INT(parse("k=v;p1;p2=x", &bg), 1);
	CHECK_STR(ct_baggage_get(&bg, "k"), "v");
	CHECK_STR(fmt(&bg), "k=v;p1;p2=x");
	CHECK_INT(parse("k = v ; p1 ;p2 = x%20y , j=1", &bg), 2);
	CHECK_STR(ct_baggage_get(&bg, "k"), "v");
	CHECK_STR(fmt(&bg), "k=v;p1 ;p2 = x%20y,j=1");
	check_roundtrip(&bg);
	CHECK_INT(parse("k=v;p=", &bg), 1);
	CHECK_STR(fmt(&bg), "k=v;p=");
	/* set replaces the value and drops the old value's properties. */
	CHECK_INT(ct_baggage_set(&bg, "k", "w"), 0);
	CHECK_STR(fmt(&bg), "k=w");
}

/* Invalid members are skipped ("Mutating baggage": a system MAY remove them). */
TEST(invalid_members)
{
	static const char *bad[] = {
		"bad key=2", "k=%zz",	    "k=%4",	      "k=%",	"k=%00",   "k=%ff",
		"k=%C0%80",  "k=%ED%A0%80", "k=%F4%90%80%80", "k=a b",	"k=\"x\"", "k=a\\b",
		"=v",	     "k",	    "k=v;",	      "k=v;;p", "k=v;=x",  "k=v;p=\"x\"",
		"k=v;p q",   "k(=v",	    "k=caf\xc3\xa9",  "k=\x7f", "k=a\tb",  "k\xc3\xa9=v",
		"k=%E2%98",  "k=v;p=a b",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char hdr[128];
		int r;

		snprintf(hdr, sizeof(hdr), "good=1,%s,also=3", bad[i]);
		r = parse(hdr, &bg);
		if (r != 2) {
			T_FAIL("\"%s\": %d members kept, expected 2", hdr, r);
			continue;
		}
		CHECK_STR(fmt(&bg), "good=1,also=3");
		/* Alone, an invalid member is not baggage at all. */
		r = parse(bad[i], &bg);
		if (r != CT_EFORMAT)
			T_FAIL("\"%s\" alone gave %d, expected CT_EFORMAT", bad[i], r);
		CHECK_INT(ct_baggage_count(&bg), 0);
	}
	CHECK_INT(parse("garbage", &bg), CT_EFORMAT);
}

/* "Limits": at least 64 members and 8192 bytes are propagated; more is cut and reported. */
TEST(limits)
{
	static char hdr[20000];
	size_t o = 0;
	const char *k;
	char key[16], val[9000];

	for (int i = 0; i < 64; i++)
		o += (size_t)snprintf(hdr + o, sizeof(hdr) - o, "%sk%02d=%d", i ? "," : "", i, i);
	CHECK_INT(parse(hdr, &bg), 64);
	check_roundtrip(&bg);
	snprintf(hdr + o, sizeof(hdr) - o, ",k64=64");
	CHECK_INT(parse(hdr, &bg), CT_ETOOBIG);
	CHECK_INT(ct_baggage_count(&bg), 64);
	CHECK_INT(ct_baggage_member(&bg, 63, &k, NULL), 0);
	CHECK_STR(k, "k63");
	/* One member of exactly 8192 bytes; one byte more is cut. */
	memset(val, 'v', sizeof(val));
	snprintf(hdr, sizeof(hdr), "a=%.8190s", val);
	CHECK_INT(parse(hdr, &bg), 1);
	CHECK_INT(ct_baggage_format(&bg, out, sizeof(out)), 8192);
	snprintf(hdr, sizeof(hdr), "a=%.8191s", val);
	CHECK_INT(parse(hdr, &bg), CT_ETOOBIG);
	CHECK_INT(ct_baggage_count(&bg), 0);
	/* Members that end within the first 8192 bytes are kept. */
	snprintf(hdr, sizeof(hdr), "a=1,b=%.8000s,c=%.300s", val, val);
	CHECK_INT(parse(hdr, &bg), CT_ETOOBIG);
	CHECK_INT(ct_baggage_count(&bg), 2);
	CHECK(ct_baggage_get(&bg, "c") == NULL);
	/* set refuses to grow past either limit and leaves bg unchanged. */
	ct_baggage_init(&bg);
	for (int i = 0; i < 64; i++) {
		snprintf(key, sizeof(key), "k%02d", i);
		CHECK_INT(ct_baggage_set(&bg, key, "v"), 0);
	}
	CHECK_INT(ct_baggage_set(&bg, "one-more", "v"), CT_ETOOBIG);
	CHECK_INT(ct_baggage_count(&bg), 64);
	CHECK_INT(ct_baggage_set(&bg, "k00", "replacing is fine"), 0);
	ct_baggage_init(&bg);
	val[8190] = '\0';
	CHECK_INT(ct_baggage_set(&bg, "a", val), 0);
	CHECK_INT(ct_baggage_format(&bg, out, sizeof(out)), 8192);
	CHECK_INT(ct_baggage_set(&bg, "b", ""), CT_ETOOBIG);
	val[8190] = 'v';
	val[8191] = '\0';
	CHECK_INT(ct_baggage_set(&bg, "a", val), CT_ETOOBIG);
	CHECK_INT(strlen(ct_baggage_get(&bg, "a")), 8190);
	/* Encoding counts: 2731 spaces take 8193 bytes once encoded. */
	memset(val, ' ', 2731);
	val[2731] = '\0';
	ct_baggage_init(&bg);
	CHECK_INT(ct_baggage_set(&bg, "a", val), CT_ETOOBIG);
	val[2730] = '\0';
	CHECK_INT(ct_baggage_set(&bg, "a", val), 0);
	CHECK_INT(ct_baggage_format(&bg, out, sizeof(out)), 2 + 3 * 2730);
	/* A buffer too small for the text. */
	CHECK_INT(ct_baggage_format(&bg, out, 100), CT_ETOOBIG);
}

/* "Mutating baggage": add, update, delete, duplicates. */
TEST(mutation)
{
	ct_baggage_init(&bg);
	CHECK_INT(ct_baggage_set(&bg, "a", "1"), 0);
	CHECK_INT(ct_baggage_set(&bg, "b", "2"), 0);
	CHECK_INT(ct_baggage_set(&bg, "a", "3"), 0);
	CHECK_STR(fmt(&bg), "a=3,b=2");
	CHECK_INT(ct_baggage_delete(&bg, "a"), 0);
	CHECK_INT(ct_baggage_delete(&bg, "a"), -ENOENT);
	CHECK_STR(fmt(&bg), "b=2");
	CHECK(ct_baggage_get(&bg, "a") == NULL);
	/* Received duplicates are kept in order; get gives the last one. */
	CHECK_INT(parse("a=1,b=2,a=3", &bg), 3);
	CHECK_STR(ct_baggage_get(&bg, "a"), "3");
	CHECK_STR(fmt(&bg), "a=1,b=2,a=3");
	CHECK_INT(ct_baggage_set(&bg, "a", "9"), 0);
	CHECK_STR(fmt(&bg), "a=9,b=2");
	CHECK_INT(parse("a=1,b=2,a=3,c=4", &bg), 4);
	CHECK_INT(ct_baggage_delete(&bg, "a"), 0);
	CHECK_STR(fmt(&bg), "b=2,c=4");
	/* Invalid keys and values. */
	CHECK_INT(ct_baggage_set(&bg, "bad key", "1"), CT_EFORMAT);
	CHECK_INT(ct_baggage_set(&bg, "", "1"), CT_EFORMAT);
	CHECK_INT(ct_baggage_set(&bg, "k", "\xff"), CT_EFORMAT);
	CHECK_INT(ct_baggage_set(&bg, "k", "\xc3"), CT_EFORMAT);
	CHECK_INT(ct_baggage_set(&bg, "k", NULL), CT_EFORMAT);
	CHECK_STR(fmt(&bg), "b=2,c=4");
	/* Many mutations keep the storage consistent (compaction). */
	for (int i = 0; i < 5000; i++) {
		char k[8], v[64];

		snprintf(k, sizeof(k), "k%d", i % 37);
		snprintf(v, sizeof(v), "%0*d", 1 + i % 50, i);
		if (i % 3 == 2)
			ct_baggage_delete(&bg, k);
		else if (ct_baggage_set(&bg, k, v)) {
			T_FAIL("set %s failed at %d", k, i);
			break;
		}
		if (i % 3 != 2 && strcmp(ct_baggage_get(&bg, k), v)) {
			T_FAIL("get %s after set gave a wrong value at %d", k, i);
			break;
		}
	}
	check_roundtrip(&bg);
}

int main(void)
{
	RUN(spec_examples);
	RUN(percent_encoding);
	RUN(utf8_roundtrip_random);
	RUN(properties);
	RUN(invalid_members);
	RUN(limits);
	RUN(mutation);
	return test_main_end();
}
