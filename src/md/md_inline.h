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

extern intptr_t md_tls_cpu_off; /* (c) offset of the CPU number from TP */
extern bool md_sim_enabled;	/* (c) the sim backend is running */
extern int md_sim_curcpu;	/* sim: the CPU the engine is running */

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

void md_sync_slow(const void *addr, int kind);

static inline void
md_sync(const void *addr, int kind)
{
	if (__builtin_expect(md_sim_enabled, 0))
		md_sync_slow(addr, kind);
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
