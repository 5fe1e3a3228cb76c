/*
 * scen_fault.c: the address-space layer measured from "user mode": page
 * faults, the software TLB, unmapping and its shootdowns, and the two
 * guarantees an MMU owes a process (isolation, and no access through a
 * translation after munmap returned).
 *
 * Everything runs in kernel threads that borrow vmspaces
 * (vmspace_switch()) and touch their memory only through uload/ustore
 * (vm_uaccess.h), as a process would.  Times are md_nanotime(): host
 * nanoseconds on the host backend, virtual ones on the simulated machine.
 * A figure that says "median" is the median of FT_RUNS runs after one
 * untimed warm-up run.  Before any, ft_warm_arena() backs the physical
 * arena's frames on the host, so that the VM is not charged for the
 * host's first touch of its memory.
 *
 * The figures, in the order measured:
 *	1. zero_fill_ns: vm_mmap() of --pages anonymous private pages and one
 *	   8-byte ustore() to each (a zero-fill fault per page), per page;
 *	   each page's second word is then checked to read 0 (a frame reused
 *	   from the previous run must have been zeroed);
 *	2. munmap_ns: vm_munmap() of that populated mapping, per page;
 *	3. cow_ns: --pages pages written by a parent, vmspace_fork(), then
 *	   the child writes each page once (a copy-on-write fault per page),
 *	   per page; the parent's pages must still hold its own data;
 *	4. tlb_hit_load_ns: --iters 8-byte uload()s cycling over FT_HIT_PAGES
 *	   mapped pages (every one a TLB hit), per load;
 *	5. tlb_miss_load_ns: --iters uload()s over --tlb-pages mapped pages
 *	   in a random order (more pages than the TLB holds: every load
 *	   misses the TLB and walks the page tables), per load.  Only every
 *	   other page of the range is touched, so that no 2 MiB reservation
 *	   fills up and no promotion lets one 2 MiB TLB entry cover them;
 *	   vm.pmap.tlb_fills per load is reported next to it (about 1 when
 *	   the figure is what it claims to be, about 0 for the hit loop);
 *	6. host_kernel_touch_ns: the host kernel's mmap + write touch +
 *	   munmap of --pages pages, per page (md_host_anon_touch_ns(): on the
 *	   simulated machine too, so that the ratio there compares virtual
 *	   time with the host's real time);
 *	7. isolation_violations: --procs children forked from one parent
 *	   (step "Isolation" below); must be 0;
 *	8. stale_tlb_reads: --rounds rounds of munmap under a reader on
 *	   another CPU (step "Stale translations" below); must be 0; needs 2
 *	   CPUs (with one it is not measured, and not reported);
 *	9. shootdowns: a vmspace active on every CPU of the machine (one
 *	   parked thread per other CPU that ran in it), then --rounds
 *	   munmaps of one populated page and of --range pages: ns per munmap
 *	   (each makes one invalidation), shootdowns and IPIs counted by the
 *	   pmap.  Reported as shootdown_ns, shootdown_range_ns and
 *	   shootdown_ipis (IPIs per shootdown), which a --cpus list compares
 *	   across CPU counts in its scaling table, and again under names
 *	   carrying the CPU count (shootdown_ns_cpus4, ...), which stay in
 *	   their own run's report.
 *
 * Isolation.  The parent maps 2 * FT_ISO_PAGES pages and writes its tag
 * (owner 0) into the first half; --procs children are forked.  Phase 1:
 * child k (a thread of its own, bound to CPU k mod ncpus) writes its tag
 * into every page of the first half (a copy-on-write of the parent's
 * page) and into the pages of the second half whose index is k mod
 * --procs.  Phase 2 (after every phase-1 thread was joined): each child
 * reads back every page, and the parent its own.  A violation is a word
 * holding another owner's tag, a never-written page of this owner holding
 * anything but zeros, or its own page holding anything but its tag.
 *
 * Stale translations.  A round: map one page of an object the scenario
 * keeps a reference to (so munmap frees neither the object nor its page),
 * write GOOD into it, hold the page (pmap_extract_and_hold), start a
 * reader on another CPU that loads the word in a loop, and once it has
 * loaded it FT_STALE_WARM times (so its TLB holds the translation),
 * munmap the page.  When vm_munmap() returns, every CPU's translation
 * must be gone: the main thread writes POISON into the frame through the
 * direct map and then sets fr_after.  The reader stops at its first
 * EFAULT (the mapping is gone, as it must be); a load that returns
 * POISON, or any load that succeeds after the reader saw fr_after, is a
 * stale read.  The reader gives up FT_STALE_MAXAFTER loads after
 * fr_after, so a translation that never goes away ends the round with
 * stale reads rather than a hang.
 */
#include "kern/sleepq.h"
#include "kern/sysctl.h"
#include "kern/thread.h"
#include "pmap/pmap.h"
#include "vm/vm_map.h"
#include "vm/vm_object.h"
#include "vm/vm_page.h"
#include "vm/vm_uaccess.h"
#include "vmlab_cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FT_RUNS 3		 /* timed runs after the warm-up; the median */
#define FT_HIT_PAGES 4		 /* pages of the TLB-hit loop */
#define FT_ISO_PAGES 16		 /* pages each owner writes (isolation) */
#define FT_MAXPROCS 64		 /* --procs */
#define FT_STALE_WARM 64	 /* reader loads before the munmap */
#define FT_STALE_MAXAFTER 100000 /* reader loads after the poison at most */
#define FT_GOOD 0x600d600d600d600dull
#define FT_POISON 0xdeadbeefdeadbeefull

/* The word an owner (0: parent, k + 1: child k) writes into page i. */
#define FT_TAG(owner, i)                                                       \
	(0x7666000000000000ull | ((uint64_t)(owner) << 32) | (uint64_t)(i))
#define FT_TAG_OWNER(w) ((int)(((w) >> 32) & 0xffff))
#define FT_IS_TAG(w) (((w) >> 48) == 0x7666)

/* A failed step: says which and why, and fails the run. */
static void
ft_fail(struct scen_ctx *ctx, const char *what, int error)
{
	scen_progress_end(ctx);
	fprintf(stderr, "fault: %s: %s\n", what, strerror(error));
	ctx->sx_failed = 1;
}

static double
ft_per(uint64_t ns, uint64_t n)
{
	return (n > 0 ? (double)ns / (double)n : 0);
}

static int
ft_map_anon(struct vm_map *map, uint64_t npages, vm_offset_t *vap)
{
	*vap = 0;
	return (vm_mmap(map, vap, ptoa(npages), VM_PROT_RW, VM_PROT_ALL,
	    MAP_ANON | MAP_PRIVATE, NULL, 0));
}

/* Writes FT_TAG(owner, i) into page i of [va, va + npages pages). */
static int
ft_write_pages(vm_offset_t va, uint64_t npages, int owner)
{
	uint64_t i;
	int error;

	for (i = 0; i < npages; i++)
		if ((error = ustore(va + ptoa(i), 8, FT_TAG(owner, i))) != 0)
			return (error);
	return (0);
}

/*
 * Counts the pages of [va, va + npages pages) whose first word is not
 * FT_TAG(owner, i) or whose second word is not 0.
 */
static uint64_t
ft_check_pages(vm_offset_t va, uint64_t npages, int owner)
{
	uint64_t i, w0, w1, bad = 0;

	for (i = 0; i < npages; i++)
		if (uload(va + ptoa(i), 8, &w0) != 0 ||
		    uload(va + ptoa(i) + 8, 8, &w1) != 0 ||
		    w0 != FT_TAG(owner, i) || w1 != 0)
			bad++;
	return (bad);
}

/*
 * Steps 1 and 2: zero-fill faults, then munmap of the populated range;
 * medians per page in *zfp and *unp.
 */
static int
ft_zero_fill(struct scen_ctx *ctx, struct vm_map *map, uint64_t npages,
    double *zfp, double *unp)
{
	double zf[FT_RUNS], un[FT_RUNS];
	uint64_t t0, t1, bad;
	vm_offset_t va;
	int r, error;

	for (r = -1; r < FT_RUNS; r++) {
		t0 = md_nanotime();
		if ((error = ft_map_anon(map, npages, &va)) != 0) {
			ft_fail(ctx, "mmap (zero fill)", error);
			return (error);
		}
		if ((error = ft_write_pages(va, npages, 0)) != 0) {
			ft_fail(ctx, "write touch (zero fill)", error);
			(void)vm_munmap(map, va, ptoa(npages));
			return (error);
		}
		t1 = md_nanotime();
		if ((bad = ft_check_pages(va, npages, 0)) != 0) {
			fprintf(stderr,
			    "fault: %llu zero-filled pages hold other data\n",
			    (unsigned long long)bad);
			ctx->sx_failed = 1;
		}
		if (r >= 0)
			zf[r] = ft_per(t1 - t0, npages);
		t0 = md_nanotime();
		if ((error = vm_munmap(map, va, ptoa(npages))) != 0) {
			ft_fail(ctx, "munmap", error);
			return (error);
		}
		if (r >= 0)
			un[r] = ft_per(md_nanotime() - t0, npages);
	}
	*zfp = micro_median(zf, FT_RUNS);
	*unp = micro_median(un, FT_RUNS);
	return (0);
}

/* One run of step 3: ns per copy-on-write fault of the child. */
static int
ft_cow_once(
    struct scen_ctx *ctx, struct vmspace *vm, uint64_t npages, uint64_t *nsp)
{
	struct vmspace *child;
	uint64_t t0, bad;
	vm_offset_t va;
	int error;

	if ((error = ft_map_anon(&vm->vm_map, npages, &va)) != 0) {
		ft_fail(ctx, "mmap (cow)", error);
		return (error);
	}
	if ((error = ft_write_pages(va, npages, 1)) != 0) {
		ft_fail(ctx, "parent write (cow)", error);
		goto fail_unmap;
	}
	if ((child = vmspace_fork(vm)) == NULL) {
		error = ENOMEM;
		ft_fail(ctx, "vmspace_fork", error);
		goto fail_unmap;
	}
	vmspace_switch(child);
	t0 = md_nanotime();
	error = ft_write_pages(va, npages, 2);
	*nsp = md_nanotime() - t0;
	if (error != 0)
		ft_fail(ctx, "child write (cow)", error);
	else if ((bad = ft_check_pages(va, npages, 2)) != 0) {
		fprintf(stderr, "fault: %llu child pages lost its writes\n",
		    (unsigned long long)bad);
		ctx->sx_failed = 1;
	}
	vmspace_switch(vm);
	vmspace_free(child);
	if ((bad = ft_check_pages(va, npages, 1)) != 0) {
		fprintf(stderr,
		    "fault: %llu parent pages changed by the child's writes\n",
		    (unsigned long long)bad);
		ctx->sx_failed = 1;
	}
fail_unmap:
	(void)vm_munmap(&vm->vm_map, va, ptoa(npages));
	return (error);
}

/* Step 3: the median per page in *cowp. */
static int
ft_cow(struct scen_ctx *ctx, struct vmspace *vm, uint64_t npages, double *cowp)
{
	double v[FT_RUNS];
	uint64_t ns;
	int r, error;

	for (r = -1; r < FT_RUNS; r++) {
		if ((error = ft_cow_once(ctx, vm, npages, &ns)) != 0)
			return (error);
		if (r >= 0)
			v[r] = ft_per(ns, npages);
	}
	*cowp = micro_median(v, FT_RUNS);
	return (0);
}

/*
 * Loads the first word of page perm[k] (or page k with no perm) of the
 * pages at va + stride * page, for k = 0, 1, .., n - 1, 0, 1, ..., iters
 * loads in all; counts the loads that failed or did not find the page's
 * tag.  Returns the ns.  (No division in the loop: it would cost as much
 * as a TLB hit.)
 */
static uint64_t
ft_load_loop(vm_offset_t va, uint64_t stride, const uint32_t *perm, uint64_t n,
    uint64_t iters, uint64_t *badp)
{
	uint64_t i, k = 0, p, w, t0, bad = 0;

	t0 = md_nanotime();
	for (i = 0; i < iters; i++) {
		p = (perm != NULL ? perm[k] : k) * stride;
		if (uload(va + ptoa(p), 8, &w) != 0 || w != FT_TAG(0, p))
			bad++;
		if (++k == n)
			k = 0;
	}
	*badp = bad;
	return (md_nanotime() - t0);
}

/*
 * Steps 4 and 5: loads that hit the TLB, and loads that miss it; ns per
 * load and TLB fills per load.
 */
static int
ft_tlb(struct scen_ctx *ctx, struct vm_map *map, uint64_t iters,
    uint64_t npages, double fig[4])
{
	uint32_t *perm;
	uint64_t i, j, rs = ctx->sx_seed * 31 + 7, f0, ns, bad, t;
	vm_offset_t va;
	int error;

	/* Hits: a few pages, touched, then loaded over and over. */
	if ((error = ft_map_anon(map, FT_HIT_PAGES, &va)) != 0 ||
	    (error = ft_write_pages(va, FT_HIT_PAGES, 0)) != 0) {
		ft_fail(ctx, "mapping the TLB-hit pages", error);
		return (error);
	}
	(void)ft_load_loop(va, 1, NULL, FT_HIT_PAGES, FT_HIT_PAGES, &bad);
	f0 = scen_stat("vm.pmap.tlb_fills");
	ns = ft_load_loop(va, 1, NULL, FT_HIT_PAGES, iters, &bad);
	fig[0] = ft_per(ns, iters);
	fig[1] = (double)(scen_stat("vm.pmap.tlb_fills") - f0) / (double)iters;
	(void)vm_munmap(map, va, ptoa(FT_HIT_PAGES));
	if (bad != 0) {
		fprintf(stderr, "fault: %llu TLB-hit loads failed or wrong\n",
		    (unsigned long long)bad);
		ctx->sx_failed = 1;
	}

	/* Misses: every other page of 2 * npages, in a random order. */
	if ((perm = malloc(npages * sizeof(*perm))) == NULL) {
		ft_fail(ctx, "TLB-miss order", ENOMEM);
		return (ENOMEM);
	}
	for (i = 0; i < npages; i++)
		perm[i] = (uint32_t)i;
	for (i = npages - 1; i > 0; i--) {
		j = scen_rand(&rs) % (i + 1);
		t = perm[i];
		perm[i] = perm[j];
		perm[j] = (uint32_t)t;
	}
	error = ft_map_anon(map, 2 * npages, &va);
	for (i = 0; error == 0 && i < npages; i++)
		error = ustore(va + ptoa(2 * i), 8, FT_TAG(0, 2 * i));
	if (error != 0) {
		ft_fail(ctx, "mapping the TLB-miss pages", error);
		free(perm);
		return (error);
	}
	(void)ft_load_loop(va, 2, perm, npages, npages, &bad);
	f0 = scen_stat("vm.pmap.tlb_fills");
	ns = ft_load_loop(va, 2, perm, npages, iters, &bad);
	fig[2] = ft_per(ns, iters);
	fig[3] = (double)(scen_stat("vm.pmap.tlb_fills") - f0) / (double)iters;
	(void)vm_munmap(map, va, ptoa(2 * npages));
	free(perm);
	if (bad != 0) {
		fprintf(stderr, "fault: %llu TLB-miss loads failed or wrong\n",
		    (unsigned long long)bad);
		ctx->sx_failed = 1;
	}
	return (0);
}

/* Step 6: the host kernel's median per page (0: it failed). */
static double
ft_host(uint64_t npages)
{
	double v[FT_RUNS];
	uint64_t ns;
	int r;

	for (r = -1; r < FT_RUNS; r++) {
		if ((ns = md_host_anon_touch_ns(npages)) == 0)
			return (0);
		if (r >= 0)
			v[r] = ft_per(ns, npages);
	}
	return (micro_median(v, FT_RUNS));
}

/* Step 7. */
struct ft_iso {
	struct vmspace *fi_vm;	/* (c) this owner's vmspace */
	vm_offset_t fi_va;	/* (c) the 2 * FT_ISO_PAGES pages */
	int fi_owner;		/* (c) 1 + child index */
	int fi_nprocs;		/* (c) children */
	bool fi_read;		/* (c) phase 2 */
	uint64_t fi_violations; /* (t) found by this owner */
	uint64_t fi_errors;	/* (t) accesses that failed */
};

/* Whether owner (>= 1) writes page i of the second half. */
static bool
ft_iso_writes(int owner, int nprocs, uint64_t i)
{
	return ((int)(i % (uint64_t)nprocs) == owner - 1);
}

/*
 * What page i of owner's range must hold: its tag, or 0 where it never
 * wrote.  The parent (owner 0) wrote only the first half.
 */
static uint64_t
ft_iso_expect(int owner, int nprocs, uint64_t i)
{
	if (i < FT_ISO_PAGES)
		return (FT_TAG(owner, i));
	if (owner > 0 && ft_iso_writes(owner, nprocs, i - FT_ISO_PAGES))
		return (FT_TAG(owner, i));
	return (0);
}

/* Phase 2 for one owner, running in its vmspace. */
static void
ft_iso_check(struct ft_iso *fi)
{
	uint64_t i, w, want;

	for (i = 0; i < 2 * FT_ISO_PAGES; i++) {
		if (uload(fi->fi_va + ptoa(i), 8, &w) != 0) {
			fi->fi_errors++;
			continue;
		}
		want = ft_iso_expect(fi->fi_owner, fi->fi_nprocs, i);
		if (w == want)
			continue;
		fi->fi_violations++;
		if (fi->fi_violations <= 3)
			md_printf("fault: ISOLATION VIOLATION: owner %d page "
				  "%llu holds %#llx (%s), expected %#llx\n",
			    fi->fi_owner, (unsigned long long)i,
			    (unsigned long long)w,
			    FT_IS_TAG(w) && FT_TAG_OWNER(w) != fi->fi_owner
				? "another owner's tag"
				: "not its data",
			    (unsigned long long)want);
	}
}

static void
ft_iso_main(void *arg)
{
	struct ft_iso *fi = arg;
	uint64_t i;

	vmspace_switch(fi->fi_vm);
	if (fi->fi_read)
		ft_iso_check(fi);
	else
		for (i = 0; i < 2 * FT_ISO_PAGES; i++) {
			if (ft_iso_expect(fi->fi_owner, fi->fi_nprocs, i) == 0)
				continue;
			if (ustore(fi->fi_va + ptoa(i), 8,
				FT_TAG(fi->fi_owner, i)) != 0)
				fi->fi_errors++;
		}
	vmspace_switch(NULL);
}

/* Runs phase 1 or 2 of every child, each in a thread; joins them. */
static int
ft_iso_phase(struct ft_iso *fi, int nprocs, bool read)
{
	struct thread *td[FT_MAXPROCS];
	int k, n, error = 0;

	for (n = 0; n < nprocs; n++) {
		fi[n].fi_read = read;
		if ((error = kthread_create(ft_iso_main, &fi[n], n % md_ncpus(),
			 KTHR_BOUND | KTHR_JOINABLE, &td[n], "ftiso%d", n)) !=
		    0)
			break;
	}
	for (k = 0; k < n; k++)
		kthread_join(td[k]);
	return (error);
}

/* Step 7: the violations found in *violp. */
static int
ft_isolation(
    struct scen_ctx *ctx, struct vmspace *vm, int nprocs, uint64_t *violp)
{
	struct ft_iso *fi, parent;
	vm_offset_t va;
	int k, n, error;

	*violp = 0;
	if ((fi = calloc((size_t)nprocs, sizeof(*fi))) == NULL) {
		ft_fail(ctx, "isolation", ENOMEM);
		return (ENOMEM);
	}
	if ((error = ft_map_anon(&vm->vm_map, 2 * FT_ISO_PAGES, &va)) != 0 ||
	    (error = ft_write_pages(va, FT_ISO_PAGES, 0)) != 0) {
		ft_fail(ctx, "isolation: the parent's pages", error);
		free(fi);
		return (error);
	}
	for (n = 0; n < nprocs; n++) {
		fi[n].fi_owner = n + 1;
		fi[n].fi_nprocs = nprocs;
		fi[n].fi_va = va;
		if ((fi[n].fi_vm = vmspace_fork(vm)) == NULL) {
			error = ENOMEM;
			ft_fail(ctx, "isolation: vmspace_fork", error);
			goto out;
		}
	}
	if ((error = ft_iso_phase(fi, nprocs, false)) != 0 ||
	    (error = ft_iso_phase(fi, nprocs, true)) != 0) {
		ft_fail(ctx, "isolation: a thread", error);
		goto out;
	}
	memset(&parent, 0, sizeof(parent));
	parent.fi_va = va;
	parent.fi_nprocs = nprocs;
	ft_iso_check(&parent);
	for (k = 0; k < nprocs; k++) {
		*violp += fi[k].fi_violations;
		parent.fi_errors += fi[k].fi_errors;
	}
	*violp += parent.fi_violations;
	if (parent.fi_errors != 0) {
		fprintf(stderr, "fault: isolation: %llu accesses failed\n",
		    (unsigned long long)parent.fi_errors);
		ctx->sx_failed = 1;
	}
out:
	for (k = 0; k < n; k++)
		vmspace_free(fi[k].fi_vm);
	(void)vm_munmap(&vm->vm_map, va, ptoa(2 * FT_ISO_PAGES));
	free(fi);
	return (error);
}

/* Step 8. */
struct ft_reader {
	struct vmspace *fr_vm; /* (c) */
	vm_offset_t fr_va;     /* (c) the word loaded */
	uint64_t fr_loads;     /* (a) loads made */
	uint32_t fr_after;     /* (a) munmap returned and poisoned */
	uint64_t fr_stale;     /* (t) stale reads */
	uint64_t fr_wrong;     /* (t) loads of neither GOOD nor POISON */
	bool fr_faulted;       /* (t) ended by EFAULT */
};

static void
ft_reader_main(void *arg)
{
	struct ft_reader *fr = arg;
	uint64_t w, after = 0;
	bool seen;

	vmspace_switch(fr->fr_vm);
	for (;;) {
		/*
		 * Acquire: pairs with the release store of fr_after, made
		 * after vm_munmap() returned; a load issued after this
		 * one saw it must not succeed.
		 */
		seen = atomic_load_acq_int(&fr->fr_after) != 0;
		if (uload(fr->fr_va, 8, &w) != 0) {
			fr->fr_faulted = true;
			break;
		}
		if (w == FT_POISON || seen)
			fr->fr_stale++;
		else if (w != FT_GOOD)
			fr->fr_wrong++;
		/* Relaxed: a progress count the main thread polls. */
		atomic_store_64(
		    &fr->fr_loads, atomic_load_64(&fr->fr_loads) + 1);
		if (seen && ++after == FT_STALE_MAXAFTER)
			break;
	}
	vmspace_switch(NULL);
}

/* One round of step 8 with the reader on CPU `cpu'; stale reads added. */
static int
ft_stale_round(
    struct scen_ctx *ctx, struct vmspace *vm, int cpu, uint64_t *stalep)
{
	struct ft_reader fr;
	struct vm_object *obj;
	struct vm_page *m;
	struct thread *td;
	vm_offset_t va = 0;
	int error;

	if ((obj = vm_object_allocate(OBJT_DEFAULT, 1)) == NULL) {
		ft_fail(ctx, "stale: object", ENOMEM);
		return (ENOMEM);
	}
	if ((error = vm_mmap(&vm->vm_map, &va, PAGE_SIZE, VM_PROT_RW,
		 VM_PROT_RW, MAP_SHARED, obj, 0)) != 0 ||
	    (error = ustore(va, 8, FT_GOOD)) != 0) {
		ft_fail(ctx, "stale: mapping the page", error);
		vm_object_deallocate(obj);
		return (error);
	}
	if ((m = pmap_extract_and_hold(vmspace_pmap(vm), va, VM_PROT_READ)) ==
	    NULL) {
		ft_fail(ctx, "stale: pmap_extract_and_hold", EFAULT);
		(void)vm_munmap(&vm->vm_map, va, PAGE_SIZE);
		vm_object_deallocate(obj);
		return (EFAULT);
	}
	memset(&fr, 0, sizeof(fr));
	fr.fr_vm = vm;
	fr.fr_va = va;
	if ((error = kthread_create(ft_reader_main, &fr, cpu,
		 KTHR_BOUND | KTHR_JOINABLE, &td, "ftreader")) != 0) {
		ft_fail(ctx, "stale: reader thread", error);
		(void)vm_munmap(&vm->vm_map, va, PAGE_SIZE);
		goto out;
	}
	while (atomic_load_64(&fr.fr_loads) < FT_STALE_WARM)
		md_spin_wait(&fr.fr_loads);
	error = vm_munmap(&vm->vm_map, va, PAGE_SIZE);
	/* Every translation is gone: the frame is ours to scribble on. */
	memcpy(vm_page_dmap(m), &(uint64_t) { FT_POISON }, 8);
	/* Release: the poison is in place before the reader sees the flag. */
	atomic_store_rel_int(&fr.fr_after, 1);
	kthread_join(td);
	if (error != 0)
		ft_fail(ctx, "stale: munmap", error);
	if (!fr.fr_faulted || fr.fr_wrong != 0) {
		fprintf(stderr,
		    "fault: stale: the reader %s, %llu loads of other data\n",
		    fr.fr_faulted ? "faulted" : "never faulted",
		    (unsigned long long)fr.fr_wrong);
		ctx->sx_failed = 1;
	}
	*stalep += fr.fr_stale;
out:
	vm_page_unwire(m);
	vm_object_deallocate(obj);
	return (error);
}

/* Step 8: stale reads over `rounds' rounds (another CPU than ours). */
static int
ft_stale(struct scen_ctx *ctx, struct vmspace *vm, int rounds, uint64_t *stalep)
{
	int r, error, cpu = (curcpu + 1) % md_ncpus();

	*stalep = 0;
	for (r = 0; r < rounds; r++)
		if ((error = ft_stale_round(ctx, vm, cpu, stalep)) != 0)
			return (error);
	return (0);
}

/* Step 9: threads that run in a vmspace, then park until released. */
struct ft_park {
	struct vmspace *fp_vm; /* (c) */
	vm_offset_t fp_va;     /* (c) a page they load */
	uint32_t fp_n;	       /* (c) threads */
	uint32_t fp_ready;     /* (a) threads that ran in fp_vm; a channel */
	uint32_t fp_release;   /* (a) 1: leave; a channel */
	uint32_t fp_errors;    /* (a) loads that failed */
};

/*
 * Sleeps on `chan' until *word reaches `want'.  The wakers change the
 * word before wakeup(), which takes the chain lock this check is under.
 */
static void
ft_wait_for(uint32_t *word, uint32_t want, const char *wmesg)
{
	sleepq_lock(word);
	while (atomic_load_int(word) < want) {
		sleepq_add(word, wmesg, 0, 0);
		(void)sleepq_wait();
		sleepq_lock(word);
	}
	sleepq_release(word);
}

static void
ft_park_main(void *arg)
{
	struct ft_park *fp = arg;
	uint64_t w;

	vmspace_switch(fp->fp_vm);
	if (uload(fp->fp_va, 8, &w) != 0)
		atomic_fetchadd_int(&fp->fp_errors, 1);
	if (atomic_fetchadd_int(&fp->fp_ready, 1) + 1 == fp->fp_n)
		wakeup(&fp->fp_ready);
	/* Parked: the CPU idles with fp_vm's pmap still loaded. */
	ft_wait_for(&fp->fp_release, 1, "ftpark");
	vmspace_switch(NULL);
}

struct ft_sd {
	double sd_ns;	     /* ns per munmap of one page */
	double sd_range_ns;  /* ns per munmap of --range pages */
	double sd_ipis;	     /* IPIs per shootdown */
	double sd_per_unmap; /* shootdowns per munmap */
};

/* Times `rounds' munmaps of `npages' populated pages; adds counts. */
static int
ft_sd_unmaps(struct vm_map *map, int rounds, uint64_t npages, uint64_t *nsp,
    uint64_t *sdp, uint64_t *ipip)
{
	uint64_t t0, s0, i0;
	vm_offset_t va;
	int r, error;

	*nsp = *sdp = *ipip = 0;
	for (r = 0; r < rounds; r++) {
		if ((error = ft_map_anon(map, npages, &va)) != 0 ||
		    (error = ft_write_pages(va, npages, 0)) != 0)
			return (error);
		s0 = scen_stat("vm.pmap.shootdowns");
		i0 = scen_stat("vm.pmap.ipis");
		t0 = md_nanotime();
		error = vm_munmap(map, va, ptoa(npages));
		*nsp += md_nanotime() - t0;
		*sdp += scen_stat("vm.pmap.shootdowns") - s0;
		*ipip += scen_stat("vm.pmap.ipis") - i0;
		if (error != 0)
			return (error);
	}
	return (0);
}

/* Step 9, with the parked threads in place. */
static int
ft_sd_measure(struct vm_map *map, int rounds, uint64_t range, struct ft_sd *sd)
{
	uint64_t ns, sd1, ipi1, nsr, sdr, ipir;
	int error;

	if ((error = ft_sd_unmaps(map, 1, 1, &ns, &sd1, &ipi1)) != 0 ||
	    (error = ft_sd_unmaps(map, rounds, 1, &ns, &sd1, &ipi1)) != 0 ||
	    (error = ft_sd_unmaps(map, rounds, range, &nsr, &sdr, &ipir)) != 0)
		return (error);
	sd->sd_ns = ft_per(ns, (uint64_t)rounds);
	sd->sd_range_ns = ft_per(nsr, (uint64_t)rounds);
	sd->sd_ipis = ft_per(ipi1 + ipir, sd1 + sdr);
	sd->sd_per_unmap = ft_per(sd1 + sdr, 2 * (uint64_t)rounds);
	return (0);
}

static int
ft_shootdown(struct scen_ctx *ctx, struct vmspace *vm, int rounds,
    uint64_t range, struct ft_sd *sd)
{
	struct thread **td;
	struct ft_park fp;
	int c, n = 0, me = curcpu, error;

	if ((td = calloc((size_t)md_ncpus(), sizeof(*td))) == NULL) {
		ft_fail(ctx, "shootdown", ENOMEM);
		return (ENOMEM);
	}
	memset(&fp, 0, sizeof(fp));
	fp.fp_vm = vm;
	fp.fp_n = (uint32_t)(md_ncpus() - 1);
	if ((error = ft_map_anon(&vm->vm_map, 1, &fp.fp_va)) != 0 ||
	    (error = ft_write_pages(fp.fp_va, 1, 0)) != 0) {
		ft_fail(ctx, "shootdown: the parked threads' page", error);
		free(td);
		return (error);
	}
	for (c = 0; c < md_ncpus(); c++) {
		if (c == me)
			continue;
		if ((error = kthread_create(ft_park_main, &fp, c,
			 KTHR_BOUND | KTHR_JOINABLE, &td[n], "ftpark%d", c)) !=
		    0) {
			ft_fail(ctx, "shootdown: parked thread", error);
			/* Those not started count as ready. */
			atomic_store_int(&fp.fp_ready, fp.fp_n);
			break;
		}
		n++;
	}
	ft_wait_for(&fp.fp_ready, fp.fp_n, "ftready");
	if (error == 0 &&
	    (error = ft_sd_measure(&vm->vm_map, rounds, range, sd)) != 0)
		ft_fail(ctx, "shootdown: munmap", error);
	atomic_store_int(&fp.fp_release, 1);
	wakeup(&fp.fp_release);
	for (c = 0; c < n; c++)
		kthread_join(td[c]);
	if (fp.fp_errors != 0) {
		fprintf(stderr, "fault: shootdown: %u parked loads failed\n",
		    fp.fp_errors);
		ctx->sx_failed = 1;
	}
	(void)vm_munmap(&vm->vm_map, fp.fp_va, PAGE_SIZE);
	free(td);
	return (error);
}

/* The human table: figure, value, unit, target (NULL: none). */
static void
ft_row(struct scen_ctx *ctx, const char *label, const char *key, double v,
    const char *unit, const char *target)
{
	fprintf(ctx->sx_out, "  %-40s %14.2f %-5s %s\n", label, v, unit,
	    target != NULL ? target : "");
	report_result(ctx, key, v, unit);
}

/*
 * Backs the physical arena on the host before anything is timed: the
 * arena is reserved lazily (md.h), so the first touch of each frame is a
 * host page fault (a 2 MiB one, zeroed by the host kernel), which a real
 * machine's memory does not cost.  Takes every free 2 MiB block it can
 * while staying above the page daemon's target (so the daemon is not
 * woken), writes a byte of each page, and frees them; the allocator
 * hands recently freed blocks out first, so the runs reuse them.
 */
static void
ft_warm_arena(void)
{
	struct vm_page **blk;
	uint64_t n = 0, max, floor;
	uint64_t i, j;

	floor = scen_stat("vm.stats.page.free_target") + 2 * VM_LEVEL_0_NPAGES;
	max = scen_stat("vm.stats.page.free") / VM_LEVEL_0_NPAGES;
	if ((blk = calloc(max + 1, sizeof(*blk))) == NULL)
		return;
	while (n < max &&
	    scen_stat("vm.stats.page.free") > floor + VM_LEVEL_0_NPAGES &&
	    (blk[n] = vm_page_alloc_block(0, VM_LEVEL_0_ORDER)) != NULL) {
		for (j = 0; j < VM_LEVEL_0_NPAGES; j++)
			*(volatile uint8_t *)vm_page_dmap(&blk[n][j]) = 0;
		n++;
	}
	for (i = 0; i < n; i++)
		vm_page_free_block(blk[i], VM_LEVEL_0_ORDER);
	free(blk);
}

/* Steps 1 to 6: the costs, in the running thread's vmspace vm. */
static int
ft_costs(struct scen_ctx *ctx, struct vmspace *vm, double fig[8])
{
	uint64_t npages = (uint64_t)scen_opt(ctx, "pages", 0);
	int error;

	if ((error = ft_zero_fill(
		 ctx, &vm->vm_map, npages, &fig[0], &fig[1])) != 0 ||
	    (error = ft_cow(ctx, vm, npages, &fig[2])) != 0 ||
	    (error = ft_tlb(ctx, &vm->vm_map,
		 (uint64_t)scen_opt(ctx, "iters", 0),
		 (uint64_t)scen_opt(ctx, "tlb-pages", 0), &fig[3])) != 0)
		return (error);
	fig[7] = ft_host(npages);
	return (0);
}

static void
ft_report_costs(struct scen_ctx *ctx, const double fig[8])
{
	const char *clock = ctx->sx_sim ? "virtual" : "host";

	fprintf(ctx->sx_out,
	    "\n  %llu pages per run, median of %d runs, %s ns\n",
	    (unsigned long long)scen_opt(ctx, "pages", 0), FT_RUNS, clock);
	ft_row(ctx, "zero-fill fault (mmap + touch), per page", "zero_fill_ns",
	    fig[0], "ns", NULL);
	ft_row(
	    ctx, "copy-on-write fault, per page", "cow_ns", fig[2], "ns", NULL);
	ft_row(ctx, "munmap of a populated range, per page", "munmap_ns",
	    fig[1], "ns", NULL);
	ft_row(ctx, "load, TLB hit", "tlb_hit_load_ns", fig[3], "ns",
	    "target <= 3");
	ft_row(ctx, "  TLB fills per load", "tlb_hit_fills_per_load", fig[4],
	    "", "(about 0)");
	ft_row(ctx, "load, TLB miss (page-table walk)", "tlb_miss_load_ns",
	    fig[5], "ns", "target <= 40");
	ft_row(ctx, "  TLB fills per load", "tlb_miss_fills_per_load", fig[6],
	    "", "(about 1)");
	ft_row(ctx, "host kernel mmap + touch + munmap, per page",
	    "host_kernel_touch_ns", fig[7], "ns",
	    ctx->sx_sim ? "(host time)" : NULL);
	if (fig[0] > 0 && fig[7] > 0) {
		ft_row(ctx, "zero-fill vs host kernel (host/ours)",
		    "zero_fill_vs_host", fig[7] / fig[0], "x", "target >= 10");
		if (ctx->sx_sim)
			fprintf(ctx->sx_out,
			    "  (simulated machine: our virtual ns against the "
			    "host's real ns)\n");
	}
}

static void
ft_report_sd(struct scen_ctx *ctx, const struct ft_sd *sd, uint64_t range)
{
	char key[64], label[64];
	int n = md_ncpus();

	fprintf(
	    ctx->sx_out, "\n  shootdowns, vmspace active on all %d CPUs\n", n);
	ft_row(ctx, "munmap of 1 page", "shootdown_ns", sd->sd_ns, "ns", NULL);
	snprintf(label, sizeof(label), "munmap of %llu pages",
	    (unsigned long long)range);
	ft_row(ctx, label, "shootdown_range_ns", sd->sd_range_ns, "ns", NULL);
	ft_row(
	    ctx, "IPIs per shootdown", "shootdown_ipis", sd->sd_ipis, "", NULL);
	ft_row(ctx, "shootdowns per munmap", "shootdowns_per_munmap",
	    sd->sd_per_unmap, "", NULL);
	/* The same under names of this CPU count (this run's report only). */
	snprintf(key, sizeof(key), "shootdown_ns_cpus%d", n);
	report_result(ctx, key, sd->sd_ns, "ns");
	snprintf(key, sizeof(key), "shootdown_range_ns_cpus%d", n);
	report_result(ctx, key, sd->sd_range_ns, "ns");
	snprintf(key, sizeof(key), "ipis_per_shootdown_cpus%d", n);
	report_result(ctx, key, sd->sd_ipis, "");
}

/* Steps 7 to 9. */
static void
ft_checks(struct scen_ctx *ctx, struct vmspace *vm)
{
	int rounds = (int)scen_opt(ctx, "rounds", 0);
	uint64_t range = (uint64_t)scen_opt(ctx, "range", 0), viol, stale;
	struct ft_sd sd;

	memset(&sd, 0, sizeof(sd));
	fprintf(ctx->sx_out, "\n");
	if (ft_isolation(ctx, vm, (int)scen_opt(ctx, "procs", 0), &viol) == 0) {
		ft_row(ctx, "isolation violations", "isolation_violations",
		    (double)viol, "", "must be 0");
		if (viol != 0)
			ctx->sx_failed = 1;
	}
	if (md_ncpus() < 2)
		fprintf(ctx->sx_out,
		    "  stale TLB reads: not measured (needs 2 CPUs)\n");
	else if (ft_stale(ctx, vm, rounds, &stale) == 0) {
		ft_row(ctx, "stale TLB reads after munmap", "stale_tlb_reads",
		    (double)stale, "", "must be 0");
		report_result(ctx, "stale_tlb_rounds", rounds, "");
		if (stale != 0)
			ctx->sx_failed = 1;
	}
	if (ft_shootdown(ctx, vm, rounds, range, &sd) == 0)
		ft_report_sd(ctx, &sd, range);
}

static void
ft_run(struct scen_ctx *ctx)
{
	struct vmspace *vm;
	double fig[8];

	if ((vm = vmspace_alloc()) == NULL) {
		ft_fail(ctx, "vmspace_alloc", ENOMEM);
		return;
	}
	/*
	 * The thread's reference is its own: ours keeps vm alive while the
	 * thread borrows the children's vmspaces (steps 3 and 7).
	 */
	vmspace_switch(vm);
	ft_warm_arena();
	if (ft_costs(ctx, vm, fig) == 0)
		ft_report_costs(ctx, fig);
	if (!ctx->sx_failed)
		ft_checks(ctx, vm);
	vmspace_switch(NULL);
	vmspace_free(vm);
}

const struct scenario scen_fault = {
	.sc_name = "fault",
	.sc_descr = "page faults, TLB hits and misses, munmap and shootdowns "
		    "through mapped memory; isolation and stale-TLB checks",
	.sc_opts = {
	    { "pages", "pages per zero-fill, copy-on-write and munmap run",
		"2048", 1, 1 << 20, false, NULL },
	    { "iters", "loads per TLB-hit and TLB-miss loop", "1000000", 1,
		INT64_MAX, false, NULL },
	    { "tlb-pages", "pages the TLB-miss loop strides over (more than "
			   "the TLB holds)",
		"1024", 16, 1 << 20, false, NULL },
	    { "procs", "forked vmspaces of the isolation check", "8", 1,
		FT_MAXPROCS, false, NULL },
	    { "rounds", "munmaps of the stale-TLB check and of each "
			"shootdown figure",
		"32", 1, 100000, false, NULL },
	    { "range", "pages of the ranged munmap (shootdown)", "64", 1,
		1 << 16, false, NULL },
	},
	.sc_nopts = 6,
	.sc_tunables = NULL,
	.sc_check = NULL,
	.sc_run = ft_run,
};
