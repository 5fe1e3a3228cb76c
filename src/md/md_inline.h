/*
 * md_inline.h: the parts of the machine contract that must be inline for
 * speed.  Included by md.h only.
 *
 * md_curcpu() reads the current CPU number afresh on every call.  On the
 * host backend each CPU is a pthread whose initial-exec TLS holds its CPU
 * number; we read the thread pointer with a volatile asm so that the
 * compiler cannot reuse a thread pointer (or a TLS address) computed before
 * a context switch, after which the same kernel thread may run on another
 * pthread.  The offset of the TLS variable from the thread pointer is the
 * same in every thread (static TLS), computed once at boot.
 */
#ifndef VMLAB_MD_INLINE_H
#define VMLAB_MD_INLINE_H

#ifndef VMLAB_MD_H
#error "include md/md.h, not md/md_inline.h"
#endif

/*
 * Hidden: these are read by md_curcpu() and every sync point, inlined
 * everywhere.  Code built position-independent (the library is also a
 * shared one) addresses a hidden variable directly, not through the GOT:
 * the test of md_sim_enabled is then one compare with memory.  Nothing
 * outside the library and the programs linked with it statically reads
 * them.
 */
#define MD_HIDDEN __attribute__((visibility("hidden")))
extern MD_HIDDEN intptr_t md_tls_cpu_off; /* (c) CPU number's offset from TP */
extern MD_HIDDEN bool md_sim_enabled;	  /* (c) the sim backend is running */
extern MD_HIDDEN int md_sim_curcpu;	  /* sim: the CPU the engine runs */

static inline char *
md_thread_pointer(void)
{
	char *tp;

#if defined(__x86_64__)
	__asm__ volatile("movq %%fs:0, %0" : "=r"(tp));
#elif defined(__aarch64__)
	__asm__ volatile("mrs %0, tpidr_el0" : "=r"(tp));
#else
#error "md_thread_pointer: unsupported architecture"
#endif
	return (tp);
}

/* Current CPU, or -1 in an external thread. */
static inline int
md_curcpu(void)
{
	if (__builtin_expect(md_sim_enabled, 0))
		return (md_sim_curcpu);
	return (*(volatile int *)(md_thread_pointer() + md_tls_cpu_off));
}

/*
 * Sync points.  Every atomic operation on shared memory and every lock
 * operation reports here; the host backend does nothing, the sim backend
 * charges the cache-line cost and may switch to another virtual CPU.
 */
#define MD_SYNC_LOAD 0
#define MD_SYNC_STORE 1
#define MD_SYNC_RMW 2
#define MD_SYNC_FENCE 3
#define MD_SYNC_LOCAL 4 /* per-CPU data: costs, never switches */

/*
 * Cold: only a backend that asks for sync points (md_sim_enabled) gets
 * here, so its calls move out of the hot code.  It forwards to the
 * backend (md/common/md_common.c).
 */
void md_sync_slow(const void *addr, int kind) __attribute__((cold));

/*
 * What a sync point does on the running machine: nothing (host), or call
 * md_sync_slow() (sim).  The backend sets the mode before the CPUs start
 * and clears it after they stop, so code running on the machine's CPUs
 * always sees one value.
 */
enum md_sync_mode {
	MD_SYNC_MODE_NONE = 0,
	MD_SYNC_MODE_CALL = 1,
};

static inline enum md_sync_mode
md_sync_mode(void)
{
	return (__builtin_expect(md_sim_enabled, 0) ? MD_SYNC_MODE_CALL
						    : MD_SYNC_MODE_NONE);
}

/*
 * A sync point in a given mode: see the _m atomics in md_atomic.h for why
 * a caller would pass the mode.  Invariant builds check that it is the
 * machine's.
 */
static inline void
md_sync_m(const void *addr, int kind, enum md_sync_mode mode)
{
#ifdef VM_INVARIANTS
	if (mode != md_sync_mode())
		md_panic("md_sync_m: mode %d on a machine in mode %d",
		    (int)mode, (int)md_sync_mode());
#endif
	if (mode == MD_SYNC_MODE_CALL)
		md_sync_slow(addr, kind);
}

static inline void
md_sync(const void *addr, int kind)
{
	if (__builtin_expect(md_sim_enabled, 0))
		md_sync_slow(addr, kind);
}

/*
 * md_ipi_check(cpu): md_ipi_poll() for the current CPU `cpu' (md_curcpu();
 * CPU context only), inline: when nothing is pending the host pays one
 * load of the CPU's mailbox word (relaxed: a request pushed just after
 * is seen at the next check, as by any poll).  The sim polls every time,
 * which is a sync point.  For hot paths that must poll (the software
 * TLB's hit path).
 */
extern MD_HIDDEN char *md_ipi_mailboxes; /* (c) CPU i's word at i * 64 */
void md_ipi_poll(void);

static inline void
md_ipi_check(int cpu)
{
	if (__builtin_expect(md_sim_enabled, 0)) {
		md_ipi_poll();
		return;
	}
	if (__builtin_expect(
		__atomic_load_n((const uintptr_t *)(md_ipi_mailboxes +
				    (size_t)cpu * MD_CACHE_LINE),
		    __ATOMIC_RELAXED) != 0,
		0))
		md_ipi_poll();
}

static inline void
md_cpu_relax(void)
{
#if defined(__x86_64__)
	__asm__ volatile("pause" ::: "memory");
#elif defined(__aarch64__)
	__asm__ volatile("yield" ::: "memory");
#endif
}

#endif /* !VMLAB_MD_INLINE_H */
