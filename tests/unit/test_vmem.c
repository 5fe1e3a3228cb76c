/*
 * test_vmem.c: vmem arenas (src/kern/vmem.h).
 *
 * Cases:
 *	random:	  seeded alloc/xalloc/free under every fit against a bitmap
 *		  model (no overlap, constraints met, a failure only when
 *		  the model has no room, first fit lowest, best fit
 *		  smallest), vmem_check after every operation;
 *	xalloc:	  alignment, phase, nocross, min and max, one by one;
 *	qcache:	  repeated allocations of a cached size hit the cache;
 *		  cached addresses are not counted as allocated; the drain
 *		  returns them;
 *	import:	  a child arena imports spans from its parent and gives
 *		  each back once wholly free;
 *	nowait:	  an exhausted arena fails M_NOWAIT with ENOMEM and
 *		  changes nothing;
 *	waitok:	  M_WAITOK sleeps until another thread frees;
 *	allocfail: md_malloc failing in the tag refill: ENOMEM, nothing
 *		  changed;
 *	planted:  each planted corruption is caught by vmem_check, and
 *		  its repair passes;
 *	threads:  one thread per CPU allocating and freeing (cached sizes
 *		  and not), no two holding one quantum; totals back to zero.
 */
#include "harness.h"
#include "kern/kassert.h"
#include "kern/sleepq.h"
#include "kern/thread.h"
#include "kern/vmem.h"
#include "md/md_atomic.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TV_Q 4096ull
#define TV_BASE 0x10000000ull
#define TV_N 1024 /* quanta of the random case */

static void
tv_check(vmem_t *vm)
{
	int n = vmem_check(vm);

	CHECKF(n == 0, "vmem_check: %d violations", n);
}

/*
 * random.
 */
struct tv_model {
	uint8_t m_used[TV_N];
	vmem_addr_t m_addr[TV_N];
	vmem_size_t m_size[TV_N];
	bool m_x[TV_N]; /* by xalloc */
	int m_n;
};

/* The free run of the model around quantum i, its start and length. */
static int
tv_run_at(const struct tv_model *m, int i, int *startp)
{
	int s = i, e = i;

	while (s > 0 && !m->m_used[s - 1])
		s--;
	while (e < TV_N && !m->m_used[e])
		e++;
	*startp = s;
	return (e - s);
}

/* The first free run of at least n quanta (-1 if none); *best: smallest. */
static int
tv_model_find(const struct tv_model *m, int n, int *bestlen)
{
	int i = 0, first = -1, s, len;

	*bestlen = 0;
	while (i < TV_N) {
		if (m->m_used[i]) {
			i++;
			continue;
		}
		len = tv_run_at(m, i, &s);
		if (len >= n) {
			if (first < 0)
				first = s;
			if (*bestlen == 0 || len < *bestlen)
				*bestlen = len;
		}
		i = s + len;
	}
	return (first);
}

static void
tv_model_mark(struct tv_model *m, vmem_addr_t a, vmem_size_t size, uint8_t v)
{
	int i, q = (int)((a - TV_BASE) / TV_Q);

	for (i = 0; i < (int)(size / TV_Q); i++) {
		CHECKF(
		    m->m_used[q + i] != v, "quantum %d already %d", q + i, v);
		m->m_used[q + i] = v;
	}
}

static void
tv_random_alloc(vmem_t *vm, struct tv_model *m, uint64_t *rng)
{
	static const int fits[] = { M_INSTANTFIT, M_BESTFIT, M_FIRSTFIT };
	int fit = fits[test_rand(rng) % 3], n = 1 + (int)(test_rand(rng) % 24);
	int first, bestlen, s;
	vmem_addr_t a;
	int error;

	first = tv_model_find(m, n, &bestlen);
	error = vmem_alloc(vm, (vmem_size_t)n * TV_Q, M_NOWAIT | fit, &a);
	if (error != 0) {
		CHECKF(error == ENOMEM && first < 0,
		    "alloc of %d quanta: %d, model has room at %d", n, error,
		    first);
		return;
	}
	CHECK(a >= TV_BASE && (a - TV_BASE) % TV_Q == 0 &&
	    a + (vmem_size_t)n * TV_Q <= TV_BASE + TV_N * TV_Q);
	if (fit == M_FIRSTFIT)
		CHECKF(a == TV_BASE + (vmem_addr_t)first * TV_Q,
		    "first fit at %#llx, model %d", (unsigned long long)a,
		    first);
	if (fit == M_BESTFIT)
		CHECKF(tv_run_at(m, (int)((a - TV_BASE) / TV_Q), &s) == bestlen,
		    "best fit of %d in a run of %d, best %d", n,
		    tv_run_at(m, (int)((a - TV_BASE) / TV_Q), &s), bestlen);
	tv_model_mark(m, a, (vmem_size_t)n * TV_Q, 1);
	m->m_addr[m->m_n] = a;
	m->m_size[m->m_n] = (vmem_size_t)n * TV_Q;
	m->m_x[m->m_n++] = false;
}

static void
tv_random_xalloc(vmem_t *vm, struct tv_model *m, uint64_t *rng)
{
	vmem_size_t n = 1 + test_rand(rng) % 8, size = n * TV_Q;
	vmem_size_t align = TV_Q << (test_rand(rng) % 5), phase, nocross = 0;
	vmem_addr_t lo = TV_BASE + (test_rand(rng) % TV_N) * TV_Q / 2;
	vmem_addr_t hi = lo + (TV_N / 2 + test_rand(rng) % (TV_N / 2)) * TV_Q;
	vmem_addr_t a;

	phase = (test_rand(rng) % (align / TV_Q)) * TV_Q;
	if (test_rand(rng) % 2 == 0) {
		nocross = TV_Q << 5;
		while (nocross < size + phase)
			nocross <<= 1;
	}
	if (vmem_xalloc(vm, size, align, phase, nocross, lo, hi,
		M_NOWAIT | M_BESTFIT, &a) != 0)
		return;
	CHECKF(a % align == phase, "%#llx align %#llx phase %#llx",
	    (unsigned long long)a, (unsigned long long)align,
	    (unsigned long long)phase);
	CHECK(a >= lo && a + size - 1 <= hi);
	CHECK(nocross == 0 || (a / nocross) == ((a + size - 1) / nocross));
	tv_model_mark(m, a, size, 1);
	m->m_addr[m->m_n] = a;
	m->m_size[m->m_n] = size;
	m->m_x[m->m_n++] = true;
}

static void
tv_random_fn(void *arg)
{
	uint64_t rng = *(uint64_t *)arg, k,
		 nops = test_sanitizer() ? 2000 : 20000;
	struct tv_model *m = calloc(1, sizeof(*m));
	vmem_t *vm;
	int i;

	vm =
	    vmem_create("test random", TV_BASE, TV_N * TV_Q, TV_Q, 0, M_WAITOK);
	CHECK(vm != NULL && m != NULL);
	if (vm == NULL || m == NULL)
		return;
	for (k = 0; k < nops; k++) {
		switch (test_rand(&rng) % 5) {
		case 0:
		case 1:
			tv_random_alloc(vm, m, &rng);
			break;
		case 2:
			tv_random_xalloc(vm, m, &rng);
			break;
		default:
			if (m->m_n == 0)
				break;
			i = (int)(test_rand(&rng) % (uint64_t)m->m_n);
			if (m->m_x[i])
				vmem_xfree(vm, m->m_addr[i], m->m_size[i]);
			else
				vmem_free(vm, m->m_addr[i], m->m_size[i]);
			tv_model_mark(m, m->m_addr[i], m->m_size[i], 0);
			m->m_n--;
			m->m_addr[i] = m->m_addr[m->m_n];
			m->m_size[i] = m->m_size[m->m_n];
			m->m_x[i] = m->m_x[m->m_n];
		}
		if (vmem_check(vm) != 0) {
			CHECKF(0, "vmem_check failed after op %llu",
			    (unsigned long long)k);
			break;
		}
	}
	while (m->m_n > 0) {
		m->m_n--;
		vmem_xfree(vm, m->m_addr[m->m_n], m->m_size[m->m_n]);
	}
	CHECK(vmem_size(vm, VMEM_ALLOC) == 0);
	CHECK(vmem_size(vm, VMEM_FREE) == TV_N * TV_Q);
	tv_check(vm);
	vmem_destroy(vm);
	free(m);
}

static void
test_random(void)
{
	uint64_t seed = test_seed();

	test_boot(2, NULL);
	test_run(tv_random_fn, &seed);
	test_shutdown();
}

/*
 * xalloc.
 */
static void
tv_xalloc_fn(void *arg)
{
	vmem_t *vm = vmem_create("test x", TV_BASE, 256 * TV_Q, TV_Q, 0, 0);
	vmem_addr_t a, b;

	(void)arg;
	CHECK(vm != NULL);
	if (vm == NULL)
		return;
	/* Alignment and phase. */
	CHECK(vmem_xalloc(vm, TV_Q, 16 * TV_Q, 3 * TV_Q, 0, VMEM_ADDR_MIN,
		  VMEM_ADDR_MAX, M_NOWAIT, &a) == 0);
	CHECK(a % (16 * TV_Q) == 3 * TV_Q);
	/* min: at or above; max: the last byte at or below. */
	CHECK(vmem_xalloc(vm, 2 * TV_Q, 0, 0, 0, TV_BASE + 100 * TV_Q,
		  VMEM_ADDR_MAX, M_NOWAIT | M_FIRSTFIT, &b) == 0);
	CHECK(b == TV_BASE + 100 * TV_Q);
	vmem_xfree(vm, b, 2 * TV_Q);
	CHECK(vmem_xalloc(vm, 2 * TV_Q, 0, 0, 0, VMEM_ADDR_MIN,
		  TV_BASE + 2 * TV_Q - 1, M_NOWAIT, &b) == 0);
	CHECK(b == TV_BASE);
	vmem_xfree(vm, b, 2 * TV_Q);
	CHECK(vmem_xalloc(vm, 3 * TV_Q, 0, 0, 0, VMEM_ADDR_MIN,
		  TV_BASE + 2 * TV_Q - 1, M_NOWAIT, &b) == ENOMEM);
	/* nocross: [4, 12) quanta would cross 8; the result starts at 8. */
	CHECK(vmem_xalloc(vm, 8 * TV_Q, 0, 0, 8 * TV_Q,
		  TV_BASE + 4 * TV_Q + 0x10000000ull * 0, VMEM_ADDR_MAX,
		  M_NOWAIT | M_FIRSTFIT, &b) == 0);
	CHECK((b - TV_BASE) % (8 * TV_Q) == 0 && b >= TV_BASE + 4 * TV_Q);
	vmem_xfree(vm, b, 8 * TV_Q);
	vmem_xfree(vm, a, TV_Q);
	tv_check(vm);
	CHECK(vmem_size(vm, VMEM_ALLOC) == 0);
	vmem_destroy(vm);
}

static void
test_xalloc(void)
{
	test_boot(2, NULL);
	test_run(tv_xalloc_fn, NULL);
	test_shutdown();
}

/*
 * qcache.
 */
static void
tv_qcache_fn(void *arg)
{
	vmem_t *vm =
	    vmem_create("test qc", TV_BASE, 1024 * TV_Q, TV_Q, 16 * TV_Q, 0);
	struct vmem_stats st;
	vmem_addr_t a[40];
	int i, r;

	(void)arg;
	CHECK(vm != NULL);
	if (vm == NULL)
		return;
	for (r = 0; r < 4; r++) {
		for (i = 0; i < 40; i++)
			CHECK(vmem_alloc(vm, 3 * TV_Q, M_NOWAIT, &a[i]) == 0);
		CHECK(vmem_size(vm, VMEM_ALLOC) == 40 * 3 * TV_Q);
		for (i = 0; i < 40; i++)
			vmem_free(vm, a[i], 3 * TV_Q);
		/* Cached, not allocated. */
		CHECK(vmem_size(vm, VMEM_ALLOC) == 0);
		tv_check(vm);
	}
	vmem_stats(vm, &st);
	CHECKF(st.qcache_hits >= 100, "%llu hits",
	    (unsigned long long)st.qcache_hits);
	CHECK(st.qcached == 40 * 3 * TV_Q);
	CHECK(st.allocs == 160 && st.frees == 160);
	vmem_qcache_drain(vm);
	vmem_stats(vm, &st);
	CHECK(st.qcached == 0 && st.inuse == 0);
	/* All free, all coalesced: one span, one free segment. */
	CHECK(st.btags == 2);
	tv_check(vm);
	vmem_destroy(vm);
}

static void
test_qcache(void)
{
	test_boot(2, NULL);
	test_run(tv_qcache_fn, NULL);
	test_shutdown();
}

/*
 * import.
 */
static int
tv_import(void *arg, vmem_size_t size, int flags, vmem_addr_t *addrp)
{
	return (vmem_xalloc(
	    arg, size, 0, 0, 0, VMEM_ADDR_MIN, VMEM_ADDR_MAX, flags, addrp));
}

static void
tv_release(void *arg, vmem_addr_t addr, vmem_size_t size)
{
	vmem_xfree(arg, addr, size);
}

static void
tv_import_fn(void *arg)
{
	vmem_t *parent =
	    vmem_create("test parent", TV_BASE, 256 * TV_Q, TV_Q, 0, 0);
	vmem_t *child = vmem_create("test child", 0, 0, TV_Q, 0, 0);
	struct vmem_stats st;
	vmem_addr_t a[8];
	int i;

	(void)arg;
	CHECK(parent != NULL && child != NULL);
	if (parent == NULL || child == NULL)
		return;
	vmem_set_import(child, tv_import, tv_release, parent, 16 * TV_Q);
	for (i = 0; i < 8; i++)
		CHECK(vmem_alloc(child, 4 * TV_Q, M_NOWAIT, &a[i]) == 0);
	/* 32 quanta in spans of 16: two imports. */
	vmem_stats(child, &st);
	CHECK(st.imports == 2 && st.size == 32 * TV_Q);
	CHECK(vmem_size(parent, VMEM_ALLOC) == 32 * TV_Q);
	/* The parent's limit: 256 quanta. */
	CHECK(vmem_alloc(child, 300 * TV_Q, M_NOWAIT, &a[0]) == ENOMEM ||
	    !"parent should be too small");
	tv_check(child);
	tv_check(parent);
	for (i = 0; i < 4; i++)
		vmem_free(child, a[i], 4 * TV_Q);
	/* The first span is wholly free: given back. */
	CHECK(vmem_size(child, VMEM_ALLOC | VMEM_FREE) == 16 * TV_Q);
	CHECK(vmem_size(parent, VMEM_ALLOC) == 16 * TV_Q);
	for (; i < 8; i++)
		vmem_free(child, a[i], 4 * TV_Q);
	CHECK(vmem_size(child, VMEM_ALLOC | VMEM_FREE) == 0);
	CHECK(vmem_size(parent, VMEM_ALLOC) == 0);
	tv_check(child);
	tv_check(parent);
	vmem_destroy(child);
	vmem_destroy(parent);
}

static void
test_import(void)
{
	test_boot(2, NULL);
	test_run(tv_import_fn, NULL);
	test_shutdown();
}

/*
 * nowait.
 */
static bool
tv_same(vmem_t *vm, const struct vmem_stats *a)
{
	struct vmem_stats b;

	vmem_stats(vm, &b);
	return (a->size == b.size && a->inuse == b.inuse &&
	    a->btags == b.btags && a->allocs == b.allocs);
}

static void
tv_nowait_fn(void *arg)
{
	vmem_t *vm = vmem_create("test nowait", TV_BASE, 8 * TV_Q, TV_Q, 0, 0);
	struct vmem_stats st;
	vmem_addr_t a, b;

	(void)arg;
	CHECK(vm != NULL);
	if (vm == NULL)
		return;
	CHECK(vmem_alloc(vm, 5 * TV_Q, M_NOWAIT, &a) == 0);
	vmem_stats(vm, &st);
	CHECK(vmem_alloc(vm, 4 * TV_Q, M_NOWAIT, &b) == ENOMEM);
	CHECK(vmem_alloc(vm, 4 * TV_Q, M_NOWAIT | M_BESTFIT, &b) == ENOMEM);
	CHECK(vmem_alloc(vm, 4 * TV_Q, M_NOWAIT | M_FIRSTFIT, &b) == ENOMEM);
	CHECK(vmem_xalloc(vm, TV_Q, 0, 0, 0, TV_BASE, TV_BASE + 5 * TV_Q - 1,
		  M_NOWAIT, &b) == ENOMEM);
	CHECK(tv_same(vm, &st));
	tv_check(vm);
	CHECK(vmem_alloc(vm, 3 * TV_Q, M_NOWAIT, &b) == 0);
	vmem_free(vm, a, 5 * TV_Q);
	vmem_free(vm, b, 3 * TV_Q);
	tv_check(vm);
	vmem_destroy(vm);
}

static void
test_nowait(void)
{
	test_boot(2, NULL);
	test_run(tv_nowait_fn, NULL);
	test_shutdown();
}

/*
 * waitok.
 */
struct tv_waiter {
	vmem_t *w_vm;
	vmem_addr_t w_addr;
	int w_error;
};

static void
tv_waiter_thread(void *arg)
{
	struct tv_waiter *w = arg;

	w->w_error = vmem_alloc(w->w_vm, 4 * TV_Q, M_WAITOK, &w->w_addr);
}

static void
tv_waitok_fn(void *arg)
{
	struct tv_waiter w = { 0 };
	struct vmem_stats st;
	struct thread *td;
	vmem_addr_t a;
	int i;

	(void)arg;
	w.w_vm = vmem_create("test waitok", TV_BASE, 4 * TV_Q, TV_Q, 0, 0);
	CHECK(w.w_vm != NULL);
	if (w.w_vm == NULL)
		return;
	CHECK(vmem_alloc(w.w_vm, 4 * TV_Q, M_NOWAIT, &a) == 0);
	w.w_error = -1;
	CHECK(kthread_create(tv_waiter_thread, &w, md_ncpus() - 1,
		  KTHR_JOINABLE | KTHR_BOUND, &td, "vmem waiter") == 0);
	/* Until the waiter is asleep in the arena. */
	for (i = 0; i < 10000; i++) {
		vmem_stats(w.w_vm, &st);
		if (st.sleeps > 0)
			break;
		pause_ns("tvwait", 100000);
	}
	CHECK(st.sleeps == 1);
	vmem_free(w.w_vm, a, 4 * TV_Q);
	kthread_join(td);
	CHECK(w.w_error == 0 && w.w_addr == TV_BASE);
	vmem_free(w.w_vm, w.w_addr, 4 * TV_Q);
	tv_check(w.w_vm);
	vmem_destroy(w.w_vm);
}

static void
test_waitok(void)
{
	test_boot(2, NULL);
	test_run(tv_waitok_fn, NULL);
	test_shutdown();
}

/*
 * allocfail.
 */
static void
tv_allocfail_fn(void *arg)
{
	vmem_t *vm = vmem_create("test fail", TV_BASE, 64 * TV_Q, TV_Q, 0, 0);
	struct vmem_stats st;
	vmem_addr_t a[8];
	uint64_t nth;
	int error = 0, k, failures = 0;

	(void)arg;
	CHECK(vm != NULL);
	if (vm == NULL)
		return;
	for (k = 0; k < 8; k++) {
		vmem_stats(vm, &st);
		for (nth = 1; nth <= 8; nth++) {
			md_malloc_fail_nth(nth);
			error = vmem_xalloc(vm, TV_Q, 0, 0, 0,
			    TV_BASE + (vmem_addr_t)(8 * k + 1) * TV_Q,
			    VMEM_ADDR_MAX, M_WAITOK | M_FIRSTFIT, &a[k]);
			md_malloc_fail_nth(0);
			if (error == 0)
				break;
			failures++;
			CHECKF(error == ENOMEM, "alloc %d nth %llu: %d", k,
			    (unsigned long long)nth, error);
			CHECKF(tv_same(vm, &st), "alloc %d nth %llu: changed",
			    k, (unsigned long long)nth);
			tv_check(vm);
		}
		CHECK(error == 0);
		tv_check(vm);
	}
	/* Each split needed two tags: the refill failed at least once. */
	CHECK(failures > 0);
	for (k = 0; k < 8; k++)
		vmem_xfree(vm, a[k], TV_Q);
	tv_check(vm);
	vmem_destroy(vm);
}

static void
test_allocfail(void)
{
	test_boot(2, NULL);
	test_run(tv_allocfail_fn, NULL);
	test_shutdown();
}

/*
 * planted.
 */
#ifdef VM_INVARIANTS
static void
tv_planted_fn(void *arg)
{
	static const int kinds[] = { VMEM_CORRUPT_OVERLAP,
		VMEM_CORRUPT_FREELIST, VMEM_CORRUPT_HASH };
	vmem_t *vm =
	    vmem_create("test planted", TV_BASE, 64 * TV_Q, TV_Q, 0, 0);
	vmem_addr_t a, b;
	size_t k;
	int n;

	(void)arg;
	CHECK(vm != NULL);
	if (vm == NULL)
		return;
	CHECK(vmem_alloc(vm, 2 * TV_Q, M_NOWAIT | M_FIRSTFIT, &a) == 0);
	CHECK(vmem_alloc(vm, 3 * TV_Q, M_NOWAIT | M_FIRSTFIT, &b) == 0);
	tv_check(vm);
	for (k = 0; k < nitems(kinds); k++) {
		CHECK(vmem_debug_corrupt(vm, kinds[k]) == 0);
		md_printf("test_vmem: planted bug %d (violations expected):\n",
		    kinds[k]);
		n = vmem_check(vm);
		CHECKF(n > 0, "planted bug %d not caught", kinds[k]);
		CHECK(vmem_debug_corrupt(vm, 0) == 0);
		tv_check(vm);
	}
	vmem_free(vm, a, 2 * TV_Q);
	vmem_free(vm, b, 3 * TV_Q);
	vmem_destroy(vm);
}

static void
test_planted(void)
{
	test_boot(2, NULL);
	test_run(tv_planted_fn, NULL);
	test_shutdown();
}
#else
static void
test_planted(void)
{
	printf("test_planted: skipped (planted bugs exist in debug builds)\n");
}
#endif

/*
 * threads.
 */
/*
 * Quanta of the shared arena: room for every live allocation (2 x CPUs
 * threads x 32 x 24 quanta at most) and every CPU's full magazines
 * (2 x 15 rounds of each class 1..16: 4080 quanta a CPU), so M_WAITOK
 * never waits for good.
 */
#define TV_TN 65536
#define TV_TLIVE 32

struct tv_shared {
	vmem_t *s_vm;
	uint32_t s_owner[TV_TN]; /* (a) 0 or the holder's number */
	uint64_t s_seed;
	uint64_t s_iters;
};

struct tv_worker {
	struct tv_shared *w_s;
	int w_id;
	uint64_t w_bad;
};

static void
tv_worker_thread(void *arg)
{
	struct tv_worker *w = arg;
	struct tv_shared *s = w->w_s;
	vmem_addr_t addr[TV_TLIVE];
	vmem_size_t size[TV_TLIVE];
	uint64_t rng = s->s_seed ^ ((uint64_t)w->w_id << 40), k;
	uint32_t q, i, j, n;

	memset(addr, 0, sizeof(addr));
	for (k = 0; k < s->s_iters; k++) {
		i = (uint32_t)(test_rand(&rng) % TV_TLIVE);
		if (addr[i] != 0) {
			q = (uint32_t)((addr[i] - TV_BASE) / TV_Q);
			for (j = 0; j < size[i] / TV_Q; j++)
				atomic_store_int(&s->s_owner[q + j], 0);
			vmem_free(s->s_vm, addr[i], size[i]);
			addr[i] = 0;
			continue;
		}
		/* Sizes in the quantum caches (1-16) and above them. */
		n = 1 + (uint32_t)(test_rand(&rng) % 24);
		size[i] = n * TV_Q;
		if (vmem_alloc(s->s_vm, size[i], M_WAITOK, &addr[i]) != 0) {
			w->w_bad++;
			addr[i] = 0;
			continue;
		}
		q = (uint32_t)((addr[i] - TV_BASE) / TV_Q);
		for (j = 0; j < n; j++)
			if (!atomic_cmpset_int(
				&s->s_owner[q + j], 0, (uint32_t)w->w_id + 1))
				w->w_bad++;
		if (k % 64 == 0)
			maybe_yield();
	}
	for (i = 0; i < TV_TLIVE; i++)
		if (addr[i] != 0) {
			q = (uint32_t)((addr[i] - TV_BASE) / TV_Q);
			for (j = 0; j < size[i] / TV_Q; j++)
				atomic_store_int(&s->s_owner[q + j], 0);
			vmem_free(s->s_vm, addr[i], size[i]);
		}
}

static void
tv_threads_fn(void *arg)
{
	struct tv_shared *s = calloc(1, sizeof(*s));
	int ncpu = md_ncpus(), nthr = 2 * md_ncpus(), t;
	struct tv_worker *w = calloc((size_t)nthr, sizeof(*w));
	struct thread **td = calloc((size_t)nthr, sizeof(*td));
	struct vmem_stats st;

	(void)arg;
	s->s_seed = test_seed();
	s->s_iters = test_sanitizer() ? 2000 : 20000;
	s->s_vm = vmem_create(
	    "test threads", TV_BASE, TV_TN * TV_Q, TV_Q, 16 * TV_Q, 0);
	CHECK(s->s_vm != NULL);
	if (s->s_vm == NULL)
		return;
	for (t = 0; t < nthr; t++) {
		w[t].w_s = s;
		w[t].w_id = t;
		CHECK(
		    kthread_create(tv_worker_thread, &w[t], t % ncpu,
			KTHR_JOINABLE | KTHR_BOUND, &td[t], "vmem %d", t) == 0);
	}
	for (t = 0; t < nthr; t++) {
		kthread_join(td[t]);
		CHECKF(w[t].w_bad == 0, "worker %d: %llu overlaps/failures", t,
		    (unsigned long long)w[t].w_bad);
	}
	tv_check(s->s_vm);
	CHECK(vmem_size(s->s_vm, VMEM_ALLOC) == 0);
	vmem_stats(s->s_vm, &st);
	CHECK(st.allocs == st.frees);
	CHECK(st.qcache_hits > 0);
	vmem_qcache_drain(s->s_vm);
	vmem_stats(s->s_vm, &st);
	CHECK(st.qcached == 0 && st.inuse == 0 && st.btags == 2);
	tv_check(s->s_vm);
	vmem_destroy(s->s_vm);
	free(td);
	free(w);
	free(s);
}

static void
test_threads(void)
{
	test_boot(4, NULL);
	test_run(tv_threads_fn, NULL);
	test_shutdown();
}

static const struct test_case cases[] = {
	TEST_CASE(test_random),
	TEST_CASE(test_xalloc),
	TEST_CASE(test_qcache),
	TEST_CASE(test_import),
	TEST_CASE(test_nowait),
	TEST_CASE(test_waitok),
	TEST_CASE(test_allocfail),
	TEST_CASE(test_planted),
	TEST_CASE(test_threads),
};

int
main(int argc, char **argv)
{
	return (test_main(argc, argv, cases, TEST_NCASES(cases)));
}
