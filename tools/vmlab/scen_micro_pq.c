/*
 * scen_micro_pq.c: the page-queue rows of the micro scenario.
 *
 * micro_pq_rows() is called by scen_micro.c.  Each CPU taking part owns an
 * object of 256 resident pages on the active queue and, with the object
 * locked, requeues them round-robin (vm_page_requeue: the operation the
 * page daemon and the fault path do most).  Rows, for vm.batchqueue.size 0
 * (every operation takes the queue lock), 7, 31 and 63, on one CPU and on
 * every CPU at once (they share the domain's active queue and its lock):
 * nanoseconds per operation (median of 5 timed runs after a warm-up), and
 * queue-lock acquisitions per operation and queue-lock wait of the last
 * run.
 */
#include "kern/thread.h"
#include "vm/vm_fault.h"
#include "vm/vm_object.h"
#include "vm/vm_page.h"
#include "vm/vm_pagequeue.h"
#include "vmlab_cli.h"

#include <stdlib.h>
#include <string.h>

#define MICRO_PQ_RUNS 5
#define MICRO_PQ_PAGES 256

struct micro_pq_arg {
	struct vm_object *mp_obj;
	struct vm_page *mp_pages[MICRO_PQ_PAGES];
	uint64_t mp_ops;
};

static void
micro_pq_fill(uint8_t *data, vm_pindex_t pindex, void *arg)
{
	(void)arg;
	memcpy(data, &pindex, sizeof(pindex));
}

/* An object of MICRO_PQ_PAGES resident pages; NULL if out of memory. */
static struct vm_object *
micro_pq_object(struct micro_pq_arg *mp)
{
	struct vm_object *obj =
	    vm_object_allocate(OBJT_DEFAULT, MICRO_PQ_PAGES);
	vm_pindex_t i;

	if (obj == NULL)
		return (NULL);
	for (i = 0; i < MICRO_PQ_PAGES; i++)
		if (vm_fault_touch(
			obj, i, VM_TOUCH_WRITE, micro_pq_fill, NULL) != 0) {
			vm_object_deallocate(obj);
			return (NULL);
		}
	vm_object_lock(obj);
	for (i = 0; i < MICRO_PQ_PAGES; i++)
		mp->mp_pages[i] = vm_page_lookup(obj, i);
	vm_object_unlock(obj);
	return (obj);
}

static void
micro_pq_loop(void *arg)
{
	struct micro_pq_arg *mp = arg;
	uint64_t i;

	vm_object_lock(mp->mp_obj);
	for (i = 0; i < mp->mp_ops; i++)
		vm_page_requeue(mp->mp_pages[i % MICRO_PQ_PAGES]);
	vm_object_unlock(mp->mp_obj);
}

/* One run on `ncpus' CPUs; ns per operation (the slowest CPU's). */
static double
micro_pq_run(struct micro_pq_arg *mp, int ncpus)
{
	void *args[MICRO_MAXCPUS];
	int i;

	for (i = 0; i < ncpus; i++)
		args[i] = &mp[i];
	return ((double)micro_on_cpus(micro_pq_loop, args, ncpus) /
	    (double)mp[0].mp_ops);
}

static void
micro_pq_row(
    struct scen_ctx *ctx, struct micro_pq_arg *mp, int ncpus, int batch)
{
	double v[MICRO_PQ_RUNS], acq, ns;
	uint64_t ops0, acq0, w0, w1, c0, c1;
	char label[96], key[64];
	int r;

	if (!scen_knob_set(ctx, "vm.batchqueue.size", batch) ||
	    !scen_knob_set(ctx, "vm.batchqueue.trylock", 0))
		return;
	(void)micro_pq_run(mp, ncpus);
	for (r = 0; r < MICRO_PQ_RUNS; r++) {
		vm_pagequeue_drain_all();
		ops0 = vm_pagequeue_ops();
		acq0 = vm_pagequeue_lock_acq_ops();
		pqstat_lock_wait(&w0, &c0);
		v[r] = micro_pq_run(mp, ncpus);
	}
	pqstat_lock_wait(&w1, &c1);
	ns = micro_median(v, MICRO_PQ_RUNS);
	acq = (double)(vm_pagequeue_lock_acq_ops() - acq0) /
	    (double)(vm_pagequeue_ops() - ops0);
	snprintf(label, sizeof(label), "page requeue, batch %2d, %d CPU%s",
	    batch, ncpus, ncpus > 1 ? "s" : "");
	fprintf(ctx->sx_out,
	    "  %-40s %10.1f   (%.4f lock acq/op, %llu us "
	    "queue-lock wait)\n",
	    label, ns, acq, (unsigned long long)((w1 - w0) / 1000));
	snprintf(key, sizeof(key), "pq_requeue_b%d_%dcpu", batch, ncpus);
	report_result(ctx, key, ns, "ns");
	snprintf(
	    key, sizeof(key), "pq_requeue_b%d_%dcpu_acq_per_op", batch, ncpus);
	report_result(ctx, key, acq, "");
	snprintf(
	    key, sizeof(key), "pq_requeue_b%d_%dcpu_wait_us", batch, ncpus);
	report_result(ctx, key, (double)((w1 - w0) / 1000), "us");
}

void
micro_pq_rows(struct scen_ctx *ctx, uint64_t iters)
{
	static const int batches[] = { 0, 7, 31, 63 };
	struct micro_pq_arg *mp;
	int ncpus = md_ncpus() < MICRO_MAXCPUS ? md_ncpus() : MICRO_MAXCPUS;
	int64_t was = scen_knob_get("vm.batchqueue.size");
	int64_t wastry = scen_knob_get("vm.batchqueue.trylock");
	int i, b;

	if ((mp = calloc((size_t)ncpus, sizeof(*mp))) == NULL)
		return;
	for (i = 0; i < ncpus; i++) {
		mp[i].mp_ops =
		    iters / 4 > MICRO_PQ_PAGES ? iters / 4 : MICRO_PQ_PAGES;
		if ((mp[i].mp_obj = micro_pq_object(&mp[i])) == NULL) {
			fprintf(stderr,
			    "micro: no memory for the page-queue "
			    "rows\n");
			ncpus = i;
			goto out;
		}
	}
	for (b = 0; b < 4; b++) {
		micro_pq_row(ctx, mp, 1, batches[b]);
		if (ncpus > 1)
			micro_pq_row(ctx, mp, ncpus, batches[b]);
	}
out:
	(void)scen_knob_set(ctx, "vm.batchqueue.size", was);
	(void)scen_knob_set(ctx, "vm.batchqueue.trylock", wastry);
	for (i = 0; i < ncpus; i++)
		vm_object_deallocate(mp[i].mp_obj);
	free(mp);
}
