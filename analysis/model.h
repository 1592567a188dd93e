/* SPDX-License-Identifier: MIT */
/*
 * The analysis engine's internal model, shared by its files: threads with their state
 * intervals and syscall records, scope frames (which span is current where), fd infos,
 * processes, spans, and the partial that holds them. How partials stitch and settle is told
 * in docs/internals/analysis.md; this header states the invariants each file relies on.
 * Not thread-safe: one partial, one thread at a time.
 */
#ifndef CT_ANALYSIS_MODEL_H
#define CT_ANALYSIS_MODEL_H

#include <stdint.h>

#include "analysis.h"
#include "hmap.h"
#include "vec.h"

#define NOIDX UINT32_MAX
#define NO_END UINT64_MAX

/* ---- thread states ---- */

enum ts_state {
	TS_UNKNOWN = 0, /* no kernel data (yet) */
	TS_RUNNING,
	TS_RUNNABLE,
	TS_BLOCKED,
	TS_DEAD,
};

/* ival.flags */
#define IV_PREEMPTED 0x01 /* RUNNABLE: preempted; other = the task that took the CPU */
#define IV_WOKEN 0x02 /* RUNNABLE: woken, waiting for a CPU; BLOCKED: ended by a wake-up */
#define IV_NEW 0x04 /* RUNNABLE: a new thread waiting for its first run */
#define IV_DSTATE 0x08 /* BLOCKED: uninterruptible sleep */
#define IV_WAKE_IRQ 0x10 /* BLOCKED: woken from interrupt context (no waker thread) */
#define IV_PREFIX 0x20 /* starts at the partial's begin with a state inferred from later */
#define IV_NOINFO 0x40 /* UNKNOWN because no kernel event told the state (soft: left knows) */
#define IV_GAP 0x80 /* UNKNOWN because the data is missing */

/*
 * One state interval of a thread: [start, next interval's start), the last one open. Each
 * change of state, syscall, or the thread's own current scope starts a new interval. A change
 * of the process-wide scope does not: that lives once per process (proc.tl), and readers see
 * an interval as pieces (struct piece), cut where the process-wide scope changes.
 */
struct ival {
	uint64_t start; /* ns */
	struct frame *own; /* the thread's innermost scope (ref), or NULL */
	uint32_t sc; /* absolute index of the thread's syscall record in progress, or NOIDX */
	int32_t other; /* RUNNABLE+PREEMPTED: preemptor tid; BLOCKED: waker tid, -1 irq, 0 ? */
	uint16_t cpu; /* RUNNABLE: the CPU it waits for (NO_CPU: unknown) */
	uint8_t state; /* enum ts_state */
	uint8_t flags; /* IV_* */
};

#define NO_CPU 0xffff

/* screc.flags */
#define SC_NO_ENTRY 0x01 /* entry not seen: arguments unknown */
#define SC_NO_EXIT 0x02 /* exit never seen (lost, or the data ends) */
#define SC_PREFIX 0x04 /* what the thread was doing when the partial began: unknown syscall */
#define SC_PREFIX_EXIT 0x08 /* prefix record: the exit of that syscall was seen (exit_nr) */

/* One system call of a thread. */
struct screc {
	uint64_t entry_ts, exit_ts; /* exit_ts NO_END while running */
	uint64_t args[6];
	int64_t ret;
	struct fdinfo *fd; /* the fd argument resolved at entry (ref), or NULL */
	struct frame *own, *proc; /* current scopes at entry (refs) */
	char *text; /* path or socket address given to the call (owned), or NULL */
	int32_t fdnum; /* the fd argument, -1 when none */
	int32_t tid; /* detail copies only: the thread */
	uint16_t nr; /* for a prefix record: the nr its exit reported, when SC_PREFIX_EXIT */
	uint16_t flags; /* SC_* */
};

/* Kernel events kept per thread for span detail. */
enum kev_type { KEV_BLOCK_IO, KEV_FORK, KEV_EXEC, KEV_EXIT, KEV_RENAME, KEV_UNKNOWN_EVENT };

struct kev {
	uint64_t ts;
	uint64_t a, b; /* BLOCK_IO: bytes, latency ns (0 unknown); FORK: child tid */
	char *text; /* owned: rwbs / comm / filename */
	uint8_t type;
};

/* thread.first_check */
#define FC_SWITCH_IN 1 /* switched in: a wake-up was lost if it was blocked */
#define FC_OWN 2 /* ran its own event: a switch-in was lost if it was blocked or runnable */

/* thread.flags */
#define TH_KERNEL 0x01 /* a kernel event described this thread */
#define TH_EXITING 0x02 /* process_exit seen (the exit state of its last switch says gone) */
#define TH_FROM_FORK 0x04 /* created by a fork inside this partial (no prefix) */

struct thread {
	int32_t tid, pid;
	struct proc *pr; /* its process (borrowed; a cache of pr_find(pid)), or NULL */
	char comm[16];
	CT_VEC(struct ival) iv; /* time order; iv.v[iv.n-1] is open */
	CT_VEC(struct screc) sc; /* entry order */
	uint32_t sc_base; /* absolute index of sc.v[0] */
	uint32_t cur_sc; /* absolute index of the record in progress, or NOIDX */
	uint32_t prefix_sc; /* absolute index of the prefix record, NOIDX when none */
	struct frame *own; /* innermost own scope (ref), NULL when none */
	CT_VEC(struct kev) kev;
	uint32_t kev_base; /* absolute index of kev.v[0] */
	uint32_t floor_pops; /* soft: floors popped so far */
	/* when it got its first interval in this partial; its process-wide scope before then
	 * (a prefix interval reaches back to the partial's begin) is the one current then */
	uint64_t first_ev;
	uint16_t wcpu; /* the CPU its next RUNNABLE interval waits for (NO_CPU: unknown) */
	/* soft: the consistency check its first event would have made against the state
	 * before the partial (FC_*), made by stitching once that state is known */
	uint8_t first_check;
	uint64_t first_own_ts; /* FC_OWN: when (the state before ends there, it runs from then) */
	/* soft: an inconsistency counted at its first own event because the wake-up that began
	 * the partial made it runnable (moot if the wake-up changed nothing) */
	uint8_t wake_anomaly;
	/* switched in while blocked, no wake-up seen: an inconsistency when its process is
	 * traced (counted at the end); expected of a task outside the traced processes, seen
	 * only when it switches with a traced one */
	uint32_t lost_wakes;
	uint8_t flags;
};

/* ---- scopes ---- */

#define FR_FLOOR 0x01 /* soft: what was current on the thread/process when the partial began */
#define FR_PROC 0x02 /* process-wide (tid 0) scope */
#define FR_EXITED 0x04
#define FR_EMPTY 0x08 /* a floor resolved to "nothing was current" */

/*
 * A scope: span made current on a thread (or process) until exit_ts. Frames
 * form stacks through parent. A floor frame stands for the unknown stack at the partial's
 * begin; stitching resolves it by fwd to the left partial's frame (or FR_EMPTY).
 */
struct frame {
	uint64_t span; /* span id; floors: learnt when popped, else 0 */
	uint64_t trace_hi, trace_lo; /* the span's trace (scope_enter carries it) */
	struct frame *parent; /* ref */
	struct frame *fwd; /* floor: what it stands for (ref) */
	struct frame *prev, *next; /* the partial's list of all frames */
	uint64_t exit_ts;
	int32_t tid, pid; /* tid 0 for process-wide */
	uint32_t refs;
	uint16_t level; /* floor depth: 0 = innermost */
	uint8_t flags;
	/* annotate.c's memo within the sweep that has token q_tok: whether the swept span lies
	 * in this chain (1 yes, 0 no, -1 an unresolved floor comes first). Both fit where the
	 * frame had room: frames are many, and a bigger one costs the analysis ~4%. */
	int8_t q_in;
	uint64_t q_tok;
};

/* ---- fds ---- */

#define FD_PENDING 0x01 /* soft: used before being defined in this partial */
#define FD_FROM_PREFIX 0x02 /* soft: defined by the exit of the thread's prefix syscall */
#define FD_UNKNOWN 0x04 /* never defined anywhere */

struct fdinfo {
	struct fdinfo *fwd; /* pending: resolved to (ref) */
	struct fdinfo *type_of; /* connect/bind: the socket whose type this has (ref) */
	struct fdinfo *via; /* accepted without the peer's address: the listening socket (ref) */
	struct fdinfo *prev, *next; /* the partial's list */
	char *name; /* owned; NULL for pending */
	int32_t pid, fd, tid; /* what a pending one stands for */
	int64_t ret; /* FROM_PREFIX: the exit's return value */
	uint64_t born; /* when made (pending: first used), ns */
	uint32_t refs;
	uint8_t type; /* enum ct_fd_type */
	uint8_t flags;
};

/* ---- processes ---- */

struct attr;
CT_VEC_DEF(attr_vec, struct attr);

/* From ts on, the process-wide innermost scope of a process is top (ref; NULL: none). */
struct pscope {
	uint64_t ts;
	struct frame *top;
	/* in the first entry of an instant: how many entries after it have its ts (else 0), so
	 * that a sweep steps over the changes of one instant at once (the feed's repairs make
	 * about ten, and every open span's sweep steps over them) */
	uint32_t same;
};

struct proc {
	int32_t pid;
	char *service, *comm, *sdk, *host;
	struct ct_hmap fds; /* fd + 1 → struct fdinfo * (ref) */
	struct frame *pstack; /* process-wide innermost scope (ref), NULL when none */
	CT_VEC(int32_t) tids; /* its threads, in order of appearance */
	/* thr.v[i] is the thread of tids.v[i] (borrowed), for a prefix of tids: filled as those
	 * threads exist (pr_thread), since a process-wide sweep visits them all */
	CT_VEC(struct thread *) thr;
	struct attr_vec rattrs; /* resource attributes (span_id 0) */
	uint32_t pfloor_pops;
	/* The process-wide scope through time, one entry per scope change, in time order; before
	 * the first, tl_before (ref: NULL, or in a soft partial the floor for the scope at its
	 * begin). Pruned like intervals: the entry that covers the horizon stays. */
	CT_VEC(struct pscope) tl;
	uint32_t tl_run; /* the first entry of the last instant in tl */
	struct frame *tl_before;
	int32_t fork_parent; /* soft: forked inside this partial from that pid (0: not) */
	uint8_t svc_known; /* service came from PROCESS_INFO/service.name */
	uint8_t traced; /* its own kernel events are recorded (syscalls, fork, exec...) */
};

/* ---- spans ---- */

struct attr {
	char *key;
	char *s; /* string value (owned) */
	int64_t i;
	double d;
	uint16_t owner; /* 0 span, 1.. event index, 0x8000|k link k */
	uint8_t type; /* 1 str, 2 int, 3 double, 4 bool */
};

struct sevent {
	uint64_t time; /* the event's own time */
	uint64_t ev_ts; /* when it was recorded: phases change at this time */
	char *name;
	uint16_t index;
};

struct slink {
	uint64_t trace_hi, trace_lo, span;
	uint16_t index;
	uint8_t flags;
};

/* A thread a span was current on (own scopes). */
struct spthread {
	int32_t tid;
	uint32_t last_sc; /* sweep: the last syscall record counted (absolute), or NOIDX */
	uint64_t first, last; /* first enter, last exit (NO_END while current) */
};

/* span.flags */
#define SP_STARTED 0x01 /* span_start seen in this partial (else a stub for foreign data) */
#define SP_ENDED 0x02
#define SP_ROOT 0x04 /* a request: no parent open when it started */
#define SP_ROOT_PENDING 0x08 /* soft: parent not open here; the left partial decides */
#define SP_PROCWIDE 0x10 /* made current with tid 0 */

/* Cause of time (for "62% blocked in fsync(/data/orders.db)"). */
struct cause {
	uint64_t key; /* what makes the text (an_cause_key) */
	uint64_t thash; /* hash of the text */
	char *text; /* owned */
	uint64_t ns;
	int32_t by; /* dominant waker/preemptor tid so far */
	uint64_t by_ns;
	uint8_t cat;
};

CT_VEC_DEF(cause_vec, struct cause);

struct scsum {
	char *phase; /* owned; NULL before any span event */
	uint16_t nr;
	uint64_t count, ns;
};

struct critseg {
	uint64_t start, dur;
	uint64_t span; /* innermost span of that thread then, 0 none */
	char *detail; /* owned: cause text */
	int32_t tid, pid;
	uint8_t cat;
	uint8_t same_trace;
};

struct critpath {
	CT_VEC(struct critseg) seg; /* time order */
	uint8_t truncated;
};

/* A span being followed (open, or ended and not yet settled). */
struct span {
	uint64_t id, parent, trace_hi, trace_lo;
	uint64_t start, end; /* ns: the span's own times (payload) */
	uint64_t start_ev, end_ev; /* timestamps of its start/end events */
	int32_t pid, tid, end_tid;
	uint8_t kind, status;
	uint16_t flags; /* SP_* */
	uint32_t incomplete; /* CT_INC_* */
	char *name, *status_msg;
	struct attr_vec attrs;
	CT_VEC(struct sevent) events;
	CT_VEC(struct slink) links;
	CT_VEC(struct spthread) threads;
	/* accounting (settled partials) */
	uint64_t swept; /* accounted up to (ns) */
	uint64_t cat[CT_CAT_N];
	struct cause_vec causes;
	CT_VEC(struct scsum) scs;
	uint64_t procwide_floor_exit; /* soft stub: process-wide floor popped at (NO_END: not) */
	uint32_t orphan_data; /* soft stub: attributes/events/links met (anomalies if no start) */
};

/* A finished span (settled). */
struct fspan {
	uint64_t id, parent, trace_hi, trace_lo, start, end;
	int32_t pid, tid, end_tid;
	uint8_t kind, status, root;
	uint16_t flags;
	uint32_t incomplete;
	char *name, *status_msg;
	uint64_t cat[CT_CAT_N];
	struct cause_vec causes; /* sorted: ns desc, text */
	CT_VEC(struct scsum) scs; /* sorted */
	struct attr_vec attrs;
	CT_VEC(struct sevent) events;
	CT_VEC(struct slink) links;
	CT_VEC(int32_t) tids;
	uint8_t labelled; /* causes merged by their final words (settle.c) */
	/* full detail */
	uint8_t detailed;
	CT_VEC(struct screc) dsc; /* copies: fd/own/proc NULL, text owned; fdnum/nr kept */
	CT_VEC(char *) dsc_target; /* resolved fd text per dsc */
	uint32_t dsc_omitted;
	CT_VEC(struct kev) dkev; /* kernel events (text owned) */
	uint32_t dkev_omitted;
	struct critpath *cp; /* roots only, when kept */
	uint32_t refs; /* shared between lists (top-k, requests, keep_spans) */
};

/* A span that ended, in the compact form critical paths need to jump into children. */
struct endrec {
	uint64_t id, parent, start, end, end_ev;
	int32_t pid, end_tid, start_tid;
	uint32_t next_sibling; /* index of the previous end with the same parent, or NOIDX */
};

CT_VEC_DEF(endrec_vec, struct endrec);

/* Orphan data of a soft partial: what it learnt about spans started before it. */
enum orphan_kind { OR_END, OR_STATUS };

struct orphan {
	uint64_t ts, span, end;
	char *msg;
	int32_t tid;
	uint8_t kind, status;
};

struct loss {
	uint64_t begin, end;
	uint64_t reported; /* when the loss became known: later than end + loss_grace, it is not
			    * held against a span (so that settling need not wait for it) */
	uint64_t key; /* soft begin: the klost_last key (cpu + 1, or client tid | 1 << 40) */
	uint32_t what; /* CT_INC_* bit */
	int32_t cpu; /* KERNEL_LOST with soft begin: cpu; else -1 */
	int32_t pid; /* CLIENT_LOST, unknown events: the process; else 0 (all) */
	int32_t tid; /* unknown events: the thread (0: the process) */
	uint8_t soft_begin; /* begin is "since the last report before this partial" */
};

struct clockpt {
	uint64_t begin;
	int64_t offset;
};

/* A block request issued and not completed yet (or, soft, completed without its issue). */
struct blkio {
	uint64_t dev_sector, ts;
	int32_t tid;
	uint32_t kev; /* absolute index in the thread's kev */
	uint8_t completed; /* soft: a completion whose issue lies before the partial */
};

/* The oldest open issue of dev_sector in p (first in, first out), or NULL. */
struct blkio *blk_oldest_open(struct ct_partial *p, uint64_t dev_sector);
/* Completes io (an open issue of p) at ts: its kernel event gets the latency; io is removed. */
void blk_complete(struct ct_partial *p, struct blkio *io, uint64_t ts);

/* ---- CPUs ---- */

/* From ts on, the CPU ran tid (0: idle). */
struct cpuslot {
	uint64_t ts;
	int32_t tid;
};

/*
 * Who ran on one CPU when, from the sched_switch events of its stream: what a thread that
 * waits for that CPU waits behind. Before the first slot the CPU ran first_prev (the first
 * switch's previous task), so a right partial's timeline appends to its left's as it is.
 */
struct cputl {
	CT_VEC(struct cpuslot) s;
	int32_t first_prev; /* -1: no switch seen */
	uint32_t hint; /* cpu_occupant's last answer (a cache) */
};

/* ---- per-operation aggregates (aggregate.c) ---- */

struct hbucket {
	uint32_t idx;
	uint64_t count;
	uint64_t cat[CT_CAT_N];
};

struct kvsum {
	char *key; /* owned */
	uint64_t ns, count;
};
/* A list of (key, sums) with a hash index (aggregate.c keeps it; others only read v/n). */
struct kv_vec {
	struct kvsum *v;
	uint32_t n, cap;
	struct ct_hmap ix;
};
struct fspan;
CT_VEC_DEF(fspan_vec, struct fspan *);

struct op {
	char *service, *name;
	int32_t pid; /* while settling: one op per (pid, name); output groups by service */
	uint64_t count, errors, sum, min, max;
	uint64_t cat[CT_CAT_N];
	CT_VEC(struct hbucket) hist; /* sorted by idx */
	struct kv_vec causes; /* "category\ttext" */
	struct kv_vec scs; /* "phase\tsyscall" */
	uint64_t cp_requests, cp_ns;
	struct kv_vec cp_service; /* pid → ns on the critical path */
	struct kv_vec cp_state; /* category → ns */
	struct fspan_vec top; /* slowest, with detail; sorted */
};

/* ---- the partial ---- */

struct cursor; /* annotate.c's */
CT_VEC_DEF(cursor_vec, struct cursor);

struct ct_partial {
	struct ct_an_config cfg;
	uint64_t begin, end; /* range [begin, end) */
	uint64_t first_ts, last_ts; /* events seen (0 when none) */
	int at_start; /* hard: nothing lies before */
	int finished;
	int gap; /* a missing chunk */
	int teardown; /* being freed: reference counting is off */

	struct ct_hmap threads; /* tid → struct thread * */
	CT_VEC(struct thread *) thread_list; /* order of appearance */
	struct ct_hmap procs; /* pid → struct proc * */
	struct proc *pr_last; /* pr_get's last answer (a cache: procs live as long as p) */
	CT_VEC(struct proc *) proc_list;
	struct ct_hmap tasks; /* tid → (pid << 32 | comm index); names of every task seen */
	CT_VEC(char *) comms; /* interned comm strings */
	struct ct_hmap comm_ix; /* hash → comm index + 1 */

	struct ct_hmap spans; /* id → struct span * (open or ended, not settled) */
	CT_VEC(struct span *) span_order; /* start order; settled ones NULL */
	CT_VEC(struct orphan) orphans; /* soft */
	struct endrec_vec ends; /* ended spans (for critical paths); end-event order */
	struct ct_hmap ends_by_parent; /* settled partials: parent id → last index in ends + 1 */
	uint32_t ends_indexed; /* ends[0..ends_indexed) are in ends_by_parent */

	struct frame frames; /* list head */
	/* frames released, for fr_new to reuse (linked by parent): a few are made and released
	 * per span, and malloc's calloc and free of them were ~5% of the analysis. At most as
	 * many as were ever live at once. */
	struct frame *frame_pool;
	CT_VEC(struct span *) span_pool; /* settled spans' memory, for sp_new (sp_release) */
	/* annotate.c's: the cursors of a sweep, kept for the next one (a malloc per sweep) */
	struct cursor_vec cursors;
	struct fdinfo fdinfos; /* list head */
	struct ct_hmap floors; /* soft: (tid or pid|proc bit, level) → struct frame * */

	CT_VEC(struct loss) losses;
	CT_VEC(struct clockpt) clocks;
	CT_VEC(struct blkio)
	blk; /* at_start: open issues; else issues and completions in time order */
	CT_VEC(struct cputl) cpus; /* by CPU number */
	struct ct_hmap klost_last; /* cpu + 1 → ts of the last KERNEL_LOST */

	/* counters */
	uint64_t events, unknown_events, anomalies, oom, sched_events, kernel_events;
	uint64_t since_settle;
	uint64_t peak_iv, cur_iv;

	/* settled results (at_start partials) */
	struct ct_hmap ops; /* hash(service, name) → struct op * */
	CT_VEC(struct op *) op_list;
	struct fspan_vec kept; /* keep_spans / filter / threshold */
	struct fspan_vec slow_req; /* slowest requests, sorted */
	struct fspan_vec filt_req; /* requests of the filtered trace */
	uint64_t n_spans, n_requests;
};

/* ---- shared helpers ---- */

/* Frames (partial.c). */
struct frame *fr_new(struct ct_partial *p, uint64_t span, struct frame *parent, int32_t tid,
		     int32_t pid, uint8_t flags);
static inline struct frame *fr_ref(struct frame *f)
{
	if (f)
		f->refs++;
	return f;
}
void fr_unref(struct ct_partial *p, struct frame *f);
/* Follows floors to what they stand for: NULL for nothing, or a floor still unresolved.
 * Inline: the sweep resolves the scopes of every interval it visits. */
static inline struct frame *fr_resolve(struct frame *f)
{
	while (f && (f->flags & FR_FLOOR)) {
		if (f->flags & FR_EMPTY)
			return NULL;
		if (!f->fwd)
			return f;
		f = f->fwd;
	}
	return f;
}
/* The floor (tid, level) of a soft partial, created on first use (tid 0: process pid). */
struct frame *fr_floor(struct ct_partial *p, int32_t tid, int32_t pid, uint16_t level);

/* fd infos (fdtable.c). */
struct fdinfo *fd_new(struct ct_partial *p, uint8_t type, const char *name, size_t len);
static inline struct fdinfo *fd_ref(struct fdinfo *f)
{
	if (f)
		f->refs++;
	return f;
}
void fd_unref(struct ct_partial *p, struct fdinfo *f);
struct fdinfo *fd_resolve(struct fdinfo *f);
/* Its type (following type_of), and "tcp 127.0.0.1:8080" / "/data/orders.db" for people. */
uint8_t fd_type(struct fdinfo *f);
void fd_text(struct fdinfo *f, char *buf, size_t size);
void fd_resolve_prefix(struct ct_partial *p, struct fdinfo *f, const struct screc *entry);
/* The fd info for (proc, fd) now; soft partials create a pending one. No ref added. */
struct fdinfo *fdt_lookup(struct ct_partial *p, struct proc *pr, int32_t fd);
void fdt_set(struct ct_partial *p, struct proc *pr, int32_t fd, struct fdinfo *f);
void fdt_close(struct ct_partial *p, struct proc *pr, int32_t fd);
void fdt_copy(struct ct_partial *p, struct proc *dst, const struct proc *src);
/* Applies the fd effects of a finished syscall (open, socket, accept, dup, close, ...). */
void fd_syscall_exit(struct ct_partial *p, struct thread *t, struct screc *r);
/* "tcp 127.0.0.1:5000->127.0.0.1:8080" for a raw sockaddr. */
int fd_sockaddr_text(const uint8_t *addr, size_t len, char *buf, size_t size);
const char *fd_type_name(unsigned type);

/* Threads and processes (partial.c). */
struct thread *th_get(struct ct_partial *p, int32_t tid);
struct thread *th_find(const struct ct_partial *p, int32_t tid);
struct proc *pr_get(struct ct_partial *p, int32_t pid);
struct proc *pr_find(const struct ct_partial *p, int32_t pid);
void th_set_pid(struct ct_partial *p, struct thread *t, int32_t pid);
void task_name(struct ct_partial *p, int32_t tid, int32_t pid, const char *comm, size_t len);
/* "comm[pid]" of a task, or "tid N" when unknown. */
void task_label(const struct ct_partial *p, int32_t tid, char *buf, size_t size);
int32_t task_pid(const struct ct_partial *p, int32_t tid);
/* The thread of pr->tids.v[i] (th_find without a lookup once known), or NULL. */
struct thread *pr_thread(const struct ct_partial *p, struct proc *pr, uint32_t i);
static inline struct screc *th_sc(const struct thread *t, uint32_t abs)
{
	return (abs != NOIDX && abs >= t->sc_base && abs - t->sc_base < t->sc.n)
		       ? &t->sc.v[abs - t->sc_base]
		       : NULL;
}
static inline uint64_t iv_end(const struct thread *t, uint32_t i, uint64_t now)
{
	return i + 1 < t->iv.n ? t->iv.v[i + 1].start : now;
}
/* Index of the interval containing ts (start <= ts < end), or NOIDX. */
uint32_t th_iv_at(const struct thread *t, uint64_t ts);

/*
 * A piece of interval i of a thread: the part of it during which its process' process-wide
 * scope stays the same (resolved). Pieces are what the intervals were when every process-wide
 * scope change cut every thread's interval: a wait's end (IV_WOKEN, IV_WAKE_IRQ, the waker)
 * belongs to its last piece, IV_PREFIX to its first. Before the thread's first_ev its
 * process-wide scope is the one current at first_ev. A piece is empty only when its interval
 * is (several changes at one instant cut once). pscope.c; a piece borrows from the partial
 * and is valid until the partial changes.
 */
struct piece {
	struct ival iv; /* a copy of the interval as this piece: iv.start is the piece's start */
	struct frame *proc; /* the process-wide innermost scope (resolved, borrowed), or NULL */
	uint64_t end; /* the piece's end (`now` for the open interval's last piece) */
	uint64_t iv_end; /* the interval's end */
	uint32_t i; /* the interval's index */
	/* where the next piece is found without a search: the timeline entry that gives proc
	 * (NOIDX: tl_before, or no timeline) and the one that ends the piece (NOIDX: none) */
	uint32_t k, kend;
};
/* The piece of interval i of t containing ts (clamped to the interval); now: the open
 * interval's end. */
void th_piece_at(const struct ct_partial *p, const struct thread *t, uint32_t i, uint64_t ts,
		 uint64_t now, struct piece *pc);
/* th_piece_at, looking for the process-wide scope near timeline entry hint first (a pc->k
 * of a nearby piece of the same process; NOIDX: none). */
void th_piece_near(const struct ct_partial *p, const struct thread *t, uint32_t i, uint64_t ts,
		   uint64_t now, struct piece *pc, uint32_t hint);
/* th_piece_near, inline when t's process has no process-wide scope at all (one piece per
 * interval: the critical path walk asks for every step). */
static inline void th_piece_quick(const struct ct_partial *p, const struct thread *t, uint32_t i,
				  uint64_t ts, uint64_t now, struct piece *pc, uint32_t hint)
{
	if (t->pr && t->pr->pid == t->pid && !t->pr->tl.n && !t->pr->tl_before) {
		pc->iv = t->iv.v[i];
		pc->proc = NULL;
		pc->end = pc->iv_end = iv_end(t, i, now);
		pc->i = i;
		pc->k = pc->kend = NOIDX;
		return;
	}
	th_piece_near(p, t, i, ts, now, pc, hint);
}
/* Moves pc to the next piece of t (the next interval's first); 0 when pc is the last. */
int th_piece_next(const struct ct_partial *p, const struct thread *t, uint64_t now,
		  struct piece *pc);

/* A reader of the process-wide scope of one thread moving forward in time (the sweep). */
struct tlcur {
	const struct proc *pr; /* the thread's process, NULL when none */
	uint64_t from; /* the thread's first_ev: the scope before it is the one then */
	uint32_t k; /* the entry in force (NOIDX: before the first) */
	uint64_t next; /* when the next entry takes over (NO_END: none) */
	struct frame *val; /* the scope (resolved, borrowed), or NULL */
	uint8_t started;
};
/* c reads t's process-wide scope (borrowing from p: valid until the partial changes). */
void tl_cursor_init(const struct ct_partial *p, const struct thread *t, struct tlcur *c);
/* tl_cursor_at when the scope changes (or on first use). */
struct frame *tl_cursor_move(struct tlcur *c, uint64_t ts);
/* tl_cursor_at(c, c->next) for a cursor asked before (c->next not NO_END): the next change,
 * without a search. */
struct frame *tl_cursor_next(struct tlcur *c);
/* The process-wide scope of the thread at ts (not before the last ts asked); c->next says
 * until when it holds. Inline: the sweep asks at every step. */
static inline struct frame *tl_cursor_at(struct tlcur *c, uint64_t ts)
{
	return c->started && ts < c->next ? c->val : tl_cursor_move(c, ts);
}
/* Appends "from ts on, top" to pr's timeline (taking a reference). */
void pr_scope_changed(struct ct_partial *p, struct proc *pr, uint64_t ts, struct frame *top);
/* Drops the entries of pr's timeline before the one that covers horizon. */
void pr_prune_scopes(struct ct_partial *p, struct proc *pr, uint64_t horizon);
/*
 * Who ended wait i of t (BLOCKED + IV_WOKEN): the waking thread when it was in a known
 * syscall at that instant; -1 for an interrupt (flagged so, or the "waker" was running user
 * code: the capture names the task an interrupt arrived on, and interrupts from user mode
 * run on that task's stack); 0 when unknown (a task outside the traced processes, or one
 * whose state then is unknown). Depends only on history up to the wake-up.
 */
int32_t th_waker(const struct ct_partial *p, const struct thread *t, uint32_t i);
void iv_release(struct ct_partial *p, struct ival *iv);
void sc_release(struct ct_partial *p, struct screc *r);
void kev_release(struct kev *k);

/*
 * The task that ran on cpu at ts (0: idle), or -1 when unknown; it did from *since (0: from
 * before the data) until *until (NO_END: not within the data yet). thread_state.c.
 */
int32_t cpu_occupant(const struct ct_partial *p, uint16_t cpu, uint64_t ts, uint64_t *since,
		     uint64_t *until);
void cpu_prune(struct ct_partial *p, uint64_t horizon);
/* The timeline of cpu, created empty on first use (NULL: no CPU number, or no memory). */
struct cputl *cpu_get(struct ct_partial *p, uint32_t cpu);
/* Appends "from ts on, tid" unless tid already runs there. */
void cpu_append(struct ct_partial *p, struct cputl *c, uint64_t ts, int32_t tid);

/* Thread state machine (thread_state.c). */
void ts_feed_kernel(struct ct_partial *p, const struct ct_event *ev);
/* Starts a new interval on t at ts with the thread's current scopes (and syscall). */
struct ival *ts_push(struct ct_partial *p, struct thread *t, uint64_t ts, uint8_t state,
		     uint8_t flags, int32_t other);
/* The thread exists in a soft partial since its begin, with a state known from now on. */
void ts_first_seen(struct ct_partial *p, struct thread *t, uint64_t ts);
/* Re-cuts the current interval of t at ts because its own scope changed. */
void ts_scope_changed(struct ct_partial *p, struct thread *t, uint64_t ts);
/* A client event by t at ts: the thread runs user code. */
void ts_client_event(struct ct_partial *p, struct thread *t, uint64_t ts);

/* Spans (spans.c). */
void sp_feed_client(struct ct_partial *p, const struct ct_event *ev);
struct span *sp_find(const struct ct_partial *p, uint64_t id);
struct span *sp_stub(struct ct_partial *p, uint64_t id);
void sp_free(struct span *s);
/* sp_free for a settled span: p keeps its memory for the next sp_new (one span is made and
 * settled per span received: calloc and free of it were ~1.5% of the agent's analysis). */
void sp_release(struct ct_partial *p, struct span *s);
void sp_note_thread(struct ct_partial *p, struct span *s, int32_t tid, uint64_t ts, int enter);
void attr_fini(struct attr *a);

/* Stitching (stitch.c). */
int st_reduce(struct ct_partial *l, struct ct_partial *r);

/* Annotation (annotate.c). */
/* Accounts span s from s->swept up to `to`. */
void an_sweep(struct ct_partial *p, struct span *s, uint64_t to);
/* Names the dominant waker of each blocked cause of the (ended) span from the history. */
void an_wakers(struct ct_partial *p, struct span *s);
/* Fills the detail of f (syscalls, kernel events) from the history. */
void an_detail(struct ct_partial *p, const struct span *s, struct fspan *f);
/* Category and cause text (text may be NULL) of interval iv of t; returns the category. */
unsigned an_classify(const struct ct_partial *p, const struct thread *t, const struct ival *iv,
		     char *text, size_t size, int32_t *by);
/*
 * A RUNNABLE interval iv of t at instant ts: the task on the CPU it waited for (> 0), else 0
 * (idle, unknown, no CPU known); [*since, *until) is how long that holds (within iv or not).
 */
int32_t an_cpu_holder(const struct ct_partial *p, const struct thread *t, const struct ival *iv,
		      uint64_t ts, uint64_t *since, uint64_t *until);
/* an_classify at instant ts: runnable time is named by who held the CPU then (holder). */
unsigned an_classify_at(const struct ct_partial *p, const struct thread *t, const struct ival *iv,
			uint64_t ts, char *text, size_t size, int32_t *by);
/* A key standing for the cause text of an interval (equal keys: equal texts); holder as
 * an_cpu_holder gives it at the instant (0 for anything but runnable time). */
uint64_t an_cause_key(const struct thread *t, const struct ival *iv, unsigned cat, int32_t holder);
/* The innermost scope current during piece pc (own, else process-wide), or NULL. */
const struct frame *an_innermost(const struct piece *pc);

/* Critical path (critpath.c). */
/* words: build the segments' detail texts (for paths that are kept and shown). */
struct critpath *cp_compute(struct ct_partial *p, const struct span *root, int words);
void cp_free(struct critpath *cp);

/* Aggregates (aggregate.c). */
void ag_add_span(struct ct_partial *p, struct fspan *f);
void ag_add_critpath(struct ct_partial *p, const struct fspan *root, const struct critpath *cp);
void ag_free_op(struct op *o);
int ag_cmp_slow(const struct fspan *a, const struct fspan *b);
uint32_t ag_bucket(uint64_t v);
uint64_t ag_bucket_low(uint32_t idx);
void ag_quantiles(const struct op *o, const double *q, uint64_t *out, unsigned n);
int ag_wants_detail(struct ct_partial *p, int32_t pid, const char *name, const struct fspan *f);
/* Inserts f (a reference) into a list sorted slowest first, at most max long. */
void ag_insert_sorted(struct ct_partial *p, struct fspan_vec *v, struct fspan *f, unsigned max);
void fs_unref(struct fspan *f);

/* Settling (settle.c). */
void se_settle(struct ct_partial *p, int final);

/* Output helpers (result_json.c). */
/* The service name of a process: its PROCESS_INFO/service.name, else its command. */
const char *service_of(const struct ct_partial *p, int32_t pid, char *buf, size_t size);
void hex_id(uint64_t v, char out[17]);
void hex_trace(uint64_t hi, uint64_t lo, char out[33]);
/* Operations grouped by (service, name), sorted; free with ops_free. */
struct op **ops_grouped(const struct ct_partial *p, uint32_t *n);
void ops_free(struct op **v, uint32_t n);
/* text with its task markers ("\x01tid\x02", put where names may still change) replaced by
 * the tasks' final names; returns text itself when it has none. */
const char *lbl(const struct ct_partial *p, const char *text, char *buf, size_t size);
/* Whether a kept span's detail is reported (a rule that does not depend on settle order). */
int detail_shown(const struct ct_partial *p, const struct fspan *f);
/* Spans kept, sorted by (start, id). Borrowed pointers; free the array only. */
const struct fspan **kept_sorted(const struct ct_partial *p, uint32_t *n);
const char *kind_name(unsigned kind);
const char *status_name(unsigned status);
int64_t clock_offset_at(const struct ct_partial *p, uint64_t ts);
/* The name of a syscall number for people. */
const char *sc_name(unsigned nr, char *buf, size_t size);

/* Misc. */
char *ct_strndup0(const char *s, size_t n);
/*
 * Append s, or the decimal v, to buf (size bytes, NUL-terminated, at holding strlen(buf)),
 * truncated as snprintf would; return the new length. Texts are made for every cause of every
 * span and for every cause handed out: snprintf was a tenth of the analysis' time.
 */
size_t txt_put(char *buf, size_t size, size_t at, const char *s);
size_t txt_put_int(char *buf, size_t size, size_t at, int64_t v);
uint64_t ct_hash_str(const char *s, uint64_t seed);
void p_anomaly(struct ct_partial *p);

#endif
