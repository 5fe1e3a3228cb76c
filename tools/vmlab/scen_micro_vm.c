/*
 * scen_micro_vm.c: the page allocator's rows of the micro scenario.
 *
 * micro_vm_rows() is called by scen_micro.c.  Each figure is the median of
 * 5 timed runs after one warm-up run, in nanoseconds per operation, with
 * the pattern of bench/pagealloc.c: allocate a batch of 64, free them all,
 * repeat.  Rows:
 *	page alloc+free, per-CPU caches on and off (vm.pgcache.enable);
 *	the same on two CPUs at once (time per pair on each CPU; with the
 *	    caches off both CPUs take the domain free lock for every page,
 *	    which the lock profile printed after the run shows as
 *	    "spin:vm domain free");
 *	bulk alloc+free of 64 pages, per page;
 *	2 MiB block (order 9) alloc+free;
 *	object page alloc+free through a superpage reservation;
 *	zone (uma) alloc+free of a 64-byte item, one pair at a time: a
 *	    per-CPU bucket hit (the fast path), and a miss to the slab
 *	    (a UMA_ZONE_NOBUCKET zone: keg lock and slab bitmap every time).
 */
#include "kern/thread.h"
#include "vm/uma.h"
#include "vm/vm_object.h"
#include "vm/vm_page.h"
#include "vm/vm_pgcache.h"
#include "vm/vm_reserv.h"
#include "vmlab_cli.h"

#include <stdlib.h>
#include <string.h>

#define MICRO_VM_RUNS 5
#define MICRO_VM_BATCH 64

enum micro_vm_op { MV_PAGE, MV_BULK, MV_BLOCK, MV_OBJECT, MV_ZONE };

struct micro_vm_arg {
	enum micro_vm_op mv_op;
	uint64_t mv_rounds; /* batches per timed run */
	uma_zone_t mv_zone; /* MV_ZONE */
};

/* One batch: allocate 64 of the kind, free them all. */
static __attribute__((noinline)) void
micro_vm_batch(enum micro_vm_op op, struct vm_object *obj, uma_zone_t zone)
{
	void *item;
	struct vm_page *ma[MICRO_VM_BATCH];
	int i, n = MICRO_VM_BATCH;

	switch (op) {
	case MV_PAGE:
		for (i = 0; i < n; i++)
			ma[i] = vm_page_alloc_noobj(0);
		for (i = 0; i < n; i++)
			vm_page_free(ma[i]);
		break;
	case MV_BULK:
		n = vm_page_alloc_bulk(0, ma, n);
		vm_page_free_bulk(ma, n);
		break;
	case MV_BLOCK:
		for (i = 0; i < n; i++)
			ma[i] = vm_page_alloc_block(0, VM_LEVEL_0_ORDER);
		for (i = 0; i < n; i++)
			if (ma[i] != NULL)
				vm_page_free_block(ma[i], VM_LEVEL_0_ORDER);
		break;
	case MV_OBJECT:
		for (i = 0; i < n; i++)
			ma[i] = vm_page_alloc(obj, (vm_pindex_t)i, 0);
		for (i = 0; i < n; i++)
			if (ma[i] != NULL)
				vm_page_free(ma[i]);
		break;
	case MV_ZONE:
		for (i = 0; i < n; i++) {
			item = uma_zalloc(zone, M_NOWAIT);
			uma_zfree(zone, item);
		}
		break;
	}
}

/* Runs mv_rounds batches. */
static void
micro_vm_loop(void *arg)
{
	struct micro_vm_arg *mv = arg;
	struct vm_object obj = { .size = VM_LEVEL_0_NPAGES, .flags = 0 };
	uint64_t r;

	for (r = 0; r < mv->mv_rounds; r++)
		micro_vm_batch(mv->mv_op, &obj, mv->mv_zone);
}

/* ns per operation of one run on `ncpus' CPUs at once (per CPU). */
static double
micro_vm_run(struct micro_vm_arg *mv, int ncpus)
{
	void *args[2] = { mv, mv };

	return ((double)micro_on_cpus(micro_vm_loop, args, ncpus) /
	    (double)(mv->mv_rounds * MICRO_VM_BATCH));
}

static double
micro_vm_measure(struct micro_vm_arg *mv, int ncpus)
{
	double v[MICRO_VM_RUNS];
	int r;

	(void)micro_vm_run(mv, ncpus);
	for (r = 0; r < MICRO_VM_RUNS; r++)
		v[r] = micro_vm_run(mv, ncpus);
	return (micro_median(v, MICRO_VM_RUNS));
}

static void
micro_vm_row(struct scen_ctx *ctx, const char *label, const char *key,
    struct micro_vm_arg *mv, int ncpus)
{
	double ns = micro_vm_measure(mv, ncpus);

	fprintf(ctx->sx_out, "  %-40s %10.1f\n", label, ns);
	report_result(ctx, key, ns, "ns");
}

/* The zone rows: a bucket hit, and a miss to the slab. */
static void
micro_zone_rows(struct scen_ctx *ctx, uint64_t pairs)
{
	struct micro_vm_arg mv = { .mv_op = MV_ZONE };

	mv.mv_rounds = pairs / MICRO_VM_BATCH;
	mv.mv_zone =
	    uma_zcreate("micro", 64, NULL, NULL, NULL, NULL, UMA_ALIGN_PTR, 0);
	if (mv.mv_zone != NULL) {
		micro_vm_row(ctx, "zone alloc+free (per-CPU bucket hit)",
		    "uma_bucket_hit", &mv, 1);
		uma_zdestroy(mv.mv_zone);
	}
	mv.mv_zone = uma_zcreate("micro nobucket", 64, NULL, NULL, NULL, NULL,
	    UMA_ALIGN_PTR, UMA_ZONE_NOBUCKET);
	if (mv.mv_zone != NULL) {
		micro_vm_row(ctx, "zone alloc+free (bucket miss, slab)",
		    "uma_slab", &mv, 1);
		uma_zdestroy(mv.mv_zone);
	}
}

void
micro_vm_rows(struct scen_ctx *ctx, uint64_t iters)
{
	struct micro_vm_arg mv = { .mv_op = MV_PAGE };
	int64_t cache = scen_knob_get("vm.pgcache.enable");
	uint64_t pairs =
	    iters / 2 > MICRO_VM_BATCH ? iters / 2 : MICRO_VM_BATCH;

	mv.mv_rounds = pairs / MICRO_VM_BATCH;
	(void)scen_knob_set(ctx, "vm.pgcache.enable", 1);
	micro_vm_row(
	    ctx, "page alloc+free, pgcache on", "vm_page_pgcache", &mv, 1);
	if (md_ncpus() >= 2)
		micro_vm_row(ctx, "page alloc+free, pgcache on, 2 CPUs",
		    "vm_page_pgcache_2cpu", &mv, 2);
	mv.mv_op = MV_BULK;
	micro_vm_row(
	    ctx, "page bulk alloc+free (64), per page", "vm_page_bulk", &mv, 1);
	(void)scen_knob_set(ctx, "vm.pgcache.enable", 0);
	mv.mv_op = MV_PAGE;
	mv.mv_rounds = (pairs / 10 + MICRO_VM_BATCH - 1) / MICRO_VM_BATCH;
	micro_vm_row(
	    ctx, "page alloc+free, pgcache off", "vm_page_nocache", &mv, 1);
	if (md_ncpus() >= 2)
		micro_vm_row(ctx, "page alloc+free, pgcache off, 2 CPUs",
		    "vm_page_nocache_2cpu", &mv, 2);
	(void)scen_knob_set(ctx, "vm.pgcache.enable", cache);
	mv.mv_op = MV_BLOCK;
	micro_vm_row(
	    ctx, "2 MiB block (order 9) alloc+free", "vm_block_2m", &mv, 1);
	mv.mv_op = MV_OBJECT;
	micro_vm_row(ctx, "object page alloc+free (reservation)",
	    "vm_page_object", &mv, 1);
	micro_zone_rows(ctx, pairs);
}
