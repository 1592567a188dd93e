// SPDX-License-Identifier: MIT
/* events.txt → trace directory (see mktrace.h). I/O edge of the analysis. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "crosstrace/crosstrace.h"
#include "format/ctf.h"
#include "format/tracedir.h"
#include "mktrace.h"

int ct_mktrace_write(const struct ct_evtext *t, const char *dir, const uint64_t *cuts,
		     size_t n_cuts, char *err, size_t errlen)
{
	struct ct_tracedir_opts o = {.path = dir, .tool = "ct-mktrace"};
	struct ct_tracedir *td;
	size_t next_cut = 0;
	uint8_t buf[70000];
	int rc;

	rc = ct_tracedir_create(&td, &o, err, errlen);
	if (rc)
		return rc;
	for (size_t i = 0; i < t->n && !rc; i++) {
		const struct ct_event *ev = &t->ev[i];
		struct ct_tdstream *s;
		char name[64];
		int len = 0;
		uint16_t id = ev->type;

		while (next_cut < n_cuts && cuts[next_cut] <= ev->ts)
			ct_tracedir_rotate(td, cuts[next_cut++]);
		ct_evtext_stream(t, i, name, sizeof(name));
		rc = ct_tracedir_stream(
			td, name, t->cpu[i] != CT_EVTEXT_NO_CPU ? t->cpu[i] : CT_CTF_NO_CPU, &s);
		if (rc) {
			snprintf(err, errlen, "stream %s: %s", name, ct_strerror(rc));
			break;
		}
		if (ev->type == CT_EV_NONE) {
			id = t->raw_id[i]; /* an event type this version does not know */
		} else {
			len = ct_ev_encode(ev, buf, sizeof(buf));
			if (len < 0) {
				snprintf(err, errlen, "event %zu: cannot encode: %s", i,
					 ct_strerror(len));
				rc = len;
				break;
			}
		}
		rc = ct_tdstream_append(s, id, ev->ts, ev->pid, ev->tid, buf, (size_t)len);
		if (rc > 0) {
			snprintf(err, errlen,
				 "event %zu (ts %llu) dropped by the writer: out of order?", i,
				 (unsigned long long)ev->ts);
			rc = CT_EFORMAT;
		} else if (rc < 0) {
			snprintf(err, errlen, "event %zu: %s", i, ct_strerror(rc));
		}
	}
	while (!rc && next_cut < n_cuts)
		ct_tracedir_rotate(td, cuts[next_cut++]);
	{
		int e = ct_tracedir_close(td, "complete");

		if (!rc && e) {
			snprintf(err, errlen, "closing %s: %s", dir, ct_strerror(e));
			rc = e;
		}
	}
	return rc;
}
