// SPDX-License-Identifier: MIT
/*
 * bench/analysis_bt2: what makes `babeltrace2 -o dummy` slow on crosstrace chunks. Writes
 * the same events (a syscall entry: number and six arguments) as CTF 1.8 in variants of
 * crosstrace's layout, changing one thing at a time (alignment, the per-event context,
 * the argument array, the payload size, a string), and reports babeltrace2's CPU time per
 * event for each: CPU time, not wall time, so that other load on the machine matters less.
 * Prints figures; not a test.
 *   ct_bench_analysis_bt2 [--events N] [--dir DIR] [--keep 1]
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* One layout variant. */
struct variant {
	const char *name, *what;
	int natural; /* fields aligned to their size (padding in the data), else byte-aligned */
	int context; /* per-event context: pid, tid, payload size */
	int unrolled; /* six named fields instead of an array of six */
	int small; /* payload: nr and a return value only */
	int string; /* payload adds a 15-character string (a task name) */
	int streams; /* events spread over this many streams (one per CPU and thread) */
};

static const struct variant variants[] = {
	{"crosstrace", "as written today: byte-aligned, pid/tid/size context, u64 args[6]", 0, 1, 0,
	 0, 0},
	{"aligned", "the same fields, each aligned to its size", 1, 1, 0, 0, 0},
	{"no-context", "no per-event context (pid, tid, size)", 0, 0, 0, 0, 0},
	{"unrolled", "args as six fields instead of an array", 0, 1, 1, 0, 0},
	{"small", "payload nr + ret (a syscall exit)", 0, 1, 0, 1, 0},
	{"string", "payload + a 15-character string", 0, 1, 0, 0, 1, 1},
	{"34-streams", "as written today, spread over 34 streams (2 CPUs, 32 threads)", 0, 1, 0, 0,
	 0, 34},
	{"small-34", "payload nr + ret, over 34 streams", 0, 1, 0, 1, 0, 34},
};

/* A bit-position writer for one packet. */
struct pw {
	uint8_t *buf;
	size_t bits;
};

static void align(struct pw *w, unsigned a)
{
	while (w->bits % a)
		w->bits++;
}

static void put(struct pw *w, uint64_t v, unsigned bytes, int natural)
{
	if (natural)
		align(w, bytes * 8);
	memcpy(w->buf + w->bits / 8, &v, bytes);
	w->bits += bytes * 8u;
}

static void put_str(struct pw *w, const char *s)
{
	size_t n = strlen(s) + 1;

	memcpy(w->buf + w->bits / 8, s, n);
	w->bits += n * 8;
}

static const char *metadata_fmt =
	"/* CTF 1.8 */\n"
	"typealias integer { size = 8; align = 8; signed = false; } := uint8_t;\n"
	"typealias integer { size = 16; align = %u; signed = false; } := uint16_t;\n"
	"typealias integer { size = 32; align = %u; signed = false; } := uint32_t;\n"
	"typealias integer { size = 32; align = %u; signed = true; } := int32_t;\n"
	"typealias integer { size = 64; align = %u; signed = false; } := uint64_t;\n"
	"typealias integer { size = 64; align = %u; signed = true; } := int64_t;\n"
	"trace { major = 1; minor = 8; byte_order = le;\n"
	"  uuid = \"2a6422d0-6cee-11e0-8c08-cb07d7b3a564\";\n"
	"  packet.header := struct { uint32_t magic; uint8_t uuid[16]; uint32_t stream_id; };\n"
	"};\n"
	"clock { name = \"monotonic\"; freq = 1000000000; offset_s = 0; };\n"
	"typealias integer { size = 64; align = %u; signed = false; "
	"map = clock.monotonic.value; } := clk_t;\n"
	"stream { id = 0;\n"
	"  packet.context := struct { clk_t timestamp_begin; clk_t timestamp_end;\n"
	"    uint64_t content_size; uint64_t packet_size; };\n"
	"  event.header := struct { uint16_t id; clk_t timestamp; };\n"
	"%s"
	"};\n"
	"event { name = \"syscall_entry\"; id = 64; stream_id = 0; fields := struct {\n%s};\n};\n";

/* Events first, first + step, ... (count of them) of a variant, as one stream file. */
static int write_stream(const char *path, const struct variant *v, unsigned long first,
			unsigned long step, unsigned long count)
{
	size_t cap = 65536;
	uint8_t *buf = malloc(cap);
	unsigned long k = 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (!buf || fd < 0) {
		free(buf);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while (k < count) {
		struct pw w = {buf, 0};
		uint64_t t0 = 1000000000 + (first + k * step) * 500, ts = t0;
		size_t ctx_at;

		memset(buf, 0, cap);
		put(&w, 0xC1FC1FC1u, 4, v->natural);
		w.bits += 16 * 8;
		put(&w, 0, 4, v->natural);
		if (v->natural)
			align(&w, 64);
		ctx_at = w.bits / 8;
		w.bits += 4 * 64; /* the packet context, filled below */
		/* Events while they fit (the largest is under 200 bytes). */
		while (k < count && w.bits / 8 + 200 < cap) {
			unsigned long i = first + k * step;

			ts = 1000000000 + i * 500;
			/* A structure is aligned as its most aligned field (CTF 1.8 4.2.1). */
			if (v->natural)
				align(&w, 64);
			put(&w, 64, 2, v->natural);
			put(&w, ts, 8, v->natural);
			if (v->context) {
				if (v->natural)
					align(&w, 32);
				put(&w, 4242, 4, v->natural);
				put(&w, 4243, 4, v->natural);
				put(&w, v->small ? 12 : 52, 2, v->natural);
			}
			if (v->natural)
				align(&w, 64);
			put(&w, i % 300, 4, v->natural);
			if (v->small) {
				put(&w, 64, 8, v->natural);
			} else {
				for (int a = 0; a < 6; a++)
					put(&w, 0x7f0000000000ull + i * 16 + (uint64_t)a, 8,
					    v->natural);
				if (v->string)
					put_str(&w, "payment-worker1");
			}
			k++;
		}
		align(&w, 8);
		{
			uint64_t ctx[4] = {t0, ts, w.bits, w.bits};

			memcpy(buf + ctx_at, ctx, sizeof(ctx));
		}
		if (write(fd, buf, w.bits / 8) != (ssize_t)(w.bits / 8)) {
			close(fd);
			free(buf);
			return -1;
		}
	}
	free(buf);
	return close(fd);
}

static int write_variant(const char *dir, const struct variant *v, unsigned long events)
{
	char path[4200], meta[4096], fields[512];
	unsigned a16 = v->natural ? 16 : 8, a32 = v->natural ? 32 : 8, a64 = v->natural ? 64 : 8;
	unsigned long streams = v->streams ? (unsigned long)v->streams : 1;
	FILE *f;

	if (mkdir(dir, 0755) && errno != EEXIST)
		return -1;
	if (v->small)
		snprintf(fields, sizeof(fields), "    uint32_t nr;\n    int64_t ret;\n");
	else if (v->unrolled)
		snprintf(fields, sizeof(fields),
			 "    uint32_t nr;\n    uint64_t a0; uint64_t a1; uint64_t a2;\n"
			 "    uint64_t a3; uint64_t a4; uint64_t a5;\n");
	else
		snprintf(fields, sizeof(fields), "    uint32_t nr;\n    uint64_t args[6];\n%s",
			 v->string ? "    string comm;\n" : "");
	snprintf(meta, sizeof(meta), metadata_fmt, a16, a32, a32, a64, a64, a64,
		 v->context ? "  event.context := struct { int32_t pid; int32_t tid; "
			      "uint16_t size; };\n"
			    : "",
		 fields);
	snprintf(path, sizeof(path), "%s/metadata", dir);
	f = fopen(path, "w");
	if (!f || fputs(meta, f) < 0 || fclose(f))
		return -1;
	/* Round robin: every stream covers the whole time range, as CPUs and threads do. */
	for (unsigned long s = 0; s < streams; s++) {
		snprintf(path, sizeof(path), "%s/stream_%lu", dir, s);
		if (write_stream(path, v, s, streams, events / streams + (s < events % streams)))
			return -1;
	}
	return 0;
}

/* babeltrace2 -o dummy dir: CPU seconds (user + system) and wall seconds. */
static int time_bt2(const char *dir, double *cpu, double *wall)
{
	struct timespec a, b;
	struct rusage ru;
	int st;
	pid_t pid;

	clock_gettime(CLOCK_MONOTONIC, &a);
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(null, 2);
		execlp("babeltrace2", "babeltrace2", "-o", "dummy", dir, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || wait4(pid, &st, 0, &ru) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &b);
	*cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
	*wall = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long events = 1000000;
	char base[256] = "/var/tmp/ct-bench-bt2-XXXXXX", dir[512], cmd[600];
	int keep = 0;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--events"))
			events = strtoul(argv[i + 1], NULL, 0);
		else if (!strcmp(argv[i], "--dir"))
			snprintf(base, sizeof(base), "%s", argv[i + 1]);
		else if (!strcmp(argv[i], "--keep"))
			keep = atoi(argv[i + 1]);
	}
	if (strstr(base, "XXXXXX") ? !mkdtemp(base) : mkdir(base, 0755) && errno != EEXIST) {
		perror(base);
		return 1;
	}
	if (system("babeltrace2 --version >/dev/null 2>&1")) {
		fprintf(stderr, "babeltrace2 not found: nothing to compare\n");
		return 1;
	}
	printf("%lu syscall-entry events per variant; babeltrace2 -o dummy, best of 3\n\n", events);
	printf("%-12s %10s %10s %10s  %s\n", "variant", "cpu ns/ev", "M ev/s cpu", "wall s",
	       "what changes");
	for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
		double best_cpu = 1e9, best_wall = 1e9;

		snprintf(dir, sizeof(dir), "%s/%s", base, variants[i].name);
		if (write_variant(dir, &variants[i], events)) {
			fprintf(stderr, "cannot write %s\n", dir);
			return 1;
		}
		/* Best of three: the least disturbed by whatever else runs. */
		for (int r = 0; r < 3; r++) {
			double cpu, wall;

			if (time_bt2(dir, &cpu, &wall)) {
				fprintf(stderr, "babeltrace2 failed on %s\n", dir);
				return 1;
			}
			if (cpu < best_cpu)
				best_cpu = cpu;
			if (wall < best_wall)
				best_wall = wall;
		}
		printf("%-12s %10.0f %10.2f %10.2f  %s\n", variants[i].name,
		       best_cpu * 1e9 / (double)events, (double)events / best_cpu / 1e6, best_wall,
		       variants[i].what);
		fflush(stdout);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	if (keep)
		printf("\nkept in %s\n", base);
	else if (system(cmd))
		fprintf(stderr, "cannot remove %s\n", base);
	return 0;
}
