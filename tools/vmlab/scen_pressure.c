/*
 * scen_pressure.c: a working set larger than memory.
 *
 * Several objects, anonymous and file-backed, whose pages together are
 * --ratio percent of physical memory (default 200: twice memory), are
 * touched by --threads kernel threads with a skewed pattern: a touch goes
 * to the hot tenth of an object's pages with probability --hot percent,
 * elsewhere uniformly, and is a write with probability --writes percent.
 * The page daemon reclaims clean pages and the laundry thread writes
 * dirty ones to the swap file or back to the files.
 *
 * Integrity.  Every page carries its identity and a generation: a header
 * (magic, object, index, generation) and words derived from the three.
 * A write checks the page, then rewrites it with generation + 1; a read
 * checks it.  A check fails if the header names another page, if any word
 * disagrees with the header, or if the generation is older than the last
 * one written (a lost write: the harness keeps, per page, the highest
 * generation written).  A page never written reads as zeros (generation
 * 0).  Failures are counted and reported; there must be none.
 *
 * Errors.  A touch whose page-in fails (EIO: a swap or file read error,
 * e.g. vm.swap.inject_read_errors) is reported and counted; the pager
 * keeps its copy, so a later touch of the page must see the data.  Swap
 * write errors and page-in errors are reported per variant.  Any other
 * touch error (ENOMEM: out of memory) fails the run.
 *
 * Through mappings (--via map).  By default (--via touch) a touch is
 * vm_fault_touch(), which runs the check on the busied page.  With --via
 * map the workers run in one vmspace where every object is mapped
 * MAP_SHARED (the objects themselves, so the page daemon still sees each
 * object's pages), and a touch is what a program would do: copyin() of
 * the page, the check, and for a write copyout() of the new contents,
 * faulting through vm_fault() and the software TLB.  Nothing busies a
 * page around a user access, so two workers rewriting one page would
 * interleave their words: the workload serialises itself, as a threaded
 * program must, with PR_NPGLOCKS sx locks hashed by (object, page)
 * ("pressure page"; shared to check, exclusive to check and rewrite;
 * sleepable, since a copy may fault and sleep for a page-in).  A failed
 * access is EFAULT whatever the cause (a process gets a signal, not an
 * errno): the mappings stay in place for the whole run, so it is a
 * failed page-in, counted as such, unless the page daemon declared out
 * of memory during the variant, in which case they are all touch errors
 * and fail the run, as ENOMEM does with --via touch.
 *
 * The run is repeated for each --batch size (default "0,31": batching
 * off, then on), on the same machine, with the same seed and fresh
 * objects, and reported side by side: touches per second, page-outs,
 * page-ins, daemon passes and pages scanned, laundering MB/s, page-queue
 * operations and queue-lock acquisitions per operation, and the
 * queue-lock wait from the lock profile.
 *
 * Progress.  Workers add their touches to pr_progress every
 * PR_PROGRESS_STEP touches and wake the controlling thread whenever the
 * sum passes a hundredth of the variant's touches, and the last one to
 * finish wakes it too; it reports (scen_progress(), shown only on a
 * terminal) and sleeps again until all have finished, then joins them.
 * At most 101 wakeups per variant (the joins then do not sleep), the
 * same whether or not the line is shown; the
 * controlling thread sleeps without a timeout, so a lost wakeup is still
 * a stall on the simulated machine.
 */
/* mkstemp() and ftruncate() for the file-backed objects. */
#define _POSIX_C_SOURCE 200809L
#include "kern/lock.h"
#include "kern/rwlock.h"
#include "kern/sleepq.h"
#include "kern/sysctl.h"
#include "kern/thread.h"
#include "vm/vm_fault.h"
#include "vm/vm_map.h"
#include "vm/vm_object.h"
#include "vm/vm_page.h"
#include "vm/vm_pageout.h"
#include "vm/vm_pagequeue.h"
#include "vm/vm_swap.h"
#include "vm/vm_uaccess.h"
#include "vmlab_cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PR_MAXOBJ 16
#define PR_MAXTHREADS 256
#define PR_MAXVARIANTS 4
#define PR_MAGIC 0x766d6c6162706721ull /* "vmlabpg!" */
#define PR_PROGRESS_STEP 256
#define PR_NPGLOCKS 64 /* --via map: the workload's page locks */
#define PR_VIA_TOUCH 0
#define PR_VIA_MAP 1

struct pr_obj {
	struct vm_object *po_obj;
	vm_pindex_t po_npages;
	uint64_t *po_gen; /* (a) highest generation written, per page */
	int po_id;
	vm_offset_t po_va; /* (c) --via map: its mapping in pr_vm */
	char po_path[256]; /* file-backed: the file, removed at the end */
};

struct pr_run {
	struct pr_obj pr_objs[PR_MAXOBJ];
	int pr_nobj;
	uint64_t pr_ops; /* touches per thread */
	int pr_hot, pr_writes;
	uint64_t pr_seed;
	uint64_t pr_bad;       /* (a) integrity failures */
	uint64_t pr_errors;    /* (a) touches that failed, other than EIO */
	uint64_t pr_eio;       /* (a) touches whose page-in failed (EIO) */
	uint64_t pr_touches;   /* (a) */
	uint64_t pr_total;     /* (c) touches of all workers */
	uint32_t pr_nthreads;  /* (c) workers */
	uint64_t pr_progress;  /* (a) touches made so far; a channel */
	uint32_t pr_finished;  /* (a) workers done */
	int pr_via;	       /* (c) PR_VIA_* */
	struct vmspace *pr_vm; /* (c) --via map: the workers' vmspace */
	struct sx pr_pglocks[PR_NPGLOCKS]; /* --via map (see the top) */
	int pr_npglocks;		   /* (c) of them initialised */
};

struct pr_worker {
	struct pr_run *pw_run;
	uint64_t pw_rs;
};

struct pr_touch {
	struct pr_obj *pt_po;
	uint64_t pt_min;  /* generation the page must have at least */
	uint64_t pt_seen; /* generation found */
	bool pt_write;
	bool pt_bad;
};

static inline uint64_t
pr_word(uint64_t seed, int i)
{
	uint64_t z = seed + (uint64_t)i * 0x9e3779b97f4a7c15ull;

	z = (z ^ (z >> 29)) * 0xbf58476d1ce4e5b9ull;
	return (z ^ (z >> 32));
}

static inline uint64_t
pr_page_seed(int id, vm_pindex_t pindex, uint64_t gen)
{
	return (((uint64_t)id << 56) ^ (pindex << 20) ^ gen ^ PR_MAGIC);
}

/* Checks a page's contents; returns its generation, or UINT64_MAX. */
static uint64_t
pr_check(const uint64_t *w, int id, vm_pindex_t pindex)
{
	uint64_t seed;
	int i;

	if (w[0] == 0) {
		for (i = 1; i < (int)(PAGE_SIZE / 8); i++)
			if (w[i] != 0)
				return (UINT64_MAX);
		return (0);
	}
	if (w[0] != PR_MAGIC || w[1] != (uint64_t)id || w[2] != pindex)
		return (UINT64_MAX);
	seed = pr_page_seed(id, pindex, w[3]);
	for (i = 4; i < (int)(PAGE_SIZE / 8); i++)
		if (w[i] != pr_word(seed, i))
			return (UINT64_MAX);
	return (w[3]);
}

static void
pr_fill(uint64_t *w, int id, vm_pindex_t pindex, uint64_t gen)
{
	uint64_t seed = pr_page_seed(id, pindex, gen);
	int i;

	w[0] = PR_MAGIC;
	w[1] = (uint64_t)id;
	w[2] = pindex;
	w[3] = gen;
	for (i = 4; i < (int)(PAGE_SIZE / 8); i++)
		w[i] = pr_word(seed, i);
}

/*
 * Checks a page's contents for a touch: the generation to write next, or
 * 0 (a read, or the check failed: pt_bad).
 */
static uint64_t
pr_touch_check(struct pr_touch *pt, const uint64_t *w, vm_pindex_t pindex)
{
	uint64_t gen = pr_check(w, pt->pt_po->po_id, pindex);

	pt->pt_seen = gen;
	if (gen == UINT64_MAX || gen < pt->pt_min) {
		pt->pt_bad = true;
		return (0);
	}
	return (pt->pt_write ? gen + 1 : 0);
}

/* Runs with the page busied (exclusive for writes). */
static void
pr_touch_fn(uint8_t *data, vm_pindex_t pindex, void *arg)
{
	struct pr_touch *pt = arg;
	uint64_t *w = (uint64_t *)data;
	uint64_t next = pr_touch_check(pt, w, pindex);

	if (next != 0) {
		pr_fill(w, pt->pt_po->po_id, pindex, next);
		/* Under the exclusive busy: writers of a page are ordered. */
		atomic_store_64(&pt->pt_po->po_gen[pindex], next);
	}
}

/*
 * A touch through the mapping (--via map): the page copied in, checked,
 * and for a write refilled and copied out, under the workload's lock of
 * the page (exclusive for writes: writers of a page are ordered by it).
 * The copy-out is of one whole aligned page, so it writes all or none.
 */
static int
pr_touch_map(
    struct pr_run *pr, struct pr_touch *pt, vm_pindex_t pindex, uint64_t *buf)
{
	struct pr_obj *po = pt->pt_po;
	struct sx *lk =
	    &pr->pr_pglocks[(pindex * 31 + (uint64_t)po->po_id) % PR_NPGLOCKS];
	vm_offset_t va = po->po_va + ptoa(pindex);
	uint64_t next;
	int error;

	if (pt->pt_write)
		sx_xlock(lk);
	else
		sx_slock(lk);
	if ((error = copyin(va, buf, PAGE_SIZE)) == 0 &&
	    (next = pr_touch_check(pt, buf, pindex)) != 0) {
		pr_fill(buf, po->po_id, pindex, next);
		if ((error = copyout(buf, va, PAGE_SIZE)) == 0)
			atomic_store_64(&po->po_gen[pindex], next);
	}
	if (pt->pt_write)
		sx_xunlock(lk);
	else
		sx_sunlock(lk);
	return (error);
}

/*
 * A worker made `n' more touches: wakes the controlling thread when the
 * sum passes a hundredth of the total.  The add comes before wakeup(),
 * which takes the chain lock the controller checks under.
 */
static void
pr_progress_add(struct pr_run *pr, uint64_t n)
{
	uint64_t old = atomic_fetchadd_64(&pr->pr_progress, n);

	if (old * 100 / pr->pr_total != (old + n) * 100 / pr->pr_total)
		wakeup(&pr->pr_progress);
}

/* A worker is done; the last one wakes the controlling thread. */
static void
pr_worker_done(struct pr_run *pr)
{
	if (atomic_fetchadd_int(&pr->pr_finished, 1) + 1 == pr->pr_nthreads)
		wakeup(&pr->pr_progress);
}

/*
 * The controlling thread: reports progress until every worker has
 * finished (step "Progress" above).
 */
static void
pr_progress_wait(struct scen_ctx *ctx, struct pr_run *pr, int batch)
{
	char what[32];

	snprintf(what, sizeof(what), "batch %d", batch);
	sleepq_lock(&pr->pr_progress);
	while (atomic_load_int(&pr->pr_finished) < pr->pr_nthreads) {
		sleepq_add(&pr->pr_progress, "prprog", 0, 0);
		(void)sleepq_wait();
		scen_progress(ctx, what, atomic_load_64(&pr->pr_progress),
		    pr->pr_total, "touches");
		sleepq_lock(&pr->pr_progress);
	}
	sleepq_release(&pr->pr_progress);
}

static void
pr_worker_main(void *arg)
{
	struct pr_worker *pw = arg;
	struct pr_run *pr = pw->pw_run;
	struct pr_touch pt;
	struct pr_obj *po;
	vm_pindex_t pindex, hot;
	uint64_t i, r, bad = 0, errors = 0, eio = 0, reported = 0, *buf = NULL;
	int error;

	if (pr->pr_via == PR_VIA_MAP) {
		if ((buf = malloc(PAGE_SIZE)) == NULL) {
			/* Every touch of this worker failed. */
			atomic_add_64(&pr->pr_errors, pr->pr_ops);
			pr_progress_add(pr, pr->pr_ops);
			pr_worker_done(pr);
			return;
		}
		vmspace_switch(pr->pr_vm);
	}
	for (i = 0; i < pr->pr_ops; i++) {
		if (i - reported == PR_PROGRESS_STEP) {
			pr_progress_add(pr, PR_PROGRESS_STEP);
			reported = i;
		}
		r = scen_rand(&pw->pw_rs);
		po = &pr->pr_objs[r % (uint64_t)pr->pr_nobj];
		hot = po->po_npages / 10 > 0 ? po->po_npages / 10 : 1;
		r = scen_rand(&pw->pw_rs);
		pindex = (int)(r % 100) < pr->pr_hot ? (r >> 8) % hot
						     : (r >> 8) % po->po_npages;
		pt.pt_po = po;
		pt.pt_write = (int)((r >> 40) % 100) < pr->pr_writes;
		pt.pt_bad = false;
		pt.pt_min = atomic_load_64(&po->po_gen[pindex]);
		if (pr->pr_via == PR_VIA_MAP)
			error = pr_touch_map(pr, &pt, pindex, buf);
		else
			error = vm_fault_touch(po->po_obj, pindex,
			    pt.pt_write ? VM_TOUCH_WRITE : VM_TOUCH_READ,
			    pr_touch_fn, &pt);
		if (error != 0) {
			if (errors + eio == 0)
				md_printf("pressure: touch of object %d page "
					  "%llu: %s\n",
				    po->po_id, (unsigned long long)pindex,
				    strerror(error));
			/* Through a mapping, EFAULT: see the top. */
			if (error == EIO ||
			    (error == EFAULT && pr->pr_via == PR_VIA_MAP))
				eio++;
			else
				errors++;
			continue;
		}
		if (pt.pt_bad && bad++ < 5)
			md_printf("pressure: INTEGRITY FAILURE: object %d page "
				  "%llu holds generation %lld, expected at "
				  "least %llu\n",
			    po->po_id, (unsigned long long)pindex,
			    (long long)pt.pt_seen,
			    (unsigned long long)pt.pt_min);
	}
	if (pr->pr_via == PR_VIA_MAP) {
		vmspace_switch(NULL);
		free(buf);
	}
	atomic_add_64(&pr->pr_bad, bad);
	atomic_add_64(&pr->pr_errors, errors);
	atomic_add_64(&pr->pr_eio, eio);
	atomic_add_64(&pr->pr_touches, pr->pr_ops - errors - eio);
	pr_progress_add(pr, pr->pr_ops - reported);
	pr_worker_done(pr);
}

/* Creates a sparse (all-zero) file of `bytes' for a vnode object. */
static int
pr_make_file(struct pr_obj *po, uint64_t bytes)
{
	const char *dir = getenv("TMPDIR");
	int fd, ok;

	/*
	 * A name of its own (mkstemp): runs in parallel, on the simulated
	 * machine with the same virtual clock and seed, must not share it.
	 */
	snprintf(po->po_path, sizeof(po->po_path),
	    "%s/vmlab-pressure-%d-XXXXXX", dir != NULL ? dir : "/tmp",
	    po->po_id);
	if ((fd = mkstemp(po->po_path)) < 0) {
		po->po_path[0] = '\0';
		return (errno);
	}
	ok = ftruncate(fd, (off_t)bytes) == 0;
	if (close(fd) != 0 || !ok) {
		remove(po->po_path);
		po->po_path[0] = '\0';
		return (EIO);
	}
	return (0);
}

static void
pr_destroy(struct pr_run *pr)
{
	int i;

	/* The mappings' references go first, then the objects. */
	if (pr->pr_vm != NULL) {
		vmspace_free(pr->pr_vm);
		pr->pr_vm = NULL;
	}
	for (i = 0; i < pr->pr_npglocks; i++)
		sx_destroy(&pr->pr_pglocks[i]);
	pr->pr_npglocks = 0;
	for (i = 0; i < pr->pr_nobj; i++) {
		if (pr->pr_objs[i].po_obj != NULL)
			vm_object_deallocate(pr->pr_objs[i].po_obj);
		if (pr->pr_objs[i].po_path[0] != '\0')
			remove(pr->pr_objs[i].po_path);
		free(pr->pr_objs[i].po_gen);
	}
	pr->pr_nobj = 0;
}

/* Objects: every fourth one file-backed, the rest anonymous. */
static int
pr_create(struct scen_ctx *ctx, struct pr_run *pr, uint64_t total)
{
	int nobj = (int)scen_opt(ctx, "objects", 0), i, error;
	struct pr_obj *po;
	char err[256];

	memset(pr, 0, sizeof(*pr));
	for (i = 0; i < nobj; i++) {
		po = &pr->pr_objs[i];
		po->po_id = i + 1;
		po->po_npages = total / (uint64_t)nobj;
		po->po_gen = calloc(po->po_npages, sizeof(*po->po_gen));
		pr->pr_nobj = i + 1;
		if (po->po_gen == NULL)
			return (ENOMEM);
		if (i % 4 == 3) {
			if ((error = pr_make_file(po, ptoa(po->po_npages))) !=
			    0) {
				fprintf(stderr,
				    "pressure: cannot create %s: %s\n",
				    po->po_path, strerror(error));
				return (error);
			}
			error = vm_object_vnode_open(po->po_path, po->po_npages,
			    &po->po_obj, err, sizeof(err));
			if (error != 0) {
				fprintf(stderr, "pressure: %s\n", err);
				return (error);
			}
		} else if ((po->po_obj = vm_object_allocate(
				OBJT_DEFAULT, po->po_npages)) == NULL)
			return (ENOMEM);
	}
	return (0);
}

/* Ranks of the workload's own locks: before every lock of the VM. */
static const struct lock_rank pr_ranks[] = { { "pressure page", 150, 0 } };

/*
 * --via map: the workers' vmspace, every object mapped shared in it, and
 * the workload's page locks.
 */
static int
pr_map(struct pr_run *pr)
{
	struct pr_obj *po;
	int i, error;

	if ((error = witness_register(pr_ranks, 1)) != 0)
		return (error);
	if ((pr->pr_vm = vmspace_alloc()) == NULL)
		return (ENOMEM);
	for (i = 0; i < pr->pr_nobj; i++) {
		po = &pr->pr_objs[i];
		po->po_va = 0;
		if ((error = vm_mmap(&pr->pr_vm->vm_map, &po->po_va,
			 ptoa(po->po_npages), VM_PROT_RW, VM_PROT_RW,
			 MAP_SHARED, po->po_obj, 0)) != 0) {
			fprintf(stderr, "pressure: mmap of object %d: %s\n",
			    po->po_id, strerror(error));
			return (error);
		}
	}
	for (i = 0; i < PR_NPGLOCKS; i++)
		sx_init(&pr->pr_pglocks[i], "pressure page");
	pr->pr_npglocks = PR_NPGLOCKS;
	return (0);
}

struct pr_snap {
	uint64_t ps_t, ps_pq_ops, ps_pq_acq, ps_pq_wait, ps_pq_cont;
	uint64_t ps_pq_scan_ops, ps_pq_acq_all;
	uint64_t ps_pageins, ps_swap_werr, ps_swap_rerr;
	struct vm_pageout_stats ps_po;
};

void
pqstat_lock_wait(uint64_t *waitp, uint64_t *contp)
{
	struct lock_prof_row rows[128];
	int i, n = lock_prof_snapshot(rows, 128);

	*waitp = *contp = 0;
	for (i = 0; i < n; i++)
		if (strcmp(rows[i].lpr_name, "vm pagequeue") == 0) {
			*waitp += rows[i].lpr_wait_total_ns;
			*contp += rows[i].lpr_contentions;
		}
}

static void
pr_snap(struct pr_snap *s)
{
	s->ps_t = md_nanotime();
	s->ps_pq_ops = vm_pagequeue_ops();
	s->ps_pq_acq = vm_pagequeue_lock_acq_ops();
	s->ps_pq_scan_ops = vm_pagequeue_scan_ops();
	s->ps_pq_acq_all = vm_pagequeue_lock_acq();
	pqstat_lock_wait(&s->ps_pq_wait, &s->ps_pq_cont);
	s->ps_pageins = scen_stat("vm.stats.object.pageins");
	s->ps_swap_werr = scen_stat("vm.swap.write_errors");
	s->ps_swap_rerr = scen_stat("vm.swap.read_errors");
	vm_pageout_stats(&s->ps_po);
}

struct pr_result {
	int pv_batch;
	double pv_secs, pv_touches_s, pv_mbps, pv_acq_per_op, pv_all_per_op;
	uint64_t pv_touches, pv_pageouts, pv_pageins, pv_passes, pv_scanned;
	uint64_t pv_freed, pv_pq_ops, pv_pq_acq, pv_wait_us, pv_cont;
	uint64_t pv_pq_scan_ops, pv_pq_acq_all;
	uint64_t pv_bad, pv_errors, pv_eio, pv_launder_errors;
	uint64_t pv_swap_werr, pv_swap_rerr, pv_oom;
};

static void
pr_diff(struct pr_result *pv, const struct pr_snap *a, const struct pr_snap *b)
{
	uint64_t ns = b->ps_po.ps_launder_ns - a->ps_po.ps_launder_ns;

	pv->pv_secs = (double)(b->ps_t - a->ps_t) / 1e9;
	pv->pv_pageouts = b->ps_po.ps_laundered - a->ps_po.ps_laundered;
	pv->pv_pageins = b->ps_pageins - a->ps_pageins;
	pv->pv_passes = b->ps_po.ps_passes - a->ps_po.ps_passes;
	pv->pv_scanned = b->ps_po.ps_scanned - a->ps_po.ps_scanned;
	pv->pv_freed = b->ps_po.ps_freed - a->ps_po.ps_freed;
	pv->pv_launder_errors =
	    b->ps_po.ps_launder_errors - a->ps_po.ps_launder_errors;
	pv->pv_swap_werr = b->ps_swap_werr - a->ps_swap_werr;
	pv->pv_swap_rerr = b->ps_swap_rerr - a->ps_swap_rerr;
	pv->pv_oom = b->ps_po.ps_oom - a->ps_po.ps_oom;
	pv->pv_mbps = ns > 0
	    ? (double)ptoa(pv->pv_pageouts) / 1e6 / ((double)ns / 1e9)
	    : 0;
	pv->pv_pq_ops = b->ps_pq_ops - a->ps_pq_ops;
	pv->pv_pq_acq = b->ps_pq_acq - a->ps_pq_acq;
	pv->pv_acq_per_op = pv->pv_pq_ops > 0
	    ? (double)pv->pv_pq_acq / (double)pv->pv_pq_ops
	    : 0;
	pv->pv_pq_scan_ops = b->ps_pq_scan_ops - a->ps_pq_scan_ops;
	pv->pv_pq_acq_all = b->ps_pq_acq_all - a->ps_pq_acq_all;
	pv->pv_all_per_op = pv->pv_pq_ops + pv->pv_pq_scan_ops > 0
	    ? (double)pv->pv_pq_acq_all /
		(double)(pv->pv_pq_ops + pv->pv_pq_scan_ops)
	    : 0;
	pv->pv_wait_us = (b->ps_pq_wait - a->ps_pq_wait) / 1000;
	pv->pv_cont = b->ps_pq_cont - a->ps_pq_cont;
}

static int
pr_variant(
    struct scen_ctx *ctx, int batch, uint64_t total, struct pr_result *pv)
{
	struct pr_worker pw[PR_MAXTHREADS];
	struct thread *td[PR_MAXTHREADS];
	struct pr_snap a, b;
	struct pr_run *pr;
	int nthreads = (int)scen_opt(ctx, "threads", 0), i, j, error;

	if ((pr = malloc(sizeof(*pr))) == NULL)
		return (ENOMEM);
	if (!scen_knob_set(ctx, "vm.batchqueue.size", batch) ||
	    !scen_knob_set(ctx, "vm.batchqueue.trylock", 0)) {
		free(pr);
		return (EINVAL);
	}
	error = pr_create(ctx, pr, total);
	pr->pr_via = (int)scen_opt(ctx, "via", 0);
	if (error == 0 && pr->pr_via == PR_VIA_MAP)
		error = pr_map(pr);
	if (error != 0) {
		pr_destroy(pr);
		free(pr);
		return (error);
	}
	pr->pr_ops = (uint64_t)scen_opt(ctx, "ops", 0);
	pr->pr_total = pr->pr_ops * (uint64_t)nthreads;
	pr->pr_nthreads = (uint32_t)nthreads;
	pr->pr_hot = (int)scen_opt(ctx, "hot", 0);
	pr->pr_writes = (int)scen_opt(ctx, "writes", 0);
	pr_snap(&a);
	for (i = 0; i < nthreads; i++) {
		pw[i].pw_run = pr;
		pw[i].pw_rs = ctx->sx_seed * 7919 + (uint64_t)i;
		if (kthread_create(pr_worker_main, &pw[i], i % md_ncpus(),
			KTHR_BOUND | KTHR_JOINABLE, &td[i], "pressure%d",
			i) != 0) {
			/* Those not started count as finished. */
			for (j = i; j < nthreads; j++)
				pr_worker_done(pr);
			nthreads = i;
			break;
		}
	}
	pr_progress_wait(ctx, pr, batch);
	for (i = 0; i < nthreads; i++)
		kthread_join(td[i]);
	pr_snap(&b);
	memset(pv, 0, sizeof(*pv));
	pv->pv_batch = batch;
	pr_diff(pv, &a, &b);
	pv->pv_touches = pr->pr_touches;
	pv->pv_touches_s = (double)pr->pr_touches / pv->pv_secs;
	pv->pv_bad = pr->pr_bad;
	pv->pv_errors = pr->pr_errors;
	pv->pv_eio = pr->pr_eio;
	/* Through mappings, failures out of memory are EFAULT too. */
	if (pr->pr_via == PR_VIA_MAP && pv->pv_oom != 0) {
		pv->pv_errors += pv->pv_eio;
		pv->pv_eio = 0;
	}
	pr_destroy(pr);
	free(pr);
	return (0);
}

#define PR_NFIELDS 19

/* Field f of a result: its label, key, value and whether a ratio. */
static double
pr_field(
    const struct pr_result *pv, int f, const char **label, const char **key)
{
	static const char *const labels[PR_NFIELDS] = { "touches/s",
		"page-outs", "page-ins", "daemon passes", "pages scanned",
		"laundering MB/s", "page-queue operations",
		"  lock acquisitions for them", "  acquisitions/operation",
		"scan page moves (batched by scans)",
		"all acquisitions/(ops + scan moves)",
		"page-queue lock contentions", "page-queue lock wait (us)",
		"integrity failures", "laundry write errors (retried)",
		"swap write errors", "swap read errors",
		"page-in errors returned to touches", "other touch errors" };
	static const char *const keys[PR_NFIELDS] = { "touches_per_s",
		"pageouts", "pageins", "passes", "scanned", "launder_mbps",
		"pq_ops", "pq_lock_acq", "pq_acq_per_op", "pq_scan_ops",
		"pq_all_acq_per_op", "pq_contentions", "pq_wait_us",
		"integrity_failures", "launder_errors", "swap_write_errors",
		"swap_read_errors", "pagein_errors", "touch_errors" };
	const double v[PR_NFIELDS] = { pv->pv_touches_s,
		(double)pv->pv_pageouts, (double)pv->pv_pageins,
		(double)pv->pv_passes, (double)pv->pv_scanned, pv->pv_mbps,
		(double)pv->pv_pq_ops, (double)pv->pv_pq_acq, pv->pv_acq_per_op,
		(double)pv->pv_pq_scan_ops, pv->pv_all_per_op,
		(double)pv->pv_cont, (double)pv->pv_wait_us, (double)pv->pv_bad,
		(double)pv->pv_launder_errors, (double)pv->pv_swap_werr,
		(double)pv->pv_swap_rerr, (double)pv->pv_eio,
		(double)pv->pv_errors };

	*label = labels[f];
	*key = keys[f];
	return (v[f]);
}

static void
pr_report(struct scen_ctx *ctx, const struct pr_result *pv, int n)
{
	const char *label, *key;
	char rkey[64];
	double v;
	int f, i;

	fprintf(ctx->sx_out, "\n  %-38s", "vm.batchqueue.size");
	for (i = 0; i < n; i++)
		fprintf(ctx->sx_out, " %14d", pv[i].pv_batch);
	fprintf(ctx->sx_out, "\n");
	for (f = 0; f < PR_NFIELDS; f++) {
		for (i = 0; i < n; i++) {
			v = pr_field(&pv[i], f, &label, &key);
			if (i == 0)
				fprintf(ctx->sx_out, "  %-38s", label);
			fprintf(ctx->sx_out,
			    f == 8 || f == 10 ? " %14.4f" : " %14.0f", v);
			snprintf(rkey, sizeof(rkey), "batch%d_%s",
			    pv[i].pv_batch, key);
			report_result(ctx, rkey, v, "");
		}
		fprintf(ctx->sx_out, "\n");
	}
	if (n >= 2 && pv[n - 1].pv_acq_per_op > 0)
		fprintf(ctx->sx_out,
		    "\n  batch %d vs %d: %.1fx fewer queue-lock acquisitions "
		    "per page-queue operation, %.1fx less queue-lock wait\n",
		    pv[n - 1].pv_batch, pv[0].pv_batch,
		    pv[0].pv_acq_per_op / pv[n - 1].pv_acq_per_op,
		    pv[n - 1].pv_wait_us > 0 ? (double)pv[0].pv_wait_us /
			    (double)pv[n - 1].pv_wait_us
					     : 0.0);
}

static void
pr_run(struct scen_ctx *ctx)
{
	struct pr_result pv[PR_MAXVARIANTS];
	uint64_t total, bad = 0, outs = 0, eio = 0;
	int nb = scen_opt_count(ctx, "batch"), i, error;

	total =
	    vm_page_count_total() * (uint64_t)scen_opt(ctx, "ratio", 0) / 100;
	fprintf(ctx->sx_out,
	    "\n  working set %llu MiB (%lld%% of %llu MiB memory) in %lld "
	    "objects (every 4th file-backed), swap %llu MiB, %lld threads x "
	    "%lld touches, %lld%% to the hot tenth, %lld%% writes, via "
	    "%s\n",
	    (unsigned long long)(ptoa(total) >> 20),
	    (long long)scen_opt(ctx, "ratio", 0),
	    (unsigned long long)(ptoa(vm_page_count_total()) >> 20),
	    (long long)scen_opt(ctx, "objects", 0),
	    (unsigned long long)(ptoa(vm_swap_total()) >> 20),
	    (long long)scen_opt(ctx, "threads", 0),
	    (long long)scen_opt(ctx, "ops", 0),
	    (long long)scen_opt(ctx, "hot", 0),
	    (long long)scen_opt(ctx, "writes", 0),
	    scen_opt(ctx, "via", 0) == PR_VIA_MAP
		? "mappings (mmap, copyin/copyout)"
		: "vm_fault_touch");
	for (i = 0; i < nb && i < PR_MAXVARIANTS; i++) {
		error = pr_variant(
		    ctx, (int)scen_opt(ctx, "batch", i), total, &pv[i]);
		scen_progress_end(ctx);
		if (error != 0) {
			fprintf(stderr, "pressure: %s\n", strerror(error));
			ctx->sx_failed = 1;
			return;
		}
		bad += pv[i].pv_bad;
		outs += pv[i].pv_pageouts;
		eio += pv[i].pv_eio;
		if (pv[i].pv_errors != 0)
			ctx->sx_failed = 1;
	}
	pr_report(ctx, pv, i);
	fprintf(ctx->sx_out,
	    "\n  %llu page-outs in all, %llu integrity failures, %llu touches "
	    "failed by page-in errors\n",
	    (unsigned long long)outs, (unsigned long long)bad,
	    (unsigned long long)eio);
	report_result(ctx, "pageouts_total", (double)outs, "");
	report_result(ctx, "integrity_failures_total", (double)bad, "");
	report_result(ctx, "pagein_errors_total", (double)eio, "");
	vm_pageout_pause();
	vm_pagequeue_drain_all();
	if (bad != 0 || vm_pagequeue_check(true) != 0 || vm_page_check() != 0 ||
	    vm_swap_check() != 0) {
		fprintf(stderr, "pressure: integrity or accounting failure\n");
		ctx->sx_failed = 1;
	}
	vm_pageout_resume();
}

static const char *const pr_via_words[] = { "touch", "map", NULL };

const struct scenario scen_pressure = {
	.sc_name = "pressure",
	.sc_descr = "working set larger than memory: page daemon, laundering, "
		    "page-ins, data integrity, batch queues off and on",
	.sc_opts = {
	    { "ratio", "working set, % of physical memory", "200", 10, 1000,
		false, NULL },
	    { "objects", "objects (every 4th is file-backed)", "4", 1,
		PR_MAXOBJ, false, NULL },
	    { "threads", "touching threads", "4", 1, PR_MAXTHREADS, false, NULL },
	    { "ops", "touches per thread", "400000", 1, INT64_MAX, false, NULL },
	    { "hot", "% of touches to the hot tenth of each object", "80", 0,
		100, false, NULL },
	    { "writes", "% of touches that write", "40", 0, 100, false, NULL },
	    { "batch", "vm.batchqueue.size of each variant", "0,31", 0,
		VM_BATCHQUEUE_MAX, true, NULL },
	    { "via", "how workers touch pages: touch (vm_fault_touch) or "
		     "map (mapped, copyin/copyout)",
		"touch", 0, 0, false, pr_via_words },
	},
	.sc_nopts = 8,
	.sc_tunables = NULL,
	.sc_run = pr_run,
	.sc_knobs = { { "vm.batchqueue.size", "batch" },
	    { "vm.batchqueue.trylock", NULL } },
};
