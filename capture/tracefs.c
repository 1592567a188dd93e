// SPDX-License-Identifier: MIT
/* tracefs discovery and mounting, and the parser of tracepoint format files. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crosstrace/crosstrace.h"
#include "tracefs.h"

static int has_events(const char *dir)
{
	char p[512];
	struct stat st;

	snprintf(p, sizeof(p), "%s/events/raw_syscalls", dir);
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int ct_tracefs_find(char *path, size_t len, int *mounted, char *err, size_t errlen)
{
	static const char *const where[] = {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"};

	if (mounted)
		*mounted = 0;
	for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		if (has_events(where[i])) {
			snprintf(path, len, "%s", where[i]);
			return 0;
		}
	}
	if (mount("nodev", where[0], "tracefs", 0, NULL)) {
		int e = errno;

		snprintf(err, errlen,
			 "tracefs is not mounted and mounting it on %s failed: %s (mount it with "
			 "`mount -t tracefs nodev %s`, or run as root)",
			 where[0], strerror(e), where[0]);
		return -e;
	}
	if (!has_events(where[0])) {
		snprintf(err, errlen,
			 "tracefs mounted on %s lists no raw_syscalls events: the kernel lacks "
			 "tracepoint support (CONFIG_FTRACE_SYSCALLS)",
			 where[0]);
		return -ENOENT;
	}
	if (mounted)
		*mounted = 1;
	snprintf(path, len, "%s", where[0]);
	return 0;
}

/* Parses "field:<decl>;\toffset:N;\tsize:N;\tsigned:N;" starting at p (after "field:"). */
static int parse_field(const char *p, const char *eol, char name[32], struct ct_tp_field *f)
{
	const char *semi = memchr(p, ';', (size_t)(eol - p));
	const char *ne, *nb, *q;
	size_t n;

	if (!semi)
		return -1;
	/* The name is the last identifier of the declaration, before any [N] suffix
	 * ("char prev_comm[16]", "__data_loc char[] filename"). */
	ne = semi;
	while (ne > p && ne[-1] == ' ')
		ne--;
	if (ne > p && ne[-1] == ']') {
		while (ne > p && ne[-1] != '[')
			ne--;
		if (ne > p)
			ne--;
	}
	while (ne > p && ne[-1] == ' ')
		ne--;
	nb = ne;
	while (nb > p && (nb[-1] == '_' || (nb[-1] >= 'a' && nb[-1] <= 'z') ||
			  (nb[-1] >= 'A' && nb[-1] <= 'Z') || (nb[-1] >= '0' && nb[-1] <= '9')))
		nb--;
	n = (size_t)(ne - nb);
	if (!n || n >= 32)
		return -1;
	memcpy(name, nb, n);
	name[n] = 0;
	f->data_loc = (size_t)(semi - p) >= 10 && !strncmp(p, "__data_loc", 10);
	f->offset = f->size = -1;
	f->is_signed = 0;
	for (q = semi; q < eol; q++) {
		if (!strncmp(q, "offset:", 7) && (size_t)(eol - q) > 7)
			f->offset = atoi(q + 7);
		else if (!strncmp(q, "size:", 5) && (size_t)(eol - q) > 5)
			f->size = atoi(q + 5);
		else if (!strncmp(q, "signed:", 7) && (size_t)(eol - q) > 7)
			f->is_signed = atoi(q + 7) != 0;
	}
	if (f->offset < 0 || f->size <= 0 || f->offset > 65535 || f->size > 65535)
		return -1;
	return 0;
}

int ct_tp_format_parse(const char *text, struct ct_tp_format *out)
{
	const char *p = text;
	int have_id = 0;

	memset(out, 0, sizeof(*out));
	while (*p) {
		const char *eol = strchr(p, '\n');
		const char *s = p;

		if (!eol)
			eol = p + strlen(p);
		while (s < eol && (*s == ' ' || *s == '\t'))
			s++;
		if (!strncmp(s, "ID:", 3) && (size_t)(eol - s) > 3) {
			out->id = atoi(s + 3);
			have_id = out->id > 0;
		} else if (!strncmp(s, "field:", 6) && out->n < CT_TP_MAX_FIELDS) {
			if (!parse_field(s + 6, eol, out->names[out->n], &out->fields[out->n]))
				out->n++;
		}
		p = *eol ? eol + 1 : eol;
	}
	return have_id && out->n ? 0 : CT_EFORMAT;
}

int ct_tp_format_read(const char *tracefs, const char *sys, const char *name,
		      struct ct_tp_format *out)
{
	char path[512], buf[16384];
	ssize_t n;
	size_t got = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/events/%s/%s/format", tracefs, sys, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (got < sizeof(buf) - 1 && (n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)n;
	close(fd);
	buf[got] = 0;
	return ct_tp_format_parse(buf, out);
}

const struct ct_tp_field *ct_tp_format_field(const struct ct_tp_format *f, const char *name)
{
	for (int i = 0; i < f->n; i++) {
		if (!strcmp(f->names[i], name))
			return &f->fields[i];
	}
	return NULL;
}
