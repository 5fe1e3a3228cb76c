/*
 * test_vm_pagequeue.c: the page queues and their per-CPU batch queues.
 *
 *	- for each batch size (0, 7, 31, 63), requeueing pages takes the
 *	  queue lock exactly once per `size' operations (every operation
 *	  when 0), logical and physical state differ only for pages in the
 *	  batch, and after a drain they agree;
 *	- moves between queues, requeues to the head and tail, and deferred
 *	  dequeues leave each page on the list its word names;
 *	- a page freed while physically queued is not handed to the
 *	  allocator (it stays allocated, PG_FREE clear) until the batch that
 *	  dequeues it runs, and then it is free;
 *	- a scan's collect and reinsert keep the word and the lists in step,
 *	  and skip pages whose state changed in between.
 * The page daemon is off (vm.pageout.enable=0): the test owns the queues.
 */
#include "kern/thread.h"
#include "vm/vm_fault.h"
#include "vm/vm_object.h"
#include "vm/vm_pagequeue.h"
#include "vm_test.h"

#include <string.h>

#define PQT_PAGES 200

static const char *const pqt_tun[] = { "vm.pageout.enable=0", NULL };

static void
pqt_fill(uint8_t *data, vm_pindex_t pindex, void *arg)
{
	(void)arg;
	memcpy(data, &pindex, sizeof(pindex));
}

/* An object of n resident pages (on the active queue once drained). */
static struct vm_object *
pqt_object(vm_pindex_t n, struct vm_page **ma)
{
	struct vm_object *obj = vm_object_allocate(OBJT_DEFAULT, n);
	vm_pindex_t i;

	CHECK(obj != NULL);
	for (i = 0; i < n; i++)
		CHECK(vm_fault_touch(obj, i, VM_TOUCH_WRITE, pqt_fill, NULL) ==
		    0);
	vm_object_lock(obj);
	for (i = 0; i < n; i++)
		ma[i] = vm_page_lookup(obj, i);
	vm_object_unlock(obj);
	vm_pagequeue_drain_all();
	return (obj);
}

/* Pages whose word says `queue' and enqueued, and the list's length. */
static void
pqt_expect(int queue, uint64_t n)
{
	CHECKF(vm_pagequeue_count(0, queue) == n,
	    "queue %d holds %llu, not %llu", queue,
	    (unsigned long long)vm_pagequeue_count(0, queue),
	    (unsigned long long)n);
	CHECK(vm_pagequeue_check(true) == 0);
}

static void
pqt_batch_fn(void *arg)
{
	static const int sizes[] = { 0, 7, 31, 63 };
	struct vm_page *ma[PQT_PAGES];
	struct vm_object *obj = pqt_object(PQT_PAGES, ma);
	uint64_t ops0, acq0, ops, acq;
	int k, i, n;

	(void)arg;
	pqt_expect(PQ_ACTIVE, PQT_PAGES);
	for (k = 0; k < 4; k++) {
		vm_test_set("vm.batchqueue.size", sizes[k]);
		vm_test_set("vm.batchqueue.trylock", 0);
		ops0 = vm_pagequeue_ops();
		acq0 = vm_pagequeue_lock_acq_ops();
		n = sizes[k] == 0 ? 100 : 4 * sizes[k] + 3;
		vm_object_lock(obj);
		for (i = 0; i < n; i++)
			vm_page_requeue(ma[i % PQT_PAGES]);
		vm_object_unlock(obj);
		ops = vm_pagequeue_ops() - ops0;
		acq = vm_pagequeue_lock_acq_ops() - acq0;
		CHECKF(ops == (uint64_t)n, "size %d: %llu operations for %d",
		    sizes[k], (unsigned long long)ops, n);
		/* Full batches flush with the operation that overflows them. */
		CHECKF(acq ==
			(sizes[k] == 0 ? (uint64_t)n
				       : (uint64_t)(n / (sizes[k] + 1))),
		    "size %d: %llu lock acquisitions for %d operations",
		    sizes[k], (unsigned long long)acq, n);
		/* Pending entries: bounded, and resolved by a drain. */
		CHECK(vm_pagequeue_check(false) == 0);
		vm_pagequeue_drain_all();
		pqt_expect(PQ_ACTIVE, PQT_PAGES);
	}
	vm_object_deallocate(obj);
	vm_pagequeue_drain_all();
	pqt_expect(PQ_ACTIVE, 0);
}

static void
test_batch_sizes(void)
{
	vm_test_boot(1, 1, 16ull << 20, pqt_tun);
	test_run(pqt_batch_fn, NULL);
	test_shutdown();
}

static void
pqt_moves_fn(void *arg)
{
	struct vm_page *ma[PQT_PAGES], *m;
	struct vm_object *obj = pqt_object(PQT_PAGES, ma);
	int i;

	(void)arg;
	vm_test_set("vm.batchqueue.size", 31);
	vm_test_set("vm.batchqueue.trylock", 1);
	vm_object_lock(obj);
	for (i = 0; i < PQT_PAGES; i++) {
		switch (i % 4) {
		case 0:
			vm_page_deactivate(ma[i]);
			break;
		case 1:
			vm_page_launder(ma[i]);
			break;
		case 2:
			vm_page_unswappable(ma[i]);
			break;
		default:
			vm_page_dequeue_deferred(ma[i]);
			break;
		}
	}
	/* The head of inactive: ma[0] requeued there last. */
	vm_page_deactivate_noreuse(ma[0]);
	vm_object_unlock(obj);
	vm_pagequeue_drain_all();
	pqt_expect(PQ_INACTIVE, PQT_PAGES / 4);
	pqt_expect(PQ_LAUNDRY, PQT_PAGES / 4);
	pqt_expect(PQ_UNSWAPPABLE, PQT_PAGES / 4);
	pqt_expect(PQ_ACTIVE, 0);
	m = TAILQ_FIRST(&vm_pagequeue_get(0, PQ_INACTIVE)->pq_pl);
	CHECK(m == ma[0]);
	for (i = 3; i < PQT_PAGES; i += 4)
		CHECK(vm_page_astate_load(ma[i]).queue == PQ_NONE);
	/* Synchronous dequeue: off the list before it returns. */
	vm_object_lock(obj);
	vm_page_dequeue(ma[1]);
	vm_object_unlock(obj);
	CHECK(vm_page_astate_load(ma[1]).bits == (uint32_t)PQ_NONE << 16);
	pqt_expect(PQ_LAUNDRY, PQT_PAGES / 4 - 1);
	vm_object_deallocate(obj);
	vm_pagequeue_drain_all();
	CHECK(vm_pagequeue_check(true) == 0);
	CHECK(vm_page_check() == 0);
}

static void
test_moves(void)
{
	vm_test_boot(2, 1, 16ull << 20, pqt_tun);
	test_run(pqt_moves_fn, NULL);
	test_shutdown();
}

/* A page freed while physically queued is freed by its batch. */
static void
pqt_deferred_fn(void *arg)
{
	struct vm_page *ma[8], *m;
	struct vm_object *obj = pqt_object(8, ma);

	(void)arg;
	vm_test_set("vm.batchqueue.size", 63);
	vm_test_set("vm.batchqueue.trylock", 0);
	m = ma[5];
	CHECK((vm_page_astate_load(m).flags & PGA_ENQUEUED) != 0);
	vm_object_lock(obj);
	CHECK(vm_page_tryxbusy(m));
	vm_page_free_obj(m);
	vm_object_unlock(obj);
	/* Logically dequeued, physically still listed, not free. */
	CHECK((vm_page_astate_load(m).flags &
		  (PGA_DEQUEUE | PGA_FREE_DEFERRED | PGA_ENQUEUED)) ==
	    (PGA_DEQUEUE | PGA_FREE_DEFERRED | PGA_ENQUEUED));
	CHECK((m->flags & PG_FREE) == 0);
	CHECK(vm_page_check() == 0);
	vm_pagequeue_flush_local();
	CHECK((m->flags & PG_FREE) != 0);
	CHECK(vm_page_astate_load(m).queue == PQ_NONE);
	CHECK(vm_test_stat("vm.pagequeue.deferred_frees") == 1);
	pqt_expect(PQ_ACTIVE, 7);
	CHECK(vm_page_check() == 0);
	vm_object_deallocate(obj);
	vm_pagequeue_drain_all();
	CHECK(vm_page_check() == 0);
}

static void
test_deferred_free(void)
{
	vm_test_boot(1, 1, 16ull << 20, pqt_tun);
	test_run(pqt_deferred_fn, NULL);
	test_shutdown();
}

/* Collect and reinsert, with one page moved in between. */
static void
pqt_scan_fn(void *arg)
{
	struct vm_page *ma[16], *got[16], marker;
	struct vm_object *obj = pqt_object(16, ma);
	struct vm_pagequeue *pq = vm_pagequeue_get(0, PQ_ACTIVE);
	int n, i;

	(void)arg;
	vm_page_init_marker(&marker, PQ_ACTIVE);
	vm_pagequeue_lock(pq);
	TAILQ_INSERT_HEAD(&pq->pq_pl, &marker, plinks);
	n = vm_pagequeue_collect_locked(pq, &marker, got, 10);
	TAILQ_REMOVE(&pq->pq_pl, &marker, plinks);
	vm_pagequeue_unlock(pq);
	CHECK(n == 10);
	for (i = 0; i < n; i++)
		CHECK(vm_page_astate_load(got[i]).queue == PQ_ACTIVE &&
		    (vm_page_astate_load(got[i]).flags & PGA_ENQUEUED) == 0);
	CHECK(vm_pagequeue_count(0, PQ_ACTIVE) == 6);
	/* got[3] moves meanwhile: reinsertion must leave it alone. */
	vm_object_lock(obj);
	vm_page_deactivate(got[3]);
	vm_object_unlock(obj);
	vm_pagequeue_reinsert(pq, got, n);
	vm_pagequeue_drain_all();
	pqt_expect(PQ_ACTIVE, 15);
	pqt_expect(PQ_INACTIVE, 1);
	vm_object_deallocate(obj);
	vm_pagequeue_drain_all();
	CHECK(vm_pagequeue_check(true) == 0);
}

static void
test_scan_collect(void)
{
	vm_test_boot(1, 1, 16ull << 20, pqt_tun);
	test_run(pqt_scan_fn, NULL);
	test_shutdown();
}

static const struct test_case cases[] = {
	TEST_CASE(test_batch_sizes),
	TEST_CASE(test_moves),
	TEST_CASE(test_deferred_free),
	TEST_CASE(test_scan_collect),
};

int
main(int argc, char **argv)
{
	return (test_main(argc, argv, cases, TEST_NCASES(cases)));
}
