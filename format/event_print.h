/* SPDX-License-Identifier: MIT */
/*
 * Rendering decoded events for people and scripts: one line of text ("syscall_entry: nr=0,
 * args=[...]") or one JSON object per event, with every field of event.def by name. Used by
 * `crosstrace dump` and by tests that compare our traces with other tools' output.
 */
#ifndef CT_FORMAT_EVENT_PRINT_H
#define CT_FORMAT_EVENT_PRINT_H

#include "event.h"
#include "util/buf.h"

/* Appends "name: f1=v1, f2=v2" (no newline). Strings are quoted and escaped. */
void ct_ev_print_text(const struct ct_event *ev, struct ct_buf *out);

/*
 * Appends one JSON object: {"ts":..,"pid":..,"tid":..,"cpu":..,"type":"name","f1":v1,...}
 * (no newline). BYTES fields are hex strings, ARGS6 arrays of numbers; "cpu" is omitted for
 * non-CPU streams.
 */
void ct_ev_print_json(const struct ct_event *ev, struct ct_buf *out);

#endif
