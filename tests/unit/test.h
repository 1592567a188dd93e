/* SPDX-License-Identifier: MIT */
/*
 * A tiny unit-test runner: TEST(name) defines a test, RUN(name) runs it, CHECK* record
 * failures with file:line and go on, and test_main_end() prints "N passed, N failed" and gives
 * the exit status. One executable per module, registered with CTest.
 */
#ifndef CT_TEST_H
#define CT_TEST_H

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int t_failed_checks, t_passed, t_failed;
static const char *t_current;

#define TEST(name) static void name(void)

#define RUN(name)                                            \
	do {                                                 \
		int before_ = t_failed_checks;               \
		t_current = #name;                           \
		name();                                      \
		if (t_failed_checks == before_) {            \
			t_passed++;                          \
		} else {                                     \
			t_failed++;                          \
			fprintf(stderr, "FAIL %s\n", #name); \
		}                                            \
	} while (0)

#define T_FAIL(...)                                                                     \
	do {                                                                            \
		/* Past 30 failures the rest is noise: count them, print nothing. */    \
		if (t_failed_checks++ < 30) {                                           \
			fprintf(stderr, "%s:%d: [%s] ", __FILE__, __LINE__, t_current); \
			fprintf(stderr, __VA_ARGS__);                                   \
			fputc('\n', stderr);                                            \
		}                                                                       \
	} while (0)

#define CHECK(cond)                                        \
	do {                                               \
		if (!(cond))                               \
			T_FAIL("check failed: %s", #cond); \
	} while (0)

#define CHECK_INT(a, b)                                                   \
	do {                                                              \
		long long a_ = (long long)(a), b_ = (long long)(b);       \
		if (a_ != b_)                                             \
			T_FAIL("%s == %s: %lld != %lld", #a, #b, a_, b_); \
	} while (0)

#define CHECK_U64(a, b)                                                                        \
	do {                                                                                   \
		unsigned long long a_ = (unsigned long long)(a), b_ = (unsigned long long)(b); \
		if (a_ != b_)                                                                  \
			T_FAIL("%s == %s: %llu != %llu", #a, #b, a_, b_);                      \
	} while (0)

#define CHECK_STR(a, b)                                                                  \
	do {                                                                             \
		const char *a_ = (a), *b_ = (b);                                         \
		if (!a_ || !b_ || strcmp(a_, b_))                                        \
			T_FAIL("%s == %s: \"%s\" != \"%s\"", #a, #b, a_ ? a_ : "(null)", \
			       b_ ? b_ : "(null)");                                      \
	} while (0)

#define CHECK_NEAR(a, b, tol)                                                                 \
	do {                                                                                  \
		double a_ = (a), b_ = (b);                                                    \
		if (!(fabs(a_ - b_) <= (tol)))                                                \
			T_FAIL("%s ~= %s: %g vs %g (tol %g)", #a, #b, a_, b_, (double)(tol)); \
	} while (0)

/* Skips the current test with a reason (counted as passed). Use only where allowed. */
#define SKIP(...)                                        \
	do {                                             \
		fprintf(stderr, "SKIP %s: ", t_current); \
		fprintf(stderr, __VA_ARGS__);            \
		fputc('\n', stderr);                     \
		return;                                  \
	} while (0)

/* The whole file at path, NUL-terminated, its length in *len (may be NULL); NULL when it
 * cannot be read. The caller frees it. */
static inline char *t_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	if (buf) {
		buf[n] = 0;
		if (len)
			*len = (size_t)n;
	}
	return buf;
}

static inline int test_main_end(void)
{
	printf("%d passed, %d failed\n", t_passed, t_failed);
	return t_failed ? 1 : 0;
}

#endif
