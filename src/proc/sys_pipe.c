/*
 * sys_pipe.c: pipes.
 *
 * A pipe is one buffer of kern.pipe.size bytes (16 KiB) of pageable
 * kernel memory (kmem_alloc_pageable(): KVA from the kernel arena, a
 * kernel-map entry, pages that fault in when first written), a ring with
 * `in', `out' and `cnt', and two files: the read end and the write end.
 * Bytes move between the caller's user buffer and the ring through a
 * small bounce buffer with copyin/copyout, with the pipe mutex dropped
 * (both sides may fault and sleep); a reader (writer) in progress holds
 * the PIPE_RLOCK (PIPE_WLOCK) flag so that readers (writers) sharing an
 * end after fork take turns.
 *
 * Blocking: a reader with nothing to read sleeps (interruptibly: SIGKILL
 * ends the sleep) until a write or the close of the write end (EOF); a
 * writer with no room sleeps until a read or the close of the read end
 * (EPIPE).  A write of at most PIPE_BUF bytes is atomic: it waits until
 * all of it fits.  Non-blocking ends return EAGAIN instead of sleeping;
 * a blocking write interrupted or refused midway returns what it wrote.
 *
 * Teardown.  When both ends are closed the pipe goes to the closing CPU's
 * cache (kern.pipe.maxcache pipes per CPU, buffer and KVA kept), from
 * which pipe() takes first.  A full cache is trimmed to half (hysteresis:
 * a burst of closes frees in runs, then the cache absorbs the next
 * burst) and the pipe freed: its buffer's KVA goes back through the
 * kernel map, whose lock is a lockmgr (every release wakes every waiter).
 * kern.pipe.teardown_lock=qmtx first takes the CPU's queued teardown
 * mutex, so at most ncpus threads are in the kernel map's teardown at
 * once and each release hands off to one waiter; =lockmgr goes straight
 * to the kernel map: with N processes exiting at once that is O(N^2)
 * wakeups (DragonFly commit 5eab490e, "Remove bottlenecks related to
 * mass pipe closures").
 *
 * Locking key: (m) pi_mtx ("pipe mutex"); (c) constant while in use;
 * (C) the CPU cache's lock ("pipe cache"); (a) atomic.
 */
#include "kern/counter.h"
#include "kern/kassert.h"
#include "kern/lock.h"
#include "kern/sleepq.h"
#include "kern/sysctl.h"
#include "kern/thread.h"
#include "proc/file.h"
#include "proc/pipe.h"
#include "proc/proc.h"
#include "proc/proc_int.h"
#include "proc/syscall.h"
#include "vm/vm_kern.h"
#include "vm/vm_uaccess.h"

#include <errno.h>
#include <string.h>

#define PIPE_BUF 512
#define PIPE_BOUNCE 512

/* pi_state */
#define PIPE_RCLOSED 0x01 /* the read end is closed */
#define PIPE_WCLOSED 0x02 /* the write end is closed: EOF after the data */
#define PIPE_RLOCK 0x04	  /* a reader is copying */
#define PIPE_WLOCK 0x08	  /* a writer is copying */
#define PIPE_WANTR 0x10	  /* a reader sleeps for data */
#define PIPE_WANTW 0x20	  /* a writer sleeps for room */
#define PIPE_LWANT 0x40	  /* someone sleeps for RLOCK or WLOCK */

struct pipe {
	struct mtx pi_mtx;	     /* "pipe mutex" */
	vm_offset_t pi_buf;	     /* (c) the ring's KVA */
	uint32_t pi_size;	     /* (c) */
	uint32_t pi_in, pi_out;	     /* (m) */
	uint32_t pi_cnt;	     /* (m) bytes in the ring */
	uint32_t pi_state;	     /* (m) PIPE_* */
	TAILQ_ENTRY(pipe) pi_cacheq; /* (C) */
};

struct pipe_pcpu {
	struct mtx pc_mtx;	     /* "pipe cache" */
	TAILQ_HEAD(, pipe) pc_cache; /* (C) */
	uint32_t pc_count;	     /* (C) */
	struct qmtx pc_teardown;     /* "pipe teardown" */
} __aligned(MD_CACHE_LINE);

#define PIPE_TEARDOWN_LOCKMGR 0
#define PIPE_TEARDOWN_QMTX 1

const size_t pipe_struct_size = sizeof(struct pipe);

/* The tunables' storage (the registry's), and the module's copies. */
static int64_t pipe_size_tun, pipe_maxcache_tun, pipe_teardown_tun;
static uint32_t pipe_size;	    /* (c) kern.pipe.size */
static uint32_t pipe_maxcache;	    /* (a) kern.pipe.maxcache */
static uint32_t pipe_teardown_lock; /* (a) kern.pipe.teardown_lock */
static struct pipe_pcpu *pipe_pcpu;
static int pipe_ncpus;
static uint64_t pipe_nlive; /* (a) pipes allocated, cached ones too */

static counter_u64_t pipe_creates, pipe_cache_hits, pipe_cache_puts,
    pipe_kva_frees, pipe_bytes;

static const struct counter_spec pipe_counters[] = {
	{ &pipe_creates, "kern.pipe.creates", "pipes made by pipe()" },
	{ &pipe_cache_hits, "kern.pipe.cache_hits",
	    "pipes taken from a CPU's cache" },
	{ &pipe_cache_puts, "kern.pipe.cache_puts",
	    "torn-down pipes kept in a CPU's cache" },
	{ &pipe_kva_frees, "kern.pipe.kva_frees",
	    "pipe buffers whose KVA went back through the kernel map" },
	{ &pipe_bytes, "kern.pipe.bytes", "bytes written to pipes" },
};

static int64_t pipe_read(struct file *fp, vm_offset_t uaddr, size_t len);
static int64_t pipe_write(struct file *fp, vm_offset_t uaddr, size_t len);
static void pipe_close(struct file *fp);

static const struct fileops pipe_rops = {
	.fo_read = pipe_read,
	.fo_write = pipe_write,
	.fo_close = pipe_close,
};

static struct pipe *
pipe_from_file(struct file *fp)
{
	return ((struct pipe *)fp->f_data);
}

/* A new pipe: struct and buffer KVA; NULL if out of memory or KVA. */
static struct pipe *
pipe_alloc(void)
{
	struct pipe *pi;

	pi = pipe_zalloc();
	if (pi == NULL)
		return (NULL);
	memset(pi, 0, sizeof(*pi));
	pi->pi_size = pipe_size;
	pi->pi_buf = kmem_alloc_pageable(pi->pi_size, M_WAITOK);
	if (pi->pi_buf == 0) {
		pipe_zfree(pi);
		return (NULL);
	}
	mtx_init(&pi->pi_mtx, "pipe mutex", MTX_DEF);
	(void)atomic_fetchadd_64(&pipe_nlive, 1);
	return (pi);
}

/*
 * Frees a pipe's buffer and struct: the kernel map's teardown, gated by
 * the CPU's queued mutex when kern.pipe.teardown_lock=qmtx.
 */
static void
pipe_free(struct pipe *pi)
{
	struct qmtx *q = NULL;

	if (atomic_load_int(&pipe_teardown_lock) == PIPE_TEARDOWN_QMTX) {
		q = &pipe_pcpu[curcpu].pc_teardown;
		qmtx_lock(q);
	}
	kmem_free_pageable(pi->pi_buf, pi->pi_size);
	if (q != NULL)
		qmtx_unlock(q);
	counter_u64_add(pipe_kva_frees, 1);
	mtx_destroy(&pi->pi_mtx);
	pipe_zfree(pi);
	(void)atomic_fetchadd_64(&pipe_nlive, (uint64_t)-1);
}

/* Both ends closed: cache pi on this CPU, or free it (and trim). */
static void
pipe_destroy(struct pipe *pi)
{
	struct pipe_pcpu *pc = &pipe_pcpu[curcpu];
	uint32_t max = atomic_load_int(&pipe_maxcache);
	struct pipe *trim[64], *t;
	int i, ntrim = 0;

	pi->pi_in = pi->pi_out = pi->pi_cnt = 0;
	pi->pi_state = 0;
	mtx_lock(&pc->pc_mtx);
	if (pc->pc_count < max) {
		TAILQ_INSERT_HEAD(&pc->pc_cache, pi, pi_cacheq);
		pc->pc_count++;
		mtx_unlock(&pc->pc_mtx);
		counter_u64_add(pipe_cache_puts, 1);
		return;
	}
	/* Hysteresis: a full cache drops to half before it takes more. */
	while (pc->pc_count > max / 2 && ntrim < (int)nitems(trim)) {
		t = TAILQ_FIRST(&pc->pc_cache);
		TAILQ_REMOVE(&pc->pc_cache, t, pi_cacheq);
		pc->pc_count--;
		trim[ntrim++] = t;
	}
	mtx_unlock(&pc->pc_mtx);
	pipe_free(pi);
	for (i = 0; i < ntrim; i++)
		pipe_free(trim[i]);
}

/* A pipe from pc's cache, or NULL if it is empty. */
static struct pipe *
pipe_cache_pop(struct pipe_pcpu *pc)
{
	struct pipe *pi;

	mtx_lock(&pc->pc_mtx);
	pi = TAILQ_FIRST(&pc->pc_cache);
	if (pi != NULL) {
		TAILQ_REMOVE(&pc->pc_cache, pi, pi_cacheq);
		pc->pc_count--;
	}
	mtx_unlock(&pc->pc_mtx);
	return (pi);
}

int
kern_pipe(struct proc *p, int fds[2], int flags)
{
	struct pipe_pcpu *pc = &pipe_pcpu[curcpu];
	struct file *rf, *wf;
	struct pipe *pi;
	uint32_t nb = (flags & O_NONBLOCK) != 0 ? FNONBLOCK : 0;
	int error;

	pi = pipe_cache_pop(pc);
	if (pi != NULL)
		counter_u64_add(pipe_cache_hits, 1);
	else if ((pi = pipe_alloc()) == NULL)
		return (ENOMEM);
	counter_u64_add(pipe_creates, 1);
	rf = falloc(&pipe_rops, pi, FREAD | nb);
	wf = falloc(&pipe_rops, pi, FWRITE | nb);
	if (rf == NULL || wf == NULL) {
		error = ENOMEM;
		goto fail;
	}
	if ((error = fd_alloc(p, rf, &fds[0])) != 0)
		goto fail;
	if ((error = fd_alloc(p, wf, &fds[1])) != 0) {
		/* The read end's close marks the pipe; undo that too. */
		p->p_fd.fd_ofiles[fds[0]] = NULL;
		p->p_fd.fd_nopen--;
		goto fail;
	}
	return (0);
fail:
	/* The files never reached a table: free them without closing. */
	if (rf != NULL)
		ffree_unused(rf);
	if (wf != NULL)
		ffree_unused(wf);
	pipe_destroy(pi);
	return (error);
}

/*
 * Locks pi_mtx, waits for `flag' (PIPE_RLOCK or PIPE_WLOCK) and takes it:
 * 0 with pi_mtx held, or EINTR (killed while waiting) with it dropped.
 */
static int
pipe_iolock(struct pipe *pi, uint32_t flag)
{
	int error;

	mtx_lock(&pi->pi_mtx);
	while ((pi->pi_state & flag) != 0) {
		pi->pi_state |= PIPE_LWANT;
		error = msleep(&pi->pi_state, &pi->pi_mtx.lock_object, PCATCH,
		    "pipelk", 0);
		if (error != 0) {
			mtx_unlock(&pi->pi_mtx);
			return (error);
		}
	}
	pi->pi_state |= flag;
	return (0);
}

static void
pipe_iounlock(struct pipe *pi, uint32_t flag)
{
	pi->pi_state &= ~flag;
	if ((pi->pi_state & PIPE_LWANT) != 0) {
		pi->pi_state &= ~PIPE_LWANT;
		wakeup(&pi->pi_state);
	}
}

/*
 * Copies n bytes between the ring at offset `off' and user memory, in
 * bounce-buffer steps; both ends may fault.  0 or EFAULT.
 */
static int
pipe_copy(
    struct pipe *pi, uint32_t off, vm_offset_t uaddr, uint32_t n, bool toring)
{
	char bounce[PIPE_BOUNCE];
	uint32_t k;
	int error;

	for (; n > 0; n -= k, off += k, uaddr += k) {
		k = n < sizeof(bounce) ? n : (uint32_t)sizeof(bounce);
		if (toring) {
			if ((error = copyin(uaddr, bounce, k)) != 0 ||
			    (error = copyout(bounce, pi->pi_buf + off, k)) != 0)
				return (error);
		} else {
			if ((error = copyin(pi->pi_buf + off, bounce, k)) !=
				0 ||
			    (error = copyout(bounce, uaddr, k)) != 0)
				return (error);
		}
	}
	return (0);
}

static int64_t
pipe_read(struct file *fp, vm_offset_t uaddr, size_t len)
{
	struct pipe *pi = pipe_from_file(fp);
	bool nb = (atomic_load_int(&fp->f_flag) & FNONBLOCK) != 0;
	int64_t done = 0;
	uint32_t n, out;
	int error;

	if (len == 0)
		return (0);
	if ((error = pipe_iolock(pi, PIPE_RLOCK)) != 0)
		return (-error);
	while ((size_t)done < len) {
		if (pi->pi_cnt == 0) {
			/* Return what was read rather than wait for more. */
			if (done > 0 || (pi->pi_state & PIPE_WCLOSED) != 0)
				break;
			if (nb) {
				done = -EAGAIN;
				break;
			}
			pi->pi_state |= PIPE_WANTR;
			error = msleep(
			    pi, &pi->pi_mtx.lock_object, PCATCH, "piperd", 0);
			if (error != 0) {
				done = -error;
				break;
			}
			continue;
		}
		out = pi->pi_out;
		n = pi->pi_cnt;
		if (n > pi->pi_size - out)
			n = pi->pi_size - out;
		if ((size_t)n > len - (size_t)done)
			n = (uint32_t)(len - (size_t)done);
		mtx_unlock(&pi->pi_mtx);
		error = pipe_copy(pi, out, uaddr + (vm_offset_t)done, n, false);
		mtx_lock(&pi->pi_mtx);
		if (error != 0) {
			if (done == 0)
				done = -error;
			break;
		}
		pi->pi_out = (out + n) % pi->pi_size;
		pi->pi_cnt -= n;
		done += n;
		if ((pi->pi_state & PIPE_WANTW) != 0) {
			pi->pi_state &= ~PIPE_WANTW;
			wakeup(&pi->pi_cnt);
		}
	}
	pipe_iounlock(pi, PIPE_RLOCK);
	mtx_unlock(&pi->pi_mtx);
	return (done);
}

static int64_t
pipe_write(struct file *fp, vm_offset_t uaddr, size_t len)
{
	struct pipe *pi = pipe_from_file(fp);
	bool nb = (atomic_load_int(&fp->f_flag) & FNONBLOCK) != 0;
	int64_t done = 0, rv;
	uint32_t n, in, space;
	int error = 0;

	if (len == 0)
		return (0);
	if ((error = pipe_iolock(pi, PIPE_WLOCK)) != 0)
		return (-error);
	while ((size_t)done < len) {
		if ((pi->pi_state & PIPE_RCLOSED) != 0) {
			error = EPIPE;
			break;
		}
		space = pi->pi_size - pi->pi_cnt;
		/* Up to PIPE_BUF bytes go in at once or not at all. */
		if (space == 0 || (len <= PIPE_BUF && space < len)) {
			if (nb) {
				error = EAGAIN;
				break;
			}
			pi->pi_state |= PIPE_WANTW;
			error = msleep(&pi->pi_cnt, &pi->pi_mtx.lock_object,
			    PCATCH, "pipewr", 0);
			if (error != 0)
				break;
			continue;
		}
		in = pi->pi_in;
		n = space;
		if (n > pi->pi_size - in)
			n = pi->pi_size - in;
		if ((size_t)n > len - (size_t)done)
			n = (uint32_t)(len - (size_t)done);
		mtx_unlock(&pi->pi_mtx);
		error = pipe_copy(pi, in, uaddr + (vm_offset_t)done, n, true);
		mtx_lock(&pi->pi_mtx);
		if (error != 0)
			break;
		pi->pi_in = (in + n) % pi->pi_size;
		pi->pi_cnt += n;
		done += n;
		if ((pi->pi_state & PIPE_WANTR) != 0) {
			pi->pi_state &= ~PIPE_WANTR;
			wakeup(pi);
		}
	}
	pipe_iounlock(pi, PIPE_WLOCK);
	mtx_unlock(&pi->pi_mtx);
	counter_u64_add(pipe_bytes, (int64_t)done);
	/* A partial write reports what went in; an error only if nothing. */
	rv = done > 0 ? done : -error;
	return (rv);
}

static void
pipe_close(struct file *fp)
{
	struct pipe *pi = pipe_from_file(fp);
	uint32_t closed = (atomic_load_int(&fp->f_flag) & FREAD) != 0
	    ? PIPE_RCLOSED
	    : PIPE_WCLOSED;
	bool last;

	mtx_lock(&pi->pi_mtx);
	pi->pi_state |= closed;
	/* Wake the other side: EOF for a reader, EPIPE for a writer. */
	if ((pi->pi_state & PIPE_WANTR) != 0) {
		pi->pi_state &= ~PIPE_WANTR;
		wakeup(pi);
	}
	if ((pi->pi_state & PIPE_WANTW) != 0) {
		pi->pi_state &= ~PIPE_WANTW;
		wakeup(&pi->pi_cnt);
	}
	last = (pi->pi_state & (PIPE_RCLOSED | PIPE_WCLOSED)) ==
	    (PIPE_RCLOSED | PIPE_WCLOSED);
	mtx_unlock(&pi->pi_mtx);
	if (last)
		pipe_destroy(pi);
}

void
pipe_stats(struct pipe_stats *st)
{
	int cpu;

	st->live = atomic_load_64(&pipe_nlive);
	st->cached = 0;
	for (cpu = 0; cpu < pipe_ncpus; cpu++) {
		mtx_lock(&pipe_pcpu[cpu].pc_mtx);
		st->cached += pipe_pcpu[cpu].pc_count;
		mtx_unlock(&pipe_pcpu[cpu].pc_mtx);
	}
	st->creates = counter_u64_fetch(pipe_creates);
	st->cache_hits = counter_u64_fetch(pipe_cache_hits);
	st->kva_frees = counter_u64_fetch(pipe_kva_frees);
}

/* Frees every cached pipe (the caches of all CPUs). */
void
pipe_drain(void)
{
	struct pipe_pcpu *pc;
	struct pipe *pi;
	int cpu;

	for (cpu = 0; cpu < pipe_ncpus; cpu++) {
		pc = &pipe_pcpu[cpu];
		for (;;) {
			if ((pi = pipe_cache_pop(pc)) == NULL)
				break;
			pipe_free(pi);
		}
	}
}

static const char *const pipe_teardown_names[] = { "lockmgr", "qmtx" };

/* Run-time changes: the next teardown sees the new value. */
static int
pipe_set_u32(int64_t value, void *arg)
{
	atomic_store_int(arg, (uint32_t)value);
	return (0);
}

int
pipe_tunables(void)
{
	int error;

	if ((error = tunable_int_register("kern.pipe.size", &pipe_size_tun,
		 16384, 4096, 1 << 20,
		 "bytes of a pipe's buffer (a multiple of the page size)")) !=
		0 ||
	    (error = tunable_int_register("kern.pipe.maxcache",
		 &pipe_maxcache_tun, 16, 0, 1 << 20,
		 "torn-down pipes kept per CPU for reuse")) != 0 ||
	    (error = tunable_enum_register("kern.pipe.teardown_lock",
		 &pipe_teardown_tun, PIPE_TEARDOWN_QMTX, pipe_teardown_names,
		 (int)nitems(pipe_teardown_names),
		 "a pipe's KVA teardown: qmtx first takes the CPU's queued "
		 "mutex, lockmgr goes straight to the kernel map's lock")) !=
		0 ||
	    (error = tunable_set_handler(
		 "kern.pipe.maxcache", pipe_set_u32, &pipe_maxcache)) != 0 ||
	    (error = tunable_set_handler("kern.pipe.teardown_lock",
		 pipe_set_u32, &pipe_teardown_lock)) != 0)
		return (error);
	return (0);
}

int
pipe_init(void)
{
	static const struct lock_rank ranks[] = {
		{ "pipe mutex", 420, 0 },
		{ "pipe cache", 430, 0 },
		{ "pipe teardown", 440, 0 },
	};
	int cpu, error;

	if ((pipe_size_tun & PAGE_MASK) != 0)
		return (EINVAL);
	pipe_size = (uint32_t)pipe_size_tun;
	atomic_store_int(&pipe_maxcache, (uint32_t)pipe_maxcache_tun);
	atomic_store_int(&pipe_teardown_lock, (uint32_t)pipe_teardown_tun);
	if ((error = witness_register(ranks, nitems(ranks))) != 0)
		return (error);
	pipe_ncpus = md_ncpus();
	pipe_pcpu = md_aligned_alloc(
	    MD_CACHE_LINE, (size_t)pipe_ncpus * sizeof(*pipe_pcpu));
	if (pipe_pcpu == NULL)
		return (ENOMEM);
	for (cpu = 0; cpu < pipe_ncpus; cpu++) {
		memset(&pipe_pcpu[cpu], 0, sizeof(pipe_pcpu[cpu]));
		mtx_init(&pipe_pcpu[cpu].pc_mtx, "pipe cache", MTX_DEF);
		TAILQ_INIT(&pipe_pcpu[cpu].pc_cache);
		qmtx_init(&pipe_pcpu[cpu].pc_teardown, "pipe teardown");
	}
	pipe_nlive = 0;
	if ((error = counter_u64_alloc_table(
		 pipe_counters, nitems(pipe_counters))) != 0) {
		pipe_fini();
		return (error);
	}
	return (0);
}

void
pipe_stop(void)
{
	if (pipe_pcpu != NULL)
		pipe_drain();
}

void
pipe_fini(void)
{
	int cpu;

	if (pipe_pcpu == NULL)
		return;
	counter_u64_free_table(pipe_counters, nitems(pipe_counters));
	for (cpu = 0; cpu < pipe_ncpus; cpu++) {
		mtx_destroy(&pipe_pcpu[cpu].pc_mtx);
		qmtx_destroy(&pipe_pcpu[cpu].pc_teardown);
	}
	md_free(pipe_pcpu);
	pipe_pcpu = NULL;
}
