/*
 * test_sim_tlb.c: TLB shootdowns and address spaces explored under many
 * schedules on the simulated machine.
 *
 * stale_munmap: three threads on CPUs 1-3 keep loading from 4 mapped pages
 *	while CPU 0 unmaps them; the moment vm_munmap() returns, CPU 0
 *	writes a poison value into the (still allocated) frames through the
 *	direct map.  A load that returns the poison used a translation that
 *	should have been shot down: a stale TLB read.
 * stale_mprotect: the threads keep storing distinct values while CPU 0
 *	write-protects the pages; the frames' contents read through the
 *	direct map right after vm_mprotect() returns must never change again.
 * planted: the same with the pmap's planted bug that sends the shootdown
 *	IPIs without waiting for them (PMAP_PLANT_NOWAIT); some seed must
 *	catch it.
 * forks: N threads (one per CPU) each fork a parent that has a shared and
 *	a private region, write both, fork again, unmap, and exit, while the
 *	others do the same: every read sees the right data, the pmap checker
 *	passes, and when all is gone no pv entry and no page is left.
 * Seeds: 1,000 (stale_munmap) and 200 (stale_mprotect) on 4 CPUs, 100
 * (forks) on 4 CPUs and 6 on 64 (VMLAB_EXPLORE_SEEDS scales them).
 */
#include "explore.h"
#include "harness.h"
#include "kern/thread.h"
#include "pmap/pmap.h"
#include "vm/vm_map.h"
#include "vm/vm_object.h"
#include "vm/vm_page.h"
#include "vm/vm_uaccess.h"
#include "vmlab/vmlab.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ST_PAGES 4
#define ST_READERS 3
#define ST_POISON 0xdeadbeefdeadbeefull

struct st {
	struct vmspace *vm;
	vm_offset_t va;
	struct vm_object *obj;	     /* keeps the frames allocated */
	struct vm_page *m[ST_PAGES]; /* the frames */
	uint64_t snap[ST_PAGES];     /* after mprotect returned */
	uint64_t started;	     /* (a) threads that accessed once */
	uint64_t done;		     /* (a) the change has returned */
	uint64_t stale;		     /* (a) stale accesses seen */
	bool writers;		     /* stale_mprotect */
	bool planted;		     /* PMAP_PLANT_NOWAIT */
};

struct st_thread {
	struct st *t_st;
	int t_id;
};

static void
st_reader(void *arg)
{
	struct st_thread *t = arg;
	struct st *s = t->t_st;
	uint64_t v = 0, n = 0;
	bool first = true;
	int p;

	vmspace_switch(s->vm);
	while (atomic_load_64(&s->done) == 0 || n < 4) {
		if (atomic_load_64(&s->done) != 0)
			n++; /* a few more rounds after the change */
		for (p = 0; p < ST_PAGES; p++) {
			if (s->writers) {
				(void)ustore(s->va + ptoa(p), 8,
				    ((uint64_t)t->t_id << 40) | ++v);
			} else if (uload(s->va + ptoa(p), 8, &v) == 0 &&
			    v == ST_POISON) {
				atomic_add_64(&s->stale, 1);
			}
		}
		if (first) {
			atomic_add_64(&s->started, 1);
			first = false;
		}
	}
	vmspace_switch(NULL);
}

/* Maps and fills the pages, and keeps their object (and frames). */
static bool
st_setup(struct st *s)
{
	struct vm_map_entry *e;
	vm_pindex_t pindex = 0;
	int p;

	s->vm = vmspace_alloc();
	CHECK(s->vm != NULL);
	if (s->vm == NULL)
		return (false);
	vmspace_switch(s->vm);
	s->va = 0;
	CHECK(vm_mmap(&s->vm->vm_map, &s->va, ptoa(ST_PAGES), VM_PROT_RW,
		  VM_PROT_ALL, MAP_ANON | MAP_PRIVATE, NULL, 0) == 0);
	for (p = 0; p < ST_PAGES; p++)
		CHECK(ustore(s->va + ptoa(p), 8, (uint64_t)p + 1) == 0);
	vm_map_lock_read(&s->vm->vm_map);
	e = vm_map_lookup_entry(&s->vm->vm_map, s->va);
	s->obj = e != NULL ? e->object : NULL;
	CHECK(s->obj != NULL);
	if (s->obj != NULL) {
		vm_object_reference(s->obj);
		pindex = e->pindex;
	}
	vm_map_unlock_read(&s->vm->vm_map);
	if (s->obj == NULL)
		return (false);
	vm_object_lock(s->obj);
	for (p = 0; p < ST_PAGES; p++) {
		s->m[p] = vm_page_lookup(s->obj, pindex + (vm_pindex_t)p);
		CHECK(s->m[p] != NULL);
	}
	vm_object_unlock(s->obj);
	return (s->m[ST_PAGES - 1] != NULL);
}

static void
st_body(void *arg)
{
	struct st *s = arg;
	struct st_thread t[ST_READERS];
	struct thread *td[ST_READERS];
	uint64_t *w;
	int i, p;

	s->started = s->done = s->stale = 0;
#ifdef VM_INVARIANTS
	pmap_debug_plant = s->planted ? PMAP_PLANT_NOWAIT : 0;
#endif
	if (!st_setup(s))
		return;
	for (i = 0; i < ST_READERS; i++) {
		t[i].t_st = s;
		t[i].t_id = i + 1;
		CHECK(kthread_create(st_reader, &t[i], 1 + i % (md_ncpus() - 1),
			  KTHR_JOINABLE, &td[i], "st%d", i) == 0);
	}
	while (atomic_load_64(&s->started) < ST_READERS)
		kthread_yield();
	if (s->writers) {
		CHECK(vm_mprotect(&s->vm->vm_map, s->va, ptoa(ST_PAGES),
			  VM_PROT_READ) == 0);
		for (p = 0; p < ST_PAGES; p++)
			s->snap[p] =
			    *(volatile uint64_t *)vm_page_dmap(s->m[p]);
	} else {
		CHECK(vm_munmap(&s->vm->vm_map, s->va, ptoa(ST_PAGES)) == 0);
		for (p = 0; p < ST_PAGES; p++) {
			w = (uint64_t *)vm_page_dmap(s->m[p]);
			*(volatile uint64_t *)w = ST_POISON;
		}
	}
	atomic_store_64(&s->done, 1);
	for (i = 0; i < ST_READERS; i++)
		kthread_join(td[i]);
	if (s->writers)
		for (p = 0; p < ST_PAGES; p++)
			if (*(volatile uint64_t *)vm_page_dmap(s->m[p]) !=
			    s->snap[p])
				atomic_add_64(&s->stale, 1);
	CHECKF(s->stale == 0, "%llu stale TLB accesses after %s returned",
	    (unsigned long long)s->stale,
	    s->writers ? "vm_mprotect" : "vm_munmap");
	CHECK(pmap_check(vmspace_pmap(s->vm)) == 0);
	vmspace_switch(NULL);
	vmspace_free(s->vm);
	vm_object_deallocate(s->obj);
	CHECK(vm_page_check() == 0);
}

static void
st_explore(const char *name, struct st *s, int seeds, bool expect_fail)
{
	struct explore_opts o = { .eo_name = name,
		.eo_ncpus = 4,
		.eo_seeds = seeds,
		.eo_mode = EXPLORE_TIME,
		.eo_jitter = 20,
		.eo_physmem = 8 << 20,
		.eo_quiet = expect_fail,
		.eo_stop_first = expect_fail };
	struct explore_result r;

	explore(&o, st_body, NULL, s, &r);
	if (expect_fail)
		CHECKF(r.er_failed > 0, "%s: the planted bug escaped %d seeds",
		    name, r.er_runs);
	else
		CHECKF(r.er_failed == 0, "%s: %d of %d seeds failed", name,
		    r.er_failed, r.er_runs);
}

static void
test_stale_munmap(void)
{
	struct st s = { .writers = false };

	st_explore("test_stale_munmap", &s, 1000, false);
}

static void
test_stale_mprotect(void)
{
	struct st s = { .writers = true };

	st_explore("test_stale_mprotect", &s, 200, false);
}

static void
test_planted(void)
{
#ifdef VM_INVARIANTS
	struct st s = { .writers = false, .planted = true };

	st_explore("test_planted", &s, 200, true);
#endif
}

/*
 * forks.
 */
#define SF_PAGES 8

struct sf {
	struct vmspace *parent;
	vm_offset_t shared, priv;
	uint64_t bad; /* (a) */
	int nthreads;
};

struct sf_thread {
	struct sf *t_sf;
	int t_id;
};

static uint64_t
sf_tag(int who, vm_offset_t i)
{
	return (((uint64_t)who << 32) | (i + 1));
}

static void
sf_expect(struct sf *f, vm_offset_t va, uint64_t want)
{
	uint64_t v = 0;

	if (uload(va, 8, &v) != 0 || v != want)
		atomic_add_64(&f->bad, 1);
}

static void
sf_thread(void *arg)
{
	struct sf_thread *t = arg;
	struct sf *f = t->t_sf;
	struct vmspace *c, *gc;
	vm_offset_t i;

	c = vmspace_fork(f->parent);
	CHECK(c != NULL);
	if (c == NULL)
		return;
	vmspace_switch(c);
	for (i = 0; i < SF_PAGES; i++)
		sf_expect(f, f->priv + ptoa(i), sf_tag(0, i));
	for (i = 0; i < SF_PAGES; i++)
		CHECK(ustore(f->priv + ptoa(i), 8, sf_tag(t->t_id, i)) == 0);
	/* Thread t owns word t of every shared page. */
	for (i = 0; i < SF_PAGES; i++)
		CHECK(ustore(f->shared + ptoa(i) + 8 * (vm_offset_t)t->t_id, 8,
			  sf_tag(t->t_id, i)) == 0);
	gc = vmspace_fork(c);
	CHECK(gc != NULL);
	if (gc != NULL) {
		vmspace_switch(gc);
		CHECK(ustore(f->priv, 8, 77) == 0);
		sf_expect(f, f->priv + ptoa(1), sf_tag(t->t_id, 1));
		CHECK(pmap_check(vmspace_pmap(gc)) == 0);
		vmspace_switch(c);
		vmspace_free(gc);
	}
	sf_expect(f, f->priv, sf_tag(t->t_id, 0));
	CHECK(vm_munmap(&c->vm_map, f->priv, ptoa(SF_PAGES / 2)) == 0);
	CHECK(pmap_check(vmspace_pmap(c)) == 0);
	vmspace_switch(NULL);
	vmspace_free(c);
}

static void
sf_body(void *arg)
{
	struct sf *f = arg;
	struct sf_thread t[64];
	struct thread *td[64];
	vm_offset_t i;
	int k, n = md_ncpus() < 64 ? md_ncpus() : 64;

	f->bad = 0;
	f->parent = vmspace_alloc();
	CHECK(f->parent != NULL);
	if (f->parent == NULL)
		return;
	vmspace_switch(f->parent);
	f->shared = f->priv = 0;
	CHECK(
	    vm_mmap(&f->parent->vm_map, &f->shared, ptoa(SF_PAGES), VM_PROT_RW,
		VM_PROT_ALL, MAP_ANON | MAP_SHARED, NULL, 0) == 0);
	CHECK(vm_mmap(&f->parent->vm_map, &f->priv, ptoa(SF_PAGES), VM_PROT_RW,
		  VM_PROT_ALL, MAP_ANON | MAP_PRIVATE, NULL, 0) == 0);
	for (i = 0; i < SF_PAGES; i++)
		CHECK(ustore(f->priv + ptoa(i), 8, sf_tag(0, i)) == 0);
	for (k = 0; k < n; k++) {
		t[k].t_sf = f;
		t[k].t_id = k + 1;
		CHECK(kthread_create(sf_thread, &t[k], k % md_ncpus(),
			  KTHR_JOINABLE, &td[k], "sf%d", k) == 0);
	}
	for (k = 0; k < n; k++)
		kthread_join(td[k]);
	for (i = 0; i < SF_PAGES; i++) {
		sf_expect(f, f->priv + ptoa(i), sf_tag(0, i));
		for (k = 1; k <= n && k < 512; k++)
			sf_expect(f, f->shared + ptoa(i) + 8 * (vm_offset_t)k,
			    sf_tag(k, i));
	}
	CHECKF(f->bad == 0, "%llu reads saw the wrong data",
	    (unsigned long long)f->bad);
	CHECK(pmap_check(vmspace_pmap(f->parent)) == 0);
	vmspace_switch(NULL);
	vmspace_free(f->parent);
	CHECK(vm_page_check() == 0);
}

static void
test_forks(void)
{
	struct explore_opts o = { .eo_name = "test_forks",
		.eo_ncpus = 4,
		.eo_seeds = 100,
		.eo_mode = EXPLORE_TIME,
		.eo_jitter = 20,
		.eo_physmem = 8 << 20 };
	struct explore_result r;
	struct sf f;

	explore(&o, sf_body, NULL, &f, &r);
	CHECKF(r.er_failed == 0, "4 CPUs: %d of %d seeds failed", r.er_failed,
	    r.er_runs);
	o.eo_mode = EXPLORE_PCT;
	o.eo_pct_depth = 3;
	o.eo_pct_steps = 20000;
	o.eo_seeds = 50;
	explore(&o, sf_body, NULL, &f, &r);
	CHECKF(r.er_failed == 0, "4 CPUs, pct: %d of %d seeds failed",
	    r.er_failed, r.er_runs);
	o.eo_mode = EXPLORE_TIME;
	o.eo_ncpus = 64;
	o.eo_seeds = 6;
	o.eo_physmem = 32 << 20;
	explore(&o, sf_body, NULL, &f, &r);
	CHECKF(r.er_failed == 0, "64 CPUs: %d of %d seeds failed", r.er_failed,
	    r.er_runs);
}

static const struct test_case cases[] = {
	TEST_CASE(test_stale_munmap),
	TEST_CASE(test_stale_mprotect),
	TEST_CASE(test_planted),
	TEST_CASE(test_forks),
};

int
main(int argc, char **argv)
{
	vmlab_sim_exec_norandom(argv);
	return (test_main(argc, argv, cases, TEST_NCASES(cases)));
}
