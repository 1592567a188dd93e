// SPDX-License-Identifier: MIT
/*
 * Trace directory writer: chunk rotation with timestamp routing and a grace period, and the
 * trace.json manifest. See tracedir.h for the contract and docs/internals/tracedir.md for
 * why routing is by timestamp.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "crosstrace/crosstrace.h"
#include "ctf.h"
#include "ctf_stream.h"
#include "tracedir.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/jsonw.h"

#define MAX_OPEN_CHUNKS 4
#define MAX_LOST_KINDS 8

struct lost_count {
	char what[32];
	uint64_t n;
};

/* What the manifest says of one chunk. */
struct chunk_info {
	unsigned index;
	uint64_t begin_ns, end_ns; /* end UINT64_MAX while current */
	int64_t offset_begin, offset_end;
	uint64_t events, bytes, discarded;
	struct lost_count lost[MAX_LOST_KINDS];
	int sealed, removed;
};

struct chunk {
	struct chunk_info *info;
	char dir[PATH_MAX];
	uint8_t uuid[16];
	uint64_t opened_ns;
	uint64_t seal_at_ns; /* when rotated: boundary + grace */
	struct ct_stream_writer **w; /* indexed by stream index; NULL until used */
	size_t nw;
	uint64_t bytes_hint; /* for size rotation, updated on append */
};

struct ct_tdstream {
	struct ct_tracedir *td;
	char name[64];
	uint32_t cpu;
	unsigned idx;
	uint64_t last_ts;
	/*
	 * The open chunk this stream last wrote to and its writer there, valid while fast_gen ==
	 * td->open_gen: most appends go to the same chunk as the one before (the current chunk,
	 * or for the foreign stream the one before it), without looking it and its writer up.
	 */
	unsigned fast_gen;
	uint64_t fast_begin, fast_end; /* the times that chunk covers: [begin, end) */
	struct chunk *fast_c;
	struct ct_stream_writer *fast_w;
};

struct info_kv {
	char *key, *json;
};

struct ct_tracedir {
	struct ct_tracedir_opts o;
	char *path;
	char hostname[256];
	char boot_id[64];
	char kernel[128];
	uint64_t created_real_ns;
	uint64_t created_mono_ns;
	uint8_t trace_uuid[16];

	struct chunk open[MAX_OPEN_CHUNKS]; /* oldest first; the last is current */
	int n_open;
	unsigned open_gen; /* changes whenever open[] does (streams' fast paths); never 0 */

	struct chunk_info *chunks; /* every chunk ever created, by index */
	unsigned n_chunks, cap_chunks;
	unsigned first_kept; /* retention: chunks below were removed */

	struct ct_tdstream **streams;
	unsigned n_streams;

	struct info_kv *info;
	unsigned n_info;

	struct ct_tracedir_stats st;
	struct lost_count lost[MAX_LOST_KINDS];
	int dirty;
	int first_error;
	char status[32];
};

static void read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");

	buf[0] = 0;
	if (!f)
		return;
	if (fgets(buf, (int)len, f))
		buf[strcspn(buf, "\n")] = 0;
	fclose(f);
}

static int mkdir_p(const char *path)
{
	char tmp[PATH_MAX];
	size_t n = strlen(path);

	if (n >= sizeof(tmp))
		return -ENAMETOOLONG;
	memcpy(tmp, path, n + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

static void add_lost(struct lost_count *tab, const char *what, uint64_t n)
{
	for (int i = 0; i < MAX_LOST_KINDS; i++) {
		if (!tab[i].what[0])
			snprintf(tab[i].what, sizeof(tab[i].what), "%s", what);
		if (!strcmp(tab[i].what, what)) {
			tab[i].n += n;
			return;
		}
	}
	/* More kinds than slots: fold into the last one rather than lose the count. */
	tab[MAX_LOST_KINDS - 1].n += n;
}

static void write_lost(struct ct_jsonw *w, const struct lost_count *tab)
{
	ct_jsonw_key(w, "lost");
	ct_jsonw_obj_begin(w);
	for (int i = 0; i < MAX_LOST_KINDS && tab[i].what[0]; i++)
		ct_jsonw_kuint(w, tab[i].what, tab[i].n);
	ct_jsonw_obj_end(w);
}

static int write_file_atomic(const char *dir, const char *name, const char *data, size_t len)
{
	char tmp[PATH_MAX], dst[PATH_MAX];
	int fd, err = 0;

	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
	snprintf(dst, sizeof(dst), "%s/%s", dir, name);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	while (len) {
		ssize_t r = write(fd, data, len);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		data += r;
		len -= (size_t)r;
	}
	if (close(fd) && !err)
		err = -errno;
	if (!err && rename(tmp, dst))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

static int write_manifest(struct ct_tracedir *td)
{
	struct ct_buf b;
	struct ct_jsonw w;
	char uuid[37];
	int err;

	ct_buf_init(&b);
	ct_jsonw_init(&w, &b, 1);
	ct_jsonw_obj_begin(&w);
	ct_jsonw_kstr(&w, "format", "crosstrace-trace");
	ct_jsonw_kint(&w, "version", CT_FORMAT_VERSION);
	ct_jsonw_kstr(&w, "tool", td->o.tool ? td->o.tool : "crosstrace");
	ct_jsonw_kstr(&w, "tool_version", CT_VERSION_STRING);
	ct_uuid_format(td->trace_uuid, uuid);
	ct_jsonw_kstr(&w, "trace_uuid", uuid);
	ct_jsonw_kstr(&w, "status", td->status);
	ct_jsonw_kuint(&w, "created_realtime_ns", td->created_real_ns);
	ct_jsonw_kuint(&w, "created_monotonic_ns", td->created_mono_ns);
	ct_jsonw_key(&w, "host");
	ct_jsonw_obj_begin(&w);
	ct_jsonw_kstr(&w, "hostname", td->hostname);
	ct_jsonw_kstr(&w, "boot_id", td->boot_id);
	ct_jsonw_kstr(&w, "kernel", td->kernel);
	ct_jsonw_kint(&w, "cpus", sysconf(_SC_NPROCESSORS_CONF));
	ct_jsonw_obj_end(&w);
	ct_jsonw_kstr(&w, "clock", "monotonic");
	ct_jsonw_key(&w, "recording");
	ct_jsonw_obj_begin(&w);
	for (unsigned i = 0; i < td->n_info; i++) {
		ct_jsonw_key(&w, td->info[i].key);
		ct_jsonw_raw(&w, td->info[i].json);
	}
	ct_jsonw_obj_end(&w);
	ct_jsonw_key(&w, "totals");
	ct_jsonw_obj_begin(&w);
	ct_jsonw_kuint(&w, "events", td->st.events);
	ct_jsonw_kuint(&w, "bytes", td->st.bytes);
	ct_jsonw_kuint(&w, "chunks", td->st.chunks);
	ct_jsonw_kuint(&w, "chunks_removed", td->st.removed);
	write_lost(&w, td->lost);
	ct_jsonw_obj_end(&w);
	ct_jsonw_key(&w, "chunks");
	ct_jsonw_arr_begin(&w);
	for (unsigned i = td->first_kept; i < td->n_chunks; i++) {
		const struct chunk_info *c = &td->chunks[i];
		char dir[32];

		if (c->removed)
			continue;
		snprintf(dir, sizeof(dir), "chunks/%06u", c->index);
		ct_jsonw_obj_begin(&w);
		ct_jsonw_kuint(&w, "index", c->index);
		ct_jsonw_kstr(&w, "dir", dir);
		ct_jsonw_kbool(&w, "complete", c->sealed);
		ct_jsonw_kuint(&w, "begin_ns", c->begin_ns);
		if (c->end_ns != UINT64_MAX)
			ct_jsonw_kuint(&w, "end_ns", c->end_ns);
		else
			ct_jsonw_kstr(&w, "end_ns", NULL);
		ct_jsonw_kint(&w, "clock_offset_begin_ns", c->offset_begin);
		ct_jsonw_kint(&w, "clock_offset_end_ns", c->offset_end);
		ct_jsonw_kuint(&w, "events", c->events);
		ct_jsonw_kuint(&w, "bytes", c->bytes);
		ct_jsonw_kuint(&w, "discarded", c->discarded);
		write_lost(&w, c->lost);
		ct_jsonw_obj_end(&w);
	}
	ct_jsonw_arr_end(&w);
	ct_jsonw_obj_end(&w);
	ct_buf_putc(&b, '\n');
	err = b.oom ? -ENOMEM : write_file_atomic(td->path, "trace.json", b.data, b.len);
	ct_buf_fini(&b);
	if (!err)
		td->dirty = 0;
	return err;
}

/* Invalidates the streams' cached writers (see struct ct_tdstream). */
static void open_changed(struct ct_tracedir *td)
{
	if (++td->open_gen == 0)
		td->open_gen = 1;
}

static struct chunk_info *new_chunk_info(struct ct_tracedir *td)
{
	if (td->n_chunks == td->cap_chunks) {
		unsigned cap = td->cap_chunks ? td->cap_chunks * 2 : 16;
		size_t at[MAX_OPEN_CHUNKS];
		struct chunk_info *p;

		/* The open chunks point into the array: move them along with it. */
		for (int i = 0; i < td->n_open; i++)
			at[i] = (size_t)(td->open[i].info - td->chunks);
		p = realloc(td->chunks, cap * sizeof(*p));
		if (!p)
			return NULL;
		td->chunks = p;
		td->cap_chunks = cap;
		for (int i = 0; i < td->n_open; i++)
			td->open[i].info = &p[at[i]];
		open_changed(td);
	}
	memset(&td->chunks[td->n_chunks], 0, sizeof(td->chunks[0]));
	td->chunks[td->n_chunks].index = td->n_chunks;
	return &td->chunks[td->n_chunks++];
}

/* Opens chunk number n_chunks starting at begin_ns as the new current chunk. */
static int open_chunk(struct ct_tracedir *td, uint64_t begin_ns)
{
	struct chunk *c = &td->open[td->n_open];
	struct ct_ctf_env env = {0};
	struct ct_buf meta;
	struct chunk_info *ci;
	int err;

	memset(c, 0, sizeof(*c));
	ci = new_chunk_info(td);
	if (!ci)
		return -ENOMEM;
	snprintf(c->dir, sizeof(c->dir), "%s/chunks/%06u", td->path, ci->index);
	err = mkdir_p(c->dir);
	if (err) {
		td->n_chunks--;
		return err;
	}
	err = ct_uuid_generate(c->uuid);
	if (err) {
		td->n_chunks--;
		return err;
	}
	ci->begin_ns = begin_ns;
	ci->end_ns = UINT64_MAX;
	ci->offset_begin = ct_clock_offset_ns(NULL);
	c->info = ci;
	c->opened_ns = ct_mono_ns();

	memcpy(env.uuid, c->uuid, 16);
	env.clock_offset_ns = ci->offset_begin;
	env.hostname = td->hostname;
	env.boot_id = td->boot_id;
	env.domain = "crosstrace";
	env.chunk_index = ci->index;
	ct_buf_init(&meta);
	ct_ctf_metadata(&meta, &env);
	err = meta.oom ? -ENOMEM : write_file_atomic(c->dir, "metadata", meta.data, meta.len);
	ct_buf_fini(&meta);
	if (err) {
		td->n_chunks--;
		return err;
	}
	td->n_open++;
	open_changed(td);
	td->st.chunks++;
	td->dirty = 1;
	return 0;
}

static int remove_chunk_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[PATH_MAX];

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' && (!e->d_name[1] || !strcmp(e->d_name, "..")))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		unlink(p);
	}
	closedir(d);
	return rmdir(dir) ? -errno : 0;
}

/* Retention: drop the oldest sealed chunks while over max_chunks / max_bytes. */
static void apply_retention(struct ct_tracedir *td)
{
	for (;;) {
		unsigned kept = 0, oldest = UINT_MAX;
		uint64_t bytes = 0;
		char dir[PATH_MAX];

		for (unsigned i = td->first_kept; i < td->n_chunks; i++) {
			struct chunk_info *c = &td->chunks[i];

			if (!c->sealed || c->removed)
				continue;
			kept++;
			bytes += c->bytes;
			if (oldest == UINT_MAX)
				oldest = i;
		}
		if (oldest == UINT_MAX)
			return;
		if (!((td->o.max_chunks && kept > td->o.max_chunks) ||
		      (td->o.max_bytes && bytes > td->o.max_bytes && kept > 1)))
			return;
		snprintf(dir, sizeof(dir), "%s/chunks/%06u", td->path, oldest);
		remove_chunk_dir(dir);
		td->chunks[oldest].removed = 1;
		td->st.removed++;
		td->dirty = 1;
		while (td->first_kept < td->n_chunks && td->chunks[td->first_kept].removed)
			td->first_kept++;
		if (td->o.on_chunk)
			td->o.on_chunk(td->o.on_chunk_arg, "removed", oldest, dir);
	}
}

/* Seals the oldest open chunk: closes its streams and records it in the manifest. */
static int seal_oldest(struct ct_tracedir *td)
{
	struct chunk *c = &td->open[0];
	struct chunk_info *ci = c->info;
	int err = 0;
	unsigned index = ci->index;
	char dir[PATH_MAX];

	ci->bytes = 0;
	for (size_t i = 0; i < c->nw; i++) {
		struct ct_stream_stats st;
		int e;

		if (!c->w[i])
			continue;
		e = ct_stream_writer_close_stats(c->w[i], &st);
		ci->bytes += st.bytes;
		if (e && !err)
			err = e;
	}
	free(c->w);
	ci->offset_end = ct_clock_offset_ns(NULL);
	ci->sealed = 1;
	if (ci->end_ns == UINT64_MAX) {
		/* The newest chunk ends now, or after its last event if that is later (times
		 * converted from another clock may run ahead of this host's): a chunk covers all
		 * its events, as readers and merges across chunks expect. */
		ci->end_ns = ct_mono_ns();
		for (unsigned i = 0; i < td->n_streams; i++)
			if (td->streams[i]->last_ts >= ci->end_ns)
				ci->end_ns = td->streams[i]->last_ts + 1;
	}
	memcpy(dir, c->dir, sizeof(dir));
	memmove(&td->open[0], &td->open[1], (size_t)(td->n_open - 1) * sizeof(td->open[0]));
	td->n_open--;
	open_changed(td);
	td->dirty = 1;
	apply_retention(td);
	if (write_manifest(td) && !err)
		err = -EIO;
	if (td->o.on_chunk)
		td->o.on_chunk(td->o.on_chunk_arg, "sealed", index, dir);
	return err;
}

static void note_error(struct ct_tracedir *td, int err)
{
	if (err && !td->first_error)
		td->first_error = err;
}

int ct_tracedir_rotate(struct ct_tracedir *td, uint64_t now_ns)
{
	struct chunk *cur = &td->open[td->n_open - 1];
	int err;

	if (now_ns <= cur->info->begin_ns)
		return 0; /* an empty time range cannot hold events: nothing to rotate */
	if (td->n_open == MAX_OPEN_CHUNKS) {
		err = seal_oldest(td);
		note_error(td, err);
		cur = &td->open[td->n_open - 1];
	}
	cur->info->end_ns = now_ns;
	cur->seal_at_ns = now_ns + td->o.grace_ns;
	err = open_chunk(td, now_ns);
	if (err) {
		/* Keep writing into the current chunk rather than lose events. */
		cur->info->end_ns = UINT64_MAX;
		cur->seal_at_ns = 0;
	}
	return err;
}

int ct_tracedir_tick(struct ct_tracedir *td, uint64_t now_ns)
{
	struct chunk *cur = &td->open[td->n_open - 1];
	int err = 0;

	if ((td->o.rotate_ns && now_ns - cur->opened_ns >= td->o.rotate_ns) ||
	    (td->o.rotate_bytes && cur->bytes_hint >= td->o.rotate_bytes))
		err = ct_tracedir_rotate(td, now_ns);
	while (td->n_open > 1 && now_ns >= td->open[0].seal_at_ns) {
		int e = seal_oldest(td);

		if (e && !err)
			err = e;
	}
	if (td->dirty && !err)
		err = write_manifest(td);
	note_error(td, err);
	return err;
}

static int valid_name(const char *name)
{
	size_t n = strlen(name);

	if (!n || n >= 64 || name[0] == '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.'))
			return 0;
	}
	return strcmp(name, "metadata") != 0;
}

int ct_tracedir_stream(struct ct_tracedir *td, const char *name, uint32_t cpu_id,
		       struct ct_tdstream **out)
{
	struct ct_tdstream *s, **p;

	if (!valid_name(name))
		return -EINVAL;
	for (unsigned i = 0; i < td->n_streams; i++) {
		if (!strcmp(td->streams[i]->name, name)) {
			*out = td->streams[i];
			return 0;
		}
	}
	p = realloc(td->streams, (td->n_streams + 1) * sizeof(*p));
	if (!p)
		return -ENOMEM;
	td->streams = p;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->td = td;
	s->cpu = cpu_id;
	s->idx = td->n_streams;
	td->streams[td->n_streams++] = s;
	*out = s;
	return 0;
}

/* The open chunk that covers ts, or NULL when ts is older than all of them. */
static struct chunk *chunk_for(struct ct_tracedir *td, uint64_t ts)
{
	for (int i = td->n_open - 1; i >= 0; i--) {
		if (ts >= td->open[i].info->begin_ns)
			return &td->open[i];
	}
	return NULL;
}

static int writer_for(struct ct_tracedir *td, struct chunk *c, struct ct_tdstream *s,
		      struct ct_stream_writer **out)
{
	char path[PATH_MAX];
	int err;

	if (s->idx >= c->nw) {
		size_t n = td->n_streams;
		struct ct_stream_writer **w = realloc(c->w, n * sizeof(*w));

		if (!w)
			return -ENOMEM;
		memset(w + c->nw, 0, (n - c->nw) * sizeof(*w));
		c->w = w;
		c->nw = n;
	}
	if (!c->w[s->idx]) {
		snprintf(path, sizeof(path), "%s/%s", c->dir, s->name);
		err = ct_stream_writer_new(&c->w[s->idx], path, c->uuid, s->cpu,
					   td->o.packet_bytes);
		if (err)
			return err;
	}
	*out = c->w[s->idx];
	return 0;
}

/* Why an event is dropped (stream_at's answers other than 0 and errors). */
enum { DROP_ORDER = 1, DROP_LATE };

/* stream_at when the fast path does not apply: looks the chunk and the writer up. */
static int stream_find(struct ct_tdstream *s, uint64_t ts, struct chunk **cp,
		       struct ct_stream_writer **wp)
{
	struct ct_tracedir *td = s->td;
	struct chunk *c;
	int err;

	if (ts < s->last_ts)
		return DROP_ORDER;
	c = chunk_for(td, ts);
	if (!c)
		return DROP_LATE;
	*cp = c;
	err = writer_for(td, c, s, wp);
	if (!err) {
		s->fast_gen = td->open_gen;
		s->fast_begin = c->info->begin_ns;
		/* chunk_for's answer until open[] changes: up to the next chunk's begin. */
		s->fast_end = c == &td->open[td->n_open - 1] ? UINT64_MAX : c[1].info->begin_ns;
		s->fast_c = c;
		s->fast_w = *wp;
	}
	return err;
}

/*
 * The chunk covering ts and this stream's writer there. Returns 0, DROP_ORDER (ts goes back in
 * the stream), DROP_LATE (older than every open chunk) or writer_for's error (*cp is set).
 */
static inline int stream_at(struct ct_tdstream *s, uint64_t ts, struct chunk **cp,
			    struct ct_stream_writer **wp)
{
	if (s->fast_gen == s->td->open_gen && ts >= s->fast_begin && ts < s->fast_end &&
	    ts >= s->last_ts) {
		/* In order, for the chunk of the last append, whose writer this stream has. */
		*cp = s->fast_c;
		*wp = s->fast_w;
		return 0;
	}
	return stream_find(s, ts, cp, wp);
}

/* Counts n events dropped for stream_at's reason why. Returns 1 (ct_tdstream_append's). */
static int count_dropped(struct ct_tracedir *td, int why, uint64_t n)
{
	if (why == DROP_ORDER) {
		td->st.out_of_order += n;
		add_lost(td->lost, "out_of_order", n);
	} else {
		td->st.late += n;
		add_lost(td->lost, "late", n);
	}
	td->dirty = 1;
	return 1;
}

/* Counts n events that could not be written into chunk c (err: the first's error). Returns err. */
static int count_failed(struct ct_tracedir *td, struct chunk *c, int err, uint64_t n)
{
	td->st.write_errors += n;
	add_lost(td->lost, "write_errors", n);
	add_lost(c->info->lost, "write_errors", n);
	c->info->discarded += n;
	note_error(td, err);
	td->dirty = 1;
	return err;
}

/* Counts n events written into chunk c at ts, bytes with their CTF headers. */
static void count_written(struct ct_tdstream *s, struct chunk *c, uint64_t ts, uint64_t n,
			  uint64_t bytes)
{
	s->last_ts = ts;
	c->info->events += n;
	c->info->bytes += bytes;
	c->bytes_hint += bytes;
	s->td->st.events += n;
	s->td->st.bytes += bytes;
}

int ct_tdstream_append(struct ct_tdstream *s, uint16_t id, uint64_t ts, int32_t pid, int32_t tid,
		       const void *payload, size_t len)
{
	struct ct_stream_writer *w;
	struct chunk *c;
	int err = stream_at(s, ts, &c, &w);

	if (err > 0)
		return count_dropped(s->td, err, 1);
	if (!err)
		err = ct_stream_writer_append(w, id, ts, pid, tid, payload, len);
	if (err)
		return count_failed(s->td, c, err, 1);
	count_written(s, c, ts, 1, CT_CTF_EVENT_HEADER_SIZE + len);
	return 0;
}

/* The number of events in run[0..len). */
static uint64_t run_events(const uint8_t *p, size_t len)
{
	const uint8_t *end = p + len;
	uint64_t n = 0;

	while (end - p >= (ptrdiff_t)sizeof(struct ct_ev_run_hdr)) {
		struct ct_ev_run_hdr h;

		memcpy(&h, p, sizeof(h));
		p += sizeof(h) + h.len;
		n++;
	}
	return n;
}

int ct_tdstream_append_run(struct ct_tdstream *s, uint64_t ts, int32_t pid, int32_t tid,
			   const void *run, size_t len)
{
	uint64_t n = run_events(run, len), ok = 0, bytes = 0;
	struct ct_stream_writer *w;
	struct chunk *c;
	int err = stream_at(s, ts, &c, &w);

	if (err > 0)
		return count_dropped(s->td, err, n);
	if (!err)
		err = ct_stream_writer_append_run(w, ts, pid, tid, run, len, &ok, &bytes);
	if (ok)
		count_written(s, c, ts, ok, bytes);
	if (ok < n)
		return count_failed(s->td, c, err, n - ok);
	return 0;
}

void ct_tdstream_lost(struct ct_tdstream *s, const char *what, uint64_t ts, uint64_t n)
{
	struct ct_tracedir *td = s->td;
	struct chunk *c = chunk_for(td, ts);
	struct ct_stream_writer *w;

	if (!n)
		return;
	if (!c)
		c = &td->open[0];
	add_lost(td->lost, what, n);
	add_lost(c->info->lost, what, n);
	c->info->discarded += n;
	td->st.lost += n;
	td->dirty = 1;
	if (writer_for(td, c, s, &w) == 0)
		ct_stream_writer_discarded(w, n);
}

int ct_tracedir_set_info(struct ct_tracedir *td, const char *key, const char *json)
{
	char *j = strdup(json), *k;
	struct info_kv *p;

	if (!j)
		return -ENOMEM;
	for (unsigned i = 0; i < td->n_info; i++) {
		if (!strcmp(td->info[i].key, key)) {
			free(td->info[i].json);
			td->info[i].json = j;
			td->dirty = 1;
			return 0;
		}
	}
	k = strdup(key);
	p = k ? realloc(td->info, (td->n_info + 1) * sizeof(*p)) : NULL;
	if (!p) {
		free(k);
		free(j);
		return -ENOMEM;
	}
	td->info = p;
	td->info[td->n_info].key = k;
	td->info[td->n_info].json = j;
	td->n_info++;
	td->dirty = 1;
	return 0;
}

void ct_tracedir_stats(const struct ct_tracedir *td, struct ct_tracedir_stats *st)
{
	*st = td->st;
}

const char *ct_tracedir_path(const struct ct_tracedir *td)
{
	return td->path;
}

static int is_trace_dir(const char *path)
{
	char p[PATH_MAX];
	struct stat sb;

	snprintf(p, sizeof(p), "%s/trace.json", path);
	if (stat(p, &sb) == 0)
		return 1;
	snprintf(p, sizeof(p), "%s/chunks", path);
	return stat(p, &sb) == 0;
}

int ct_tracedir_create(struct ct_tracedir **out, const struct ct_tracedir_opts *opts, char *errbuf,
		       size_t errlen)
{
	struct ct_tracedir *td;
	struct utsname u;
	int err;

	if (!opts->path || !opts->path[0]) {
		snprintf(errbuf, errlen, "no trace directory given");
		return -EINVAL;
	}
	if (is_trace_dir(opts->path)) {
		snprintf(errbuf, errlen,
			 "%s already holds a trace (trace.json or chunks/): choose a new directory "
			 "or remove it",
			 opts->path);
		return -EEXIST;
	}
	err = mkdir_p(opts->path);
	if (!err && access(opts->path, W_OK))
		err = -errno;
	if (err) {
		snprintf(errbuf, errlen, "cannot create trace directory %s: %s", opts->path,
			 ct_strerror(err));
		return err;
	}
	td = calloc(1, sizeof(*td));
	if (!td || !(td->path = strdup(opts->path))) {
		free(td);
		return -ENOMEM;
	}
	td->o = *opts;
	if (!td->o.grace_ns)
		td->o.grace_ns = 1000000000ull;
	snprintf(td->status, sizeof(td->status), "recording");
	gethostname(td->hostname, sizeof(td->hostname) - 1);
	read_line("/proc/sys/kernel/random/boot_id", td->boot_id, sizeof(td->boot_id));
	if (uname(&u) == 0)
		snprintf(td->kernel, sizeof(td->kernel), "%s", u.release);
	td->created_real_ns = ct_real_ns();
	err = ct_uuid_generate(td->trace_uuid);
	td->created_mono_ns = ct_mono_ns();
	/* The first chunk takes everything older too: statedumps and ring contents from before
	 * the directory existed belong to the recording. */
	if (!err)
		err = open_chunk(td, 0);
	if (!err)
		err = write_manifest(td);
	if (err) {
		snprintf(errbuf, errlen, "cannot write trace directory %s: %s", opts->path,
			 ct_strerror(err));
		ct_tracedir_close(td, "failed");
		return err;
	}
	*out = td;
	return 0;
}

int ct_tracedir_close(struct ct_tracedir *td, const char *status)
{
	int err;

	if (!td)
		return 0;
	err = td->first_error;
	while (td->n_open > 0) {
		int e;

		if (td->n_open == 1)
			snprintf(td->status, sizeof(td->status), "%s",
				 status ? status : "complete");
		e = seal_oldest(td);
		if (e && !err)
			err = e;
	}
	for (unsigned i = 0; i < td->n_streams; i++)
		free(td->streams[i]);
	for (unsigned i = 0; i < td->n_info; i++) {
		free(td->info[i].key);
		free(td->info[i].json);
	}
	free(td->info);
	free(td->streams);
	free(td->chunks);
	free(td->path);
	free(td);
	return err;
}
