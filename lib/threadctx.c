// SPDX-License-Identifier: MIT
/*
 * The thread context record's storage (threadctx.h): the record itself in initial-exec TLS,
 * OTEP 4947's exported `otel_thread_ctx_v1` pointer to it, and the record's offset from the
 * thread pointer, which the recorder learns once per process.
 */
#include <errno.h>

#include "threadctx.h"

_Alignas(32) __thread struct ct__thread_ctx ct__tctx __attribute__((tls_model("initial-exec")));

/* Exported (the library is built with hidden visibility): external readers look it up. */
__attribute__((visibility("default"))) __thread void *otel_thread_ctx_v1;

void ct__tctx_attach(void)
{
	otel_thread_ctx_v1 = &ct__tctx;
}

int ct__tctx_offset(int64_t *out)
{
#if defined(__x86_64__) || defined(__aarch64__)
	uintptr_t tp;

#if defined(__x86_64__)
	/* glibc keeps the TCB's own address at %fs:0, so this is the fs base (ARCH_GET_FS). */
	__asm__("mov %%fs:0, %0" : "=r"(tp));
#else
	__asm__("mrs %0, tpidr_el0" : "=r"(tp));
#endif
	*out = (int64_t)((uintptr_t)&ct__tctx - tp);
	return 0;
#else
	(void)out;
	return -ENOTSUP;
#endif
}
