/* SPDX-License-Identifier: MIT */
/*
 * tracefs: where it is (/sys/kernel/tracing, or /sys/kernel/debug/tracing under debugfs),
 * mounting it when neither is populated, and what the perf backend needs from it: tracepoint
 * ids and the field layout of each tracepoint's raw record (its "format" file).
 */
#ifndef CT_CAPTURE_TRACEFS_H
#define CT_CAPTURE_TRACEFS_H

#include <stddef.h>

/*
 * Finds a tracefs that lists events, mounting tracefs on /sys/kernel/tracing when none does
 * (the mount is left in place, as other tools expect it there). Fills path; *mounted (may be
 * NULL) tells whether this call mounted it. Returns 0, or a negative errno with a message in
 * err naming the mount point and the remedy. Not thread-safe (mounts).
 */
int ct_tracefs_find(char *path, size_t len, int *mounted, char *err, size_t errlen);

/* A field of a tracepoint's raw record. */
struct ct_tp_field {
	int offset;
	int size;
	int is_signed;
	int data_loc; /* __data_loc: the field holds u16 offset | u16 length << 16 */
};

#define CT_TP_MAX_FIELDS 24

/* The parsed format file of one tracepoint. */
struct ct_tp_format {
	int id;
	int n;
	char names[CT_TP_MAX_FIELDS][32];
	struct ct_tp_field fields[CT_TP_MAX_FIELDS];
};

/*
 * Parses the text of a format file (NUL-terminated). Returns 0, or CT_EFORMAT when it has no
 * ID or no field. Fields beyond CT_TP_MAX_FIELDS are ignored. Pure: no I/O, thread-safe.
 */
int ct_tp_format_parse(const char *text, struct ct_tp_format *out);

/*
 * Reads and parses <tracefs>/events/<sys>/<name>/format. Returns 0, -ENOENT when the
 * tracepoint does not exist, or another negative code.
 */
int ct_tp_format_read(const char *tracefs, const char *sys, const char *name,
		      struct ct_tp_format *out);

/* The field called name, or NULL. */
const struct ct_tp_field *ct_tp_format_field(const struct ct_tp_format *f, const char *name);

#endif
