// SPDX-License-Identifier: MIT
/* Dispatch to the kernel backend implementations (see kbackend.h). */
#include <errno.h>
#include <stdio.h>

#include "kbackend.h"

int ct_kbackend_open(struct ct_kbackend **out, enum ct_kbackend_kind kind,
		     const struct ct_kbackend_opts *o, const struct ct_ksink *sink, char *err,
		     size_t errlen)
{
	if (o->only_in_spans && kind == CT_KBACKEND_PERF) {
		snprintf(
			err, errlen,
			"--only-in-spans needs the BPF backend (perf_event_open tracepoints cannot "
			"read a thread's span): drop --backend perf, or record without "
			"--only-in-spans");
		return -ENOTSUP;
	}
	switch (kind) {
	case CT_KBACKEND_BPF:
		return ct__kbackend_bpf_open(out, o, sink, err, errlen);
	case CT_KBACKEND_PERF:
		return ct__kbackend_perf_open(out, o, sink, err, errlen);
	default:
		snprintf(err, errlen, "no such kernel backend (%d)", (int)kind);
		return -EINVAL;
	}
}

const char *ct_kbackend_name(const struct ct_kbackend *b)
{
	return b->ops->name;
}

int ct_kbackend_add_process(struct ct_kbackend *b, pid_t tgid, char *err, size_t errlen)
{
	return b->ops->add_process(b, tgid, err, errlen);
}

int ct_kbackend_spawn_begin(struct ct_kbackend *b, char *err, size_t errlen)
{
	return b->ops->spawn_begin(b, err, errlen);
}

int ct_kbackend_spawn_end(struct ct_kbackend *b, pid_t child, char *err, size_t errlen)
{
	return b->ops->spawn_end(b, child, err, errlen);
}

int ct_kbackend_set_thread_ctx(struct ct_kbackend *b, pid_t tgid, int64_t offset, uint32_t version,
			       uint32_t size, uint64_t ts, char *err, size_t errlen)
{
	if (!b->ops->set_thread_ctx) {
		snprintf(err, errlen, "the %s backend has no span filter", b->ops->name);
		return -ENOTSUP;
	}
	return b->ops->set_thread_ctx(b, tgid, offset, version, size, ts, err, errlen);
}

int ct_kbackend_fd(const struct ct_kbackend *b)
{
	return b->ops->fd(b);
}

int ct_kbackend_drain(struct ct_kbackend *b, unsigned budget, int *more)
{
	return b->ops->drain(b, budget, more);
}

void ct_kbackend_stats(struct ct_kbackend *b, uint64_t ts, struct ct_kbackend_stats *st)
{
	b->ops->stats(b, ts, st);
}

int ct_kbackend_traces(struct ct_kbackend *b, pid_t tgid)
{
	return b->ops->traces(b, tgid);
}

int ct_kbackend_alive(struct ct_kbackend *b)
{
	return b->ops->alive(b);
}

void ct_kbackend_stop(struct ct_kbackend *b)
{
	b->ops->stop(b);
}

void ct_kbackend_free(struct ct_kbackend *b)
{
	if (b)
		b->ops->free(b);
}
