/*
 * md.h: the machine contract.
 *
 * Everything above src/md sees the machine only through this header and
 * md_atomic.h.  A backend (md/host: pthreads; md/sim: virtual CPUs on one
 * host thread) implements it.  Conventions, stated once:
 *
 * - "CPU context" means code running on one of the machine's CPUs: a kernel
 *   thread or a CPU's scheduler loop.  "External" means a host thread that
 *   is not a CPU (the thread that called vmlab_boot()).  Unless a function
 *   says otherwise, it must be called from CPU context.
 * - Functions that can fail return 0 or a positive errno value; functions
 *   that allocate return NULL on failure.  Nothing here panics on bad input
 *   from the layers above except the explicit md_panic().
 * - CPU numbers are dense, 0 .. md_ncpus() - 1, fixed at boot.
 * - A kernel thread may continue on another CPU after it switches out, so
 *   no caller may keep the result of md_curcpu() across md_ctx_switch().
 */
#ifndef VMLAB_MD_H
#define VMLAB_MD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MD_MAXCPU 1024
#define MD_MAXDOMAIN 8
#define MD_CACHE_LINE 64

/* Backends. */
#define MD_BACKEND_HOST 0
#define MD_BACKEND_SIM 1

/* Boot configuration of the machine (filled in by the front door). */
struct md_config {
	int mc_backend;	     /* MD_BACKEND_* */
	int mc_ncpus;	     /* 1 .. MD_MAXCPU */
	int mc_ndomains;     /* 1 .. MD_MAXDOMAIN, <= mc_ncpus */
	bool mc_pin;	     /* host: pin CPU threads to host CPUs */
	uint64_t mc_physmem; /* bytes of physical memory (arena) */
	uint64_t mc_seed;    /* sim: schedule seed */
	/* The backend's own parameters (md/sim/md_sim.h), or NULL. */
	const int64_t *mc_sim;
};

/*
 * Boot and shutdown, called externally.
 *
 * md_init() records the configuration and reserves physical memory; the
 * machine's CPUs exist (md_ncpus() answers) but do not run yet.  It
 * refuses (EINVAL) a configuration outside the ranges of struct
 * md_config and (ENOMEM) more physical memory than the host has
 * (md_host_physmem()); a failed md_init() leaves nothing behind.
 * md_shutdown() may follow md_init() without md_start() (a boot that
 * failed later).
 * md_start() starts them: each runs cpu_main(cpu) in CPU context.
 * md_halt() asks all CPUs to leave cpu_main() (they see md_halting()).
 * md_join() waits for every CPU to return from cpu_main(); md_ncpus() and
 * the per-CPU state stay valid until md_shutdown() releases everything
 * the backend allocated.
 */
int md_init(const struct md_config *cfg);
int md_start(void (*cpu_main)(int cpu));
void md_halt(void);
bool md_halting(void);
void md_join(void);
void md_shutdown(void);
const struct md_config *md_config(void);

/*
 * External waiting.  An external thread waits with md_external_wait() until
 * *flag becomes non-zero; CPU code sets the flag with a release store and
 * then calls md_external_notify().  Under sim the waiting thread drives the
 * simulation while it waits.
 */
void md_external_wait(const int *flag);
void md_external_notify(void);

/*
 * Stall detection (sim backend; the host backend never calls the hooks).
 * While the external thread waits (md_external_wait(), md_join()), the
 * engine notices when the machine is quiet: no CPU is runnable, spinning
 * or backing off (so no IPI is pending either: posting one wakes its
 * target).  Only idle CPUs' timers can then make anything run again.
 *
 * - With no timer pending nothing will ever run again: a stall.
 * - Otherwise the engine asks ms_check(now, next) (virtual ns: the time
 *   reached and the earliest timer) whether what those timers wake can
 *   still end the wait; true means stalled.
 *
 * On a stall the engine prints a header with the virtual time and the
 * seed, calls ms_report() to say what the machine waits for, prints how
 * to reproduce the run and ends the process with exit status
 * MD_EXIT_STALL, so that a lost wake-up fails at once instead of hanging.
 * Both hooks run on the external thread while every CPU is parked: they
 * may read CPU-side state without locks (nothing changes under them and
 * no CPU holds a spin lock), must not block or take locks, and their
 * atomics are not sync points.  ms_report() writes with md_printf().
 * ms_check() is called at every quiet moment: it must be cheap.
 *
 * md_stall_hooks_set() registers the hooks (NULL: none); md_shutdown()
 * forgets them.  Called externally.
 */
#define MD_EXIT_STALL 86
struct md_stall_hooks {
	bool (*ms_check)(uint64_t now, uint64_t next);
	void (*ms_report)(void);
};
void md_stall_hooks_set(const struct md_stall_hooks *hooks);

/* CPUs and domains. */
int md_ncpus(void);
int md_ndomains(void);
int md_cpu_domain(int cpu);
/* Host CPUs online (for defaults); callable anywhere. */
int md_host_online_cpus(void);
/*
 * Bytes of the host's physical memory (RAM), 0 if unknown; callable
 * anywhere.  md_init() refuses a larger arena.
 */
uint64_t md_host_physmem(void);
/*
 * The host kernel's own anonymous-memory path, for comparison with the
 * VM's: mmap(MAP_ANONYMOUS | MAP_PRIVATE) of npages * 4 KiB (with
 * MADV_NOHUGEPAGE, so that the host faults 4 KiB at a time as the VM
 * does), a write of 8 bytes to each 4 KiB page (each one a host page
 * fault and a zero-fill), and munmap.  Returns the host nanoseconds the
 * three took (CLOCK_MONOTONIC), 0 if npages is 0 or the mapping failed.
 * It always measures the host, on the sim backend too: it charges no
 * virtual time and is not a sync point, so a simulated run's schedule
 * does not depend on it (its result does, like any host figure).
 * Callable anywhere; touches no kernel state.
 */
uint64_t md_host_anon_touch_ns(uint64_t npages);
static inline int md_curcpu(void);

/*
 * Execution contexts.  A context is a stack plus saved registers.  A CPU's
 * scheduler loop runs on the context md_ctx_self() describes (the host
 * thread's own stack); kernel threads run on contexts made by
 * md_ctx_create() with a stack of at least `stacksize' bytes, lazily backed,
 * with an inaccessible guard page below it.
 *
 * md_ctx_switch(from, to): saves the running context into `from' and resumes
 * `to'.  Returns when something switches back to `from'.  If `from_dying' is
 * true, `from' will never be resumed and may be destroyed by whoever runs
 * next (with md_ctx_destroy()).
 * A new context starts in entry(arg); entry must never return.
 */
struct md_ctx {
	void *ctx_sp;	      /* saved stack pointer */
	void *ctx_stack;      /* lowest usable byte of the stack */
	size_t ctx_stacksize; /* usable bytes above ctx_stack */
	void *ctx_map;	      /* mapping (guard page included), or NULL */
	size_t ctx_mapsize;
	void *ctx_tsan_fiber; /* TSan fiber, when built with TSan */
	void *ctx_asan_fake;  /* ASan fake stack of a suspended context */
	void (*ctx_entry)(void *);
	void *ctx_arg;
	bool ctx_self; /* describes a host thread's own stack */
};

int md_ctx_create(
    struct md_ctx *ctx, size_t stacksize, void (*entry)(void *), void *arg);
void md_ctx_self(struct md_ctx *ctx);
void md_ctx_switch(struct md_ctx *from, struct md_ctx *to, bool from_dying);
void md_ctx_destroy(struct md_ctx *ctx);
size_t md_ctx_default_stacksize(void);
/* Bytes of stack in use by stack caches and live contexts (virtual). */
uint64_t md_ctx_stack_bytes(void);

/*
 * Time and cost.  md_nanotime(): monotonic nanoseconds (host: real clock;
 * sim: the current CPU's virtual clock).  md_cost(ns): the caller did `ns'
 * of work (host: nothing; sim: advances the virtual clock).
 */
uint64_t md_nanotime(void);
void md_cost(uint64_t ns);

/*
 * Interrupt state.  md_intr_disable() / md_intr_enable() nest per CPU; while
 * the count is non-zero, md_ipi_poll() delivers nothing.  Spin locks disable
 * interrupts while held, so an IPI handler never spins on a spin lock held
 * by the code it interrupted.
 */
void md_intr_disable(void);
void md_intr_enable(void);
int md_intr_nesting(void);

/*
 * Idle.  md_cpu_idle(deadline) sleeps until md_cpu_wake(cpu) is called for
 * this CPU, an IPI arrives, or md_nanotime() passes `deadline' (0: none).
 * A wake-up posted before md_cpu_idle() is called is not lost: it makes the
 * next md_cpu_idle() return at once.  May return spuriously.
 */
void md_cpu_idle(uint64_t deadline);
void md_cpu_wake(int cpu);

/*
 * Spin waiting.  Every spin loop calls md_spin_wait(addr) once per
 * iteration with the address it is waiting on: it polls for IPIs, relaxes
 * the CPU, and under sim lets the virtual clock jump to the next write of
 * that line.
 */
void md_spin_wait(const void *addr);
/*
 * Busy-waits about `ns' nanoseconds without watching memory (backoff):
 * polls for IPIs; under sim the CPU's clock jumps by `ns'.
 */
void md_spin_delay(uint64_t ns);

/*
 * IPIs.  md_ipi_send() runs fn(arg) on every CPU in `set' (an array of
 * md_ncpus() bools).  When `wait' is true it returns after all have run it;
 * otherwise it returns at once.  The current CPU, if in `set', runs fn
 * directly.  Must not be called with interrupts disabled and `wait' true.
 * Handlers run in whatever context the target CPU is in and must not block.
 * md_ipi_poll() runs pending handlers; the kernel calls it from every spin
 * loop (through md_spin_wait), every scheduler switch and the idle loop.
 */
void md_ipi_send(const bool *set, void (*fn)(void *), void *arg, bool wait);
void md_ipi_send_one(int cpu, void (*fn)(void *), void *arg, bool wait);
void md_ipi_poll(void);
uint64_t md_ipi_count(void);

/*
 * Physical memory: one arena of mc_physmem bytes reserved at boot, lazily
 * backed (host: anonymous mapping with MADV_HUGEPAGE).  The direct map is
 * md_phys_base() + pa.  md_phys_release() returns the backing of a range to
 * the host (the contents become zero).
 */
uint8_t *md_phys_base(void);
uint64_t md_phys_size(void);
void md_phys_release(uint64_t pa, uint64_t len);

/*
 * Disks: block devices backed by regular host files.  md_disk_open()
 * opens the regular file at `path' (symbolic links followed) without
 * changing it; with `create' set, a missing file is created empty.
 * Anything else at `path' (a directory, a device node, a FIFO, a socket)
 * is refused with ENODEV before it is opened (and checked again after,
 * should it change in between).  `path' NULL creates an
 * anonymous empty temporary file, removed when closed.
 * md_disk_truncate() sets the disk's size in bytes: a longer disk reads
 * as zeros past the old end.  I/O is
 * synchronous, at any byte offset, and complete: a read or write returns
 * 0 only after all `len' bytes moved (a read past the end of the file is
 * EIO).  md_disk_readv() / md_disk_writev() move the iovcnt (>= 1)
 * buffers of `iov', in order, to or from the contiguous range starting at
 * `off', as one I/O (a scatter-gather transfer with no copy).  Concurrent
 * I/O to disjoint ranges of one disk is allowed.  Each read or write
 * charges its own cost (sim: the disk's latency plus the bytes at its
 * bandwidth, sim.cost.disk_*; host: the real I/O), failed or not.
 */
struct md_disk;
struct md_iovec {
	void *mi_base;
	size_t mi_len;
};
int md_disk_open(const char *path, bool create, struct md_disk **diskp);
int md_disk_truncate(struct md_disk *d, uint64_t size);
int md_disk_read(struct md_disk *d, void *buf, uint64_t off, size_t len);
int md_disk_write(struct md_disk *d, const void *buf, uint64_t off, size_t len);
int md_disk_readv(
    struct md_disk *d, const struct md_iovec *iov, int iovcnt, uint64_t off);
int md_disk_writev(
    struct md_disk *d, const struct md_iovec *iov, int iovcnt, uint64_t off);
uint64_t md_disk_size(const struct md_disk *d);
void md_disk_close(struct md_disk *d);

/*
 * Page contents through the direct map: md_page_zero() / md_page_copy()
 * are memset / memcpy of len bytes that charge their own cost (sim: per
 * 4 KiB page, sim.cost.page_zero / page_copy; host: the real work).
 */
void md_page_zero(void *dst, size_t len);
void md_page_copy(void *dst, const void *src, size_t len);

/* Fatal errors: prints the message and aborts the process. */
void md_panic(const char *fmt, ...)
    __attribute__((noreturn, format(printf, 1, 2)));
/* Console output (serialised), on the diagnostic stream (stderr). */
void md_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * The kernel's memory for its own structures (not the physical arena):
 * the kernel services, the VM and the front door allocate through these,
 * with malloc(3)'s contracts (NULL on failure; md_free(NULL) does
 * nothing), from any thread.  md's own bookkeeping (the simulator's
 * tables, IPI records: the machine, not the kernel) does not.
 *
 * Failure injection (tests, as SQLite's test harness does):
 * md_malloc_fail_nth(n) makes the nth allocation from now fail (1: the
 * next), once; 0 cancels.  md_malloc_count() counts allocations made
 * since the process started, md_malloc_failed() those failed by
 * injection.
 */
void *md_malloc(size_t size);
void *md_calloc(size_t nmemb, size_t size);
void *md_realloc(void *p, size_t size);
void *md_aligned_alloc(size_t align, size_t size);
void md_free(void *p);
void md_malloc_fail_nth(uint64_t n);
uint64_t md_malloc_count(void);
uint64_t md_malloc_failed(void);

/* Backend-private inline parts (md_curcpu and sync hooks). */
#include "md/md_inline.h"

#endif /* !VMLAB_MD_H */
