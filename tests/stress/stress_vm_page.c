/*
 * stress_vm_page.c: many threads allocating and freeing pages at once.
 *
 * vm_stress_run(ncpus, seed) boots a machine of `ncpus' CPUs on a small
 * memory (so shortages happen: cache drains, bypassed caches, broken
 * reservations), runs two threads per CPU doing random mixes of single,
 * bulk, object (reservation), block and contiguous allocations and frees,
 * with the per-CPU caches switched off and on now and then, and checks
 * the page accounting, the reservations and the buddy lists after the
 * threads stop (with their pages still held) and again once everything is
 * freed (complete coalescing).  It runs for several seeds; each failure
 * prints the seed.  The body takes the backend and the CPU count: it runs
 * on the host with 8 CPUs and on the simulated machine with 64.
 */
#include "harness.h"
#include "kern/kassert.h"
#include "kern/sysctl.h"
#include "kern/thread.h"
#include "vm/vm_object.h"
#include "vm/vm_page.h"
#include "vm/vm_pgcache.h"
#include "vm/vm_phys.h"
#include "vm/vm_reserv.h"
#include "vmlab/vmlab.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * What one thread may hold: about 1,200 pages on average, so that 16
 * threads want about 1.5 times the 48 MiB machine and shortages come and
 * go rather than last.
 */
#define ST_MAXHELD 400 /* single pages */
#define ST_MAXRUNS 8   /* blocks and contiguous runs */
#define ST_OBJPAGES (2 * VM_LEVEL_0_NPAGES)

struct st_run {
	struct vm_page *sr_m;
	int sr_order; /* block order, or -1: contiguous run */
	uint64_t sr_npages;
};

struct st_thread {
	uint64_t st_rs;
	uint64_t st_iters;
	struct vm_page *st_held[ST_MAXHELD];
	int st_nheld;
	struct st_run st_runs[ST_MAXRUNS];
	int st_nruns;
	struct vm_object st_obj;
	struct vm_page *st_objpages[ST_OBJPAGES];
	uint64_t st_allocs;
};

static void
st_single(struct st_thread *st)
{
	struct vm_page *ma[64];
	uint64_t r = test_rand(&st->st_rs) % 100;
	int n, i;

	if (st->st_nheld > 0 && (r < 45 || st->st_nheld > ST_MAXHELD - 64)) {
		i = (int)(test_rand(&st->st_rs) % (uint64_t)st->st_nheld);
		vm_page_free(st->st_held[i]);
		st->st_held[i] = st->st_held[--st->st_nheld];
	} else if (r < 90) {
		ma[0] = vm_page_alloc_noobj(
		    r % 10 == 0 ? VM_ALLOC_SYSTEM : VM_ALLOC_NORMAL);
		if (ma[0] != NULL)
			st->st_held[st->st_nheld++] = ma[0];
	} else {
		n = vm_page_alloc_bulk(
		    0, ma, (int)(test_rand(&st->st_rs) % 64) + 1);
		for (i = 0; i < n; i++)
			st->st_held[st->st_nheld++] = ma[i];
		if (st->st_nheld > ST_MAXHELD / 2) {
			vm_page_free_bulk(&st->st_held[st->st_nheld - n], n);
			st->st_nheld -= n;
		}
	}
}

static void
st_object(struct st_thread *st)
{
	vm_pindex_t pi = test_rand(&st->st_rs) % ST_OBJPAGES;
	struct vm_page *m = st->st_objpages[pi];

	if (m != NULL) {
		vm_page_free(m);
		st->st_objpages[pi] = NULL;
	} else if ((m = vm_page_alloc(&st->st_obj, pi, 0)) != NULL)
		st->st_objpages[pi] = m;
}

static void
st_run_free(struct st_run *sr)
{
	if (sr->sr_order >= 0)
		vm_page_free_block(sr->sr_m, sr->sr_order);
	else
		vm_page_free_contig(sr->sr_m, sr->sr_npages);
}

static void
st_runs(struct st_thread *st)
{
	struct st_run *sr;
	uint64_t r = test_rand(&st->st_rs);
	int i;

	if (st->st_nruns == ST_MAXRUNS || (st->st_nruns > 0 && r % 2 == 0)) {
		i = (int)(r / 2 % (uint64_t)st->st_nruns);
		st_run_free(&st->st_runs[i]);
		st->st_runs[i] = st->st_runs[--st->st_nruns];
		return;
	}
	sr = &st->st_runs[st->st_nruns];
	if (r % 4 != 1) {
		sr->sr_order = (int)(r / 4 % (VM_LEVEL_0_ORDER + 1));
		sr->sr_npages = 1ull << sr->sr_order;
		sr->sr_m = vm_page_alloc_block(0, sr->sr_order);
	} else {
		sr->sr_order = -1;
		sr->sr_npages = r / 4 % 16 + 1;
		sr->sr_m =
		    vm_page_alloc_contig(0, sr->sr_npages, 0, vm_phys_end,
			PAGE_SIZE << (r / 64 % 4), r % 3 == 0 ? 0 : 1ull << 20);
	}
	if (sr->sr_m != NULL)
		st->st_nruns++;
}

/* Switches the per-CPU caches at run time (draining them when off). */
static void
st_pgcache_set(int on)
{
	char err[256];

	CHECKF(sysctl_set("vm.pgcache.enable", on, err, sizeof(err)) == 0, "%s",
	    err);
}

static void
st_worker(void *arg)
{
	struct st_thread *st = arg;
	uint64_t it, r;

	for (it = 0; it < st->st_iters; it++) {
		r = test_rand(&st->st_rs) % 1000;
		if (r < 600)
			st_single(st);
		else if (r < 940)
			st_object(st);
		else if (r < 999 || test_rand(&st->st_rs) % 16 != 0)
			st_runs(st);
		else
			st_pgcache_set(it % 2 == 0);
		if (it % 32 == 31)
			maybe_yield();
	}
}

/* Frees everything a thread still holds. */
static void
st_release(struct st_thread *st)
{
	vm_pindex_t pi;

	vm_page_free_bulk(st->st_held, st->st_nheld);
	st->st_nheld = 0;
	while (st->st_nruns > 0)
		st_run_free(&st->st_runs[--st->st_nruns]);
	for (pi = 0; pi < ST_OBJPAGES; pi++)
		if (st->st_objpages[pi] != NULL)
			vm_page_free(st->st_objpages[pi]);
}

struct st_run_arg {
	int sa_nthreads;
	uint64_t sa_seed, sa_iters;
};

static void
st_main(void *arg)
{
	struct st_run_arg *sa = arg;
	struct st_thread *sts = calloc((size_t)sa->sa_nthreads, sizeof(*sts));
	struct thread **tds = calloc((size_t)sa->sa_nthreads, sizeof(*tds));
	int i;

	for (i = 0; i < sa->sa_nthreads; i++) {
		sts[i].st_rs = sa->sa_seed * 1000 + (uint64_t)i;
		sts[i].st_iters = sa->sa_iters;
		sts[i].st_obj.size = ST_OBJPAGES;
		sts[i].st_obj.flags = i % 2 == 0 ? OBJ_ANON : 0;
		CHECK(kthread_create(st_worker, &sts[i], i % md_ncpus(),
			  KTHR_BOUND | KTHR_JOINABLE, &tds[i], "stress%d",
			  i) == 0);
	}
	for (i = 0; i < sa->sa_nthreads; i++)
		kthread_join(tds[i]);
	st_pgcache_set(1);
	/* Quiescent, with the threads' pages still held. */
	CHECKF(vm_page_check() == 0, "accounting, seed %llu",
	    (unsigned long long)sa->sa_seed);
	CHECKF(vm_reserv_check() == 0 && vm_phys_check() == 0,
	    "reservations or buddy lists, seed %llu",
	    (unsigned long long)sa->sa_seed);
	for (i = 0; i < sa->sa_nthreads; i++)
		st_release(&sts[i]);
	(void)vm_pgcache_drain_all();
	CHECKF(vm_page_check() == 0 && vm_phys_check() == 0 &&
		vm_reserv_check() == 0,
	    "after freeing everything, seed %llu",
	    (unsigned long long)sa->sa_seed);
	CHECKF(vm_page_free_count() == vm_page_count_total(),
	    "%llu of %llu pages free at the end, seed %llu",
	    (unsigned long long)vm_page_free_count(),
	    (unsigned long long)vm_page_count_total(),
	    (unsigned long long)sa->sa_seed);
	free(sts);
	free(tds);
}

/*
 * One machine of `ncpus' CPUs on `backend' (VMLAB_BACKEND_HOST or _SIM),
 * two threads per CPU, one seed.
 */
static void
vm_stress_run(int backend, int ncpus, uint64_t seed, uint64_t iters)
{
	static const char *const tun[] = { "vm.phys.segments=3", NULL };
	struct st_run_arg sa = {
		.sa_nthreads = 2 * ncpus, .sa_seed = seed, .sa_iters = iters
	};
	struct vmlab_config cfg;
	char err[256];

	vmlab_config_default(&cfg);
	cfg.backend = backend;
	cfg.ncpus = ncpus;
	cfg.ndomains = ncpus >= 4 ? 2 : 1;
	cfg.physmem = 48ull << 20;
	cfg.seed = seed;
	cfg.tunables = tun;
	cfg.ntunables = 1;
	if (vmlab_boot(&cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "vm_stress_run: %s\n", err);
		exit(1);
	}
	test_run(st_main, &sa);
	test_shutdown();
}

static uint64_t
vm_stress_env(const char *name, uint64_t def)
{
	const char *s = getenv(name);

	return (s != NULL ? strtoull(s, NULL, 0) : def);
}

static void
test_vm_stress_seeds(void)
{
	int i, nseeds = test_sanitizer() ? 3 : 6;
	uint64_t iters = test_sanitizer() ? 3000 : 12000;

#ifdef VMLAB_TSAN
	/* TSan's shadow work makes each run ~20x slower. */
	nseeds = 1;
	iters = 1500;
#endif
	for (i = 0; i < nseeds; i++)
		vm_stress_run(
		    VMLAB_BACKEND_HOST, 8, test_seed() + (uint64_t)i, iters);
}

/*
 * The same on the simulated machine: 64 virtual CPUs, 128 threads, several
 * seeds (VMLAB_STRESS_SIM_SEEDS and _ITERS scale it up: 10 seeds of 2000
 * iterations take about a minute).
 */
static void
test_vm_stress_sim64(void)
{
	uint64_t iters = vm_stress_env(
	    "VMLAB_STRESS_SIM_ITERS", test_sanitizer() ? 150 : 400);
	int i,
	    nseeds = (int)vm_stress_env(
		"VMLAB_STRESS_SIM_SEEDS", test_sanitizer() ? 2 : 4);

#ifdef VMLAB_TSAN
	iters = iters < 60 ? iters : 60;
	nseeds = 1;
#endif
	for (i = 0; i < nseeds; i++)
		vm_stress_run(VMLAB_BACKEND_SIM, 64,
		    test_seed() + 1000 + (uint64_t)i, iters);
}

static const struct test_case cases[] = {
	TEST_CASE(test_vm_stress_seeds),
	TEST_CASE(test_vm_stress_sim64),
};

int
main(int argc, char **argv)
{
	return (test_main(argc, argv, cases, TEST_NCASES(cases)));
}
