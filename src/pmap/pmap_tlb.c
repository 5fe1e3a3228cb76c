/*
 * pmap_tlb.c: the per-CPU software TLBs, address-space activation and
 * shootdowns.
 *
 * Generations (PCID-like tags without a flush on switch).  Each CPU's
 * slot records the pm_gen its entries are current with.  The two sides:
 *	invalidator (pm locked, entries already changed):
 *	  I1. gen = ++pm_gen (atomic);
 *	  I2. full fence;
 *	  I3. read pm_active; IPI the active CPUs but itself and wait;
 *	  I4. invalidate locally if pm is loaded here.
 *	activator (pmap_activate on CPU c):
 *	  A1. set c in pm_active (atomic);
 *	  A2. full fence;
 *	  A3. read pm_gen; if the slot's generation differs, flush the slot
 *	      and record pm_gen.
 * Dekker's argument: either I3 sees c's bit (c gets the IPI), or A3 sees
 * the new generation (c flushes before it uses the slot).  A CPU that
 * handled every IPI since its slot was current advances the slot's
 * generation with them (a handler for generation g moves it from g - 1
 * to g: invalidations of one pmap are serialised by its lock, so they
 * arrive in order), so switching back and forth does not flush.
 *
 * Entries are touched only by their own CPU: by the lookup and fill paths
 * of the thread running there and by the IPI handlers it runs when it
 * polls; the lockless table walk of pmap_tlb_fill() never polls.
 */
#include "kern/kassert.h"
#include "kern/thread.h"
#include "pmap/pmap_int.h"

#include <errno.h>
#include <string.h>

char *pmap_tlbs;

#ifdef VM_INVARIANTS
int pmap_debug_plant;
/* Arguments of unwaited (planted) shootdowns, freed at pmap_fini(). */
struct pmap_invl_leak {
	struct pmap_invl_leak *il_next;
};
static struct pmap_invl_leak *pmap_invl_leaks;
static struct mtx pmap_invl_leak_mtx;
#endif

struct pmap_invl_arg {
	uint64_t ia_asid;	    /* pm_asid, or 0 for the kernel pmap */
	uint64_t ia_gen;	    /* the generation this invalidation made */
	vm_offset_t ia_sva, ia_eva; /* equal: everything */
#ifdef VM_INVARIANTS
	struct pmap_invl_leak ia_leak;
#endif
};

static void
pmap_tlb_flush_slot(struct pmap_tlb *t, uint64_t slot)
{
	int i;

	for (i = 0; i < PMAP_TLB_N4K; i++)
		if (t->tlb_4k[i].te_key != 0 &&
		    (t->tlb_4k[i].te_key & ((1u << PMAP_TLB_SLOTBITS) - 1)) ==
			slot)
			t->tlb_4k[i].te_key = 0;
	for (i = 0; i < PMAP_TLB_N2M; i++)
		if (t->tlb_2m[i].te_key != 0 &&
		    (t->tlb_2m[i].te_key & ((1u << PMAP_TLB_SLOTBITS) - 1)) ==
			slot)
			t->tlb_2m[i].te_key = 0;
}

static void
pmap_tlb_flush_range(
    struct pmap_tlb *t, uint64_t slot, vm_offset_t sva, vm_offset_t eva)
{
	struct pmap_tlb_entry *e;
	vm_offset_t va;

	for (va = sva; va < eva && va >= sva; va += PAGE_SIZE) {
		e = &t->tlb_4k[(va >> PAGE_SHIFT) & (PMAP_TLB_N4K - 1)];
		if (e->te_key ==
		    ((va >> PAGE_SHIFT) << PMAP_TLB_SLOTBITS | slot))
			e->te_key = 0;
	}
	for (va = sva & ~PDRMASK; va < eva && va >= (sva & ~PDRMASK);
	     va += NBPDR) {
		e = &t->tlb_2m[(va >> PDRSHIFT) & (PMAP_TLB_N2M - 1)];
		if (e->te_key == ((va >> PDRSHIFT) << PMAP_TLB_SLOTBITS | slot))
			e->te_key = 0;
	}
}

/* The slot of the address space `asid' on this CPU, or -1. */
static int
pmap_tlb_slot_of(struct pmap_tlb *t, uint64_t asid)
{
	int s;

	if (asid == 0)
		return (PMAP_TLB_KSLOT);
	for (s = 1; s <= PMAP_TLB_NSLOT; s++)
		if (t->tlb_slot[s].ts_asid == asid)
			return (s);
	return (-1);
}

/* The shootdown handler, on each target CPU (and locally). */
static void
pmap_invl_handler(void *arg)
{
	struct pmap_invl_arg *ia = arg;
	struct pmap_tlb *t = pmap_tlb_of(md_curcpu());
	struct pmap_tlb_slot *ts;
	int s;

	if ((s = pmap_tlb_slot_of(t, ia->ia_asid)) < 0)
		return;
	ts = &t->tlb_slot[s];
	if (ia->ia_sva == ia->ia_eva)
		pmap_tlb_flush_slot(t, (uint64_t)s);
	else
		pmap_tlb_flush_range(t, (uint64_t)s, ia->ia_sva, ia->ia_eva);
	/* Current through g - 1, and now through g (see the header). */
	if (ts->ts_gen + 1 == ia->ia_gen)
		ts->ts_gen = ia->ia_gen;
}

static bool
pmap_active_on(pmap_t pm, int cpu)
{
	return ((atomic_load_64(&pm->pm_active[cpu / 64]) &
		    (1ull << (cpu % 64))) != 0);
}

/* I3: the CPUs to interrupt (all but self where pm is active). */
static int
pmap_invl_targets(pmap_t pm, int self, bool *set)
{
	int cpu, n = 0, ncpu = md_ncpus();

	for (cpu = 0; cpu < ncpu; cpu++) {
		set[cpu] =
		    cpu != self && (pm->pm_kernel || pmap_active_on(pm, cpu));
		n += set[cpu];
	}
	return (n);
}

static void
pmap_invl_send(bool *set, struct pmap_invl_arg *ia)
{
	bool wait = true;

#ifdef VM_INVARIANTS
	struct pmap_invl_arg *copy;

	if ((atomic_load_int((uint32_t *)&pmap_debug_plant) &
		PMAP_PLANT_NOWAIT) != 0) {
		/* The planted bug: do not wait; the argument must outlive us. */
		if ((copy = md_malloc(sizeof(*copy))) == NULL)
			VM_PANIC("%s: out of memory", __func__);
		*copy = *ia;
		mtx_lock_spin(&pmap_invl_leak_mtx);
		copy->ia_leak.il_next = pmap_invl_leaks;
		pmap_invl_leaks = &copy->ia_leak;
		mtx_unlock_spin(&pmap_invl_leak_mtx);
		ia = copy;
		wait = false;
	}
#endif
	md_ipi_send(set, pmap_invl_handler, ia, wait);
}

void
pmap_invalidate(pmap_t pm, vm_offset_t sva, vm_offset_t eva)
{
	struct pmap_invl_arg ia;
	bool set[MD_MAXCPU];
	uint64_t npages = atop(eva - sva);
	int n, self = md_curcpu();

	mtx_assert_owned(&pm->pm_mtx);
	if (sva != eva && npages > pmap_invl_max)
		sva = eva = PMAP_INVL_ALL;
	memset(&ia, 0, sizeof(ia));
	ia.ia_asid = pm->pm_kernel ? 0 : pm->pm_asid;
	ia.ia_sva = sva;
	ia.ia_eva = eva;
	/* I1: seq_cst RMW; I2: orders it before the read of pm_active. */
	ia.ia_gen = atomic_fetchadd_64(&pm->pm_gen, 1) + 1;
	atomic_thread_fence_seq_cst();
	n = pmap_invl_targets(pm, self, set);
	if (sva == eva)
		counter_u64_add(pmap_cnt_full_flushes, 1);
	else
		counter_u64_add(pmap_cnt_invl_pages, (int64_t)npages);
	if (n > 0) {
		counter_u64_add(pmap_cnt_shootdowns, 1);
		counter_u64_add(pmap_cnt_ipis, n);
		pmap_invl_send(set, &ia);
	}
	/* I4. */
	if (self >= 0 && (pm->pm_kernel || pmap_tlb_of(self)->tlb_curpm == pm))
		pmap_invl_handler(&ia);
}

/* A slot for asid on this CPU: its own, or a victim's, flushed. */
static int
pmap_tlb_slot_get(struct pmap_tlb *t, uint64_t asid)
{
	int s;

	if ((s = pmap_tlb_slot_of(t, asid)) > 0)
		return (s);
	s = (int)(t->tlb_victim % PMAP_TLB_NSLOT) + 1;
	if ((uint64_t)s == t->tlb_cur)
		s = (int)(++t->tlb_victim % PMAP_TLB_NSLOT) + 1;
	t->tlb_victim++;
	pmap_tlb_flush_slot(t, (uint64_t)s);
	t->tlb_slot[s].ts_asid = asid;
	t->tlb_slot[s].ts_gen = 0;
	return (s);
}

static void
pmap_active_set(pmap_t pm, int cpu, bool on)
{
	uint64_t *w = &pm->pm_active[cpu / 64], old, bit = 1ull << (cpu % 64);

	old = atomic_load_64(w);
	/* Seq_cst RMW: A1 (and the clear of a pmap left behind). */
	while (!atomic_fcmpset_64(w, &old, on ? old | bit : old & ~bit))
		;
}

void
pmap_activate(pmap_t pm)
{
	int cpu = md_curcpu();
	struct pmap_tlb *t = pmap_tlb_of(cpu);
	pmap_t old = t->tlb_curpm;
	uint64_t gen;
	int s;

	VM_ASSERT(!pm->pm_kernel, ("%s: the kernel pmap", __func__));
	if (old == pm)
		return;
	s = pmap_tlb_slot_get(t, pm->pm_asid);
	pmap_active_set(pm, cpu, true);
	/* A2: our bit before the generation (pairs with I2). */
	atomic_thread_fence_seq_cst();
	gen = atomic_load_64(&pm->pm_gen);
	if (t->tlb_slot[s].ts_gen != gen) {
		pmap_tlb_flush_slot(t, (uint64_t)s);
		t->tlb_slot[s].ts_gen = gen;
	}
	t->tlb_cur = (uint64_t)s;
	t->tlb_curpm = pm;
	if (old != NULL)
		pmap_active_set(old, cpu, false);
}

pmap_t
pmap_curpmap(void)
{
	int cpu = md_curcpu();

	return (cpu < 0 ? NULL : pmap_tlb_of(cpu)->tlb_curpm);
}

/* IPI: unload pm if it is loaded here. */
static void
pmap_tlb_unload(void *arg)
{
	pmap_t pm = arg;
	int cpu = md_curcpu();
	struct pmap_tlb *t = pmap_tlb_of(cpu);
	int s;

	if (t->tlb_curpm == pm) {
		t->tlb_curpm = NULL;
		t->tlb_cur = 0;
		pmap_active_set(pm, cpu, false);
	}
	if ((s = pmap_tlb_slot_of(t, pm->pm_asid)) > 0) {
		pmap_tlb_flush_slot(t, (uint64_t)s);
		t->tlb_slot[s].ts_asid = 0;
	}
}

/*
 * The CPUs that still have pm loaded (pm_active: a CPU that switched to a
 * thread without an address space keeps the last one loaded) must drop
 * it before its struct is freed and reused.  A CPU that only keeps a slot
 * tagged with pm's ASID needs nothing: ASIDs are never reused, so the
 * slot can never match again and is recycled when the CPU needs one (as
 * PCIDs of a dead pmap are on amd64).  So an exit IPIs no CPU at all in
 * the common case, where the exiting thread unloaded its own.
 */
void
pmap_tlb_forget(pmap_t pm)
{
	bool set[MD_MAXCPU];
	int cpu, ncpu = md_ncpus(), n = 0;

	for (cpu = 0; cpu < ncpu; cpu++) {
		set[cpu] = (atomic_load_64(&pm->pm_active[cpu / 64]) &
			       (1ull << (cpu % 64))) != 0;
		n += set[cpu];
	}
	if (n > 0)
		md_ipi_send(set, pmap_tlb_unload, pm, true);
}

/* Step of the fill: sets `bits' in the leaf *p if it still allows it. */
static pt_entry_t
pmap_tlb_set_bits(pt_entry_t *p, bool user, vm_prot_t access)
{
	/* Acquire: pairs with the release that published the entry. */
	pt_entry_t old = atomic_load_acq_64(p), want;

	for (;;) {
		if ((old & PG_V) == 0 || (user && (old & PG_U) == 0) ||
		    ((access & VM_PROT_WRITE) != 0 && (old & PG_RW) == 0))
			return (0);
		want = old | PG_A | ((access & VM_PROT_WRITE) != 0 ? PG_M : 0);
		if (want == old)
			return (old);
		/* Seq_cst RMW, as the hardware's locked update of A/D. */
		if (atomic_fcmpset_64(p, &old, want))
			return (want);
	}
}

/* The lockless walk: the leaf of va (*is2m set for a PDE), or NULL. */
static pt_entry_t *
pmap_tlb_walk(pmap_t pm, vm_offset_t va, bool user, bool *is2m)
{
	pt_entry_t *pt, e;
	int shift;

	pt = (pt_entry_t *)atomic_load_acq_ptr((uintptr_t *)&pm->pm_pml4);
	if (pt == NULL)
		return (NULL);
	/*
	 * Acquire at every level: a table page (zeroed) and a leaf's page
	 * (filled by the fault) were published by release stores.
	 */
	for (shift = PML4SHIFT; shift > PDRSHIFT; shift -= 9) {
		e = atomic_load_acq_64(&pt[PMAP_IDX(va, shift)]);
		if ((e & PG_V) == 0 || (user && (e & PG_U) == 0))
			return (NULL);
		pt = pmap_dmap_pt(e);
	}
	e = atomic_load_acq_64(&pt[PMAP_IDX(va, PDRSHIFT)]);
	*is2m = (e & PG_PS) != 0;
	if (*is2m || (e & PG_V) == 0)
		return (&pt[PMAP_IDX(va, PDRSHIFT)]);
	return (&pmap_dmap_pt(e)[PMAP_IDX(va, PAGE_SHIFT)]);
}

void *
pmap_tlb_fill(pmap_t pm, vm_offset_t va, vm_prot_t access)
{
	struct pmap_tlb *t;
	struct pmap_tlb_entry *e;
	pt_entry_t *p, leaf;
	uintptr_t host;
	uint64_t slot;
	bool user = va < VM_MIN_KERNEL_ADDRESS, is2m = false;

	if (user && (va >= VM_MAX_USER_ADDRESS || pm == NULL || pm->pm_kernel))
		return (NULL);
	t = pmap_tlb_of(md_curcpu());
	if (!user)
		pm = kernel_pmap;
	else if (t->tlb_curpm != pm)
		pmap_activate(pm);
	slot = user ? t->tlb_cur : PMAP_TLB_KSLOT;
	counter_u64_add(pmap_cnt_tlb_fills, 1);
	if ((p = pmap_tlb_walk(pm, va, user, &is2m)) == NULL ||
	    (leaf = pmap_tlb_set_bits(p, user, access)) == 0)
		return (NULL);
	host = (uintptr_t)md_phys_base() +
	    (leaf & (is2m ? PG_PS_FRAME : PG_FRAME));
	host |= VM_PROT_READ |
	    ((leaf & (PG_RW | PG_M)) == (PG_RW | PG_M) ? VM_PROT_WRITE : 0);
	if (is2m) {
		e = &t->tlb_2m[(va >> PDRSHIFT) & (PMAP_TLB_N2M - 1)];
		e->te_key = (va >> PDRSHIFT) << PMAP_TLB_SLOTBITS | slot;
		e->te_host = host;
		return (
		    (char *)(host & ~(uintptr_t)PAGE_MASK) + (va & PDRMASK));
	}
	e = &t->tlb_4k[(va >> PAGE_SHIFT) & (PMAP_TLB_N4K - 1)];
	e->te_key = (va >> PAGE_SHIFT) << PMAP_TLB_SLOTBITS | slot;
	e->te_host = host;
	return ((char *)(host & ~(uintptr_t)PAGE_MASK) + (va & PAGE_MASK));
}

int
pmap_tlb_init(void)
{
	size_t sz = (size_t)md_ncpus() * PMAP_TLB_STRIDE;

	pmap_tlbs = md_aligned_alloc(PAGE_SIZE, sz);
	if (pmap_tlbs == NULL)
		return (ENOMEM);
	memset(pmap_tlbs, 0, sz);
#ifdef VM_INVARIANTS
	mtx_init(&pmap_invl_leak_mtx, "pmap invl leak", MTX_SPIN);
	pmap_invl_leaks = NULL;
#endif
	return (0);
}

void
pmap_tlb_fini(void)
{
#ifdef VM_INVARIANTS
	struct pmap_invl_leak *l;

	if (pmap_tlbs != NULL) {
		while ((l = pmap_invl_leaks) != NULL) {
			pmap_invl_leaks = l->il_next;
			md_free((char *)l -
			    offsetof(struct pmap_invl_arg, ia_leak));
		}
		mtx_destroy(&pmap_invl_leak_mtx);
	}
#endif
	md_free(pmap_tlbs);
	pmap_tlbs = NULL;
}
