/*
 * test_vm_object.c: objects, the page daemon and the pagers, end to end.
 *
 *	- an anonymous working set of twice physical memory, written and read
 *	  back through vm_fault_touch(): every page keeps its contents
 *	  across page-outs and page-ins, the daemon frees and launders, and
 *	  the queue and page accounting hold after a quiesce;
 *	- the daemon brings the free count back to its target;
 *	- shadow chains: reads see the backing object, writes copy up and
 *	  leave the backing object unchanged, collapse folds the chain;
 *	- vnode objects: page-in reads the file, laundering writes it back;
 *	  a missing or short file is refused with a clear error;
 *	- phys objects: wired, unmanaged pages, never paged out;
 *	- injected swap write errors keep pages dirty and resident (retried,
 *	  nothing lost); injected swap read errors are returned to the
 *	  toucher and lose nothing (a retry reads the page); swap exhaustion is reported and ends in a clean
 *	  ENOMEM, after which freeing the object recovers everything.
 */
#include "kern/sleepq.h"
#include "kern/sysctl.h"
#include "kern/thread.h"
#include "vm/vm_fault.h"
#include "vm/vm_object.h"
#include "vm/vm_pageout.h"
#include "vm/vm_pagequeue.h"
#include "vm/vm_swap.h"
#include "vm_test.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OT_MEM (8ull << 20)

/* Page contents: (tag, pindex, generation) and words derived from them. */
struct ot_page_arg {
	uint64_t tag, gen;
	int bad;
};

static uint64_t
ot_word(uint64_t tag, vm_pindex_t pindex, uint64_t gen, int i)
{
	uint64_t x = tag * 0x9e3779b97f4a7c15ull ^
	    pindex * 0xbf58476d1ce4e5b9ull ^ gen * 0x94d049bb133111ebull ^
	    (uint64_t)i;

	x ^= x >> 31;
	return (x * 0xd6e8feb86659fd39ull);
}

static void
ot_write_fn(uint8_t *data, vm_pindex_t pindex, void *arg)
{
	struct ot_page_arg *pa = arg;
	uint64_t *w = (uint64_t *)data;
	int i;

	for (i = 0; i < (int)(PAGE_SIZE / 8); i += 8)
		w[i] = ot_word(pa->tag, pindex, pa->gen, i);
}

static void
ot_read_fn(uint8_t *data, vm_pindex_t pindex, void *arg)
{
	struct ot_page_arg *pa = arg;
	uint64_t *w = (uint64_t *)data;
	int i;

	for (i = 0; i < (int)(PAGE_SIZE / 8); i += 8)
		if (w[i] != ot_word(pa->tag, pindex, pa->gen, i)) {
			pa->bad++;
			return;
		}
}

static int
ot_write(struct vm_object *obj, vm_pindex_t i, uint64_t tag, uint64_t gen)
{
	struct ot_page_arg pa = { .tag = tag, .gen = gen };

	return (vm_fault_touch(obj, i, VM_TOUCH_WRITE, ot_write_fn, &pa));
}

/* 0 and *badp 0 when page i holds (tag, gen). */
static int
ot_read(
    struct vm_object *obj, vm_pindex_t i, uint64_t tag, uint64_t gen, int *badp)
{
	struct ot_page_arg pa = { .tag = tag, .gen = gen };
	int error = vm_fault_touch(obj, i, VM_TOUCH_READ, ot_read_fn, &pa);

	*badp += pa.bad;
	return (error);
}

static void
ot_quiesce_check(void)
{
	int nerr;

	vm_pageout_pause();
	vm_pagequeue_drain_all();
	nerr = vm_pagequeue_check(true);
	CHECKF(nerr == 0, "vm_pagequeue_check: %d violations", nerr);
	nerr = vm_page_check();
	CHECKF(nerr == 0, "vm_page_check: %d violations", nerr);
	nerr = vm_swap_check();
	CHECKF(nerr == 0, "vm_swap_check: %d violations", nerr);
	vm_pageout_resume();
}

/* Twice memory of anonymous pages, three generations, every read right. */
static void
ot_anon_fn(void *arg)
{
	vm_pindex_t n = atop(2 * OT_MEM), i;
	struct vm_object *obj = vm_object_allocate(OBJT_DEFAULT, n);
	uint64_t gen, out0 = vm_test_stat("vm.pageout.laundered");
	int bad = 0, error = 0, nerr;

	(void)arg;
	CHECK(obj != NULL);
	for (gen = 1; gen <= 2 && error == 0; gen++) {
		for (i = 0; i < n && error == 0; i++)
			error = ot_write(obj, i, 1, gen);
		for (i = 0; i < n && error == 0; i++)
			error = ot_read(obj, i, 1, gen, &bad);
	}
	CHECKF(error == 0, "touch: error %d", error);
	CHECKF(bad == 0, "%d pages read back wrong", bad);
	CHECKF(vm_test_stat("vm.pageout.laundered") - out0 >= n / 2,
	    "only %llu page-outs for %llu pages",
	    (unsigned long long)(vm_test_stat("vm.pageout.laundered") - out0),
	    (unsigned long long)n);
	CHECK(vm_test_stat("vm.stats.object.pageins") > 0);
	CHECK(obj->type == OBJT_SWAP);
	nerr = vm_object_check(obj);
	CHECKF(nerr == 0, "vm_object_check: %d", nerr);
	ot_quiesce_check();
	vm_object_deallocate(obj);
	CHECKF(vm_swap_used() == 0, "%llu swap blocks left after the object",
	    (unsigned long long)vm_swap_used());
	ot_quiesce_check();
}

static void
test_anon_pressure(void)
{
	static const char *const tun[] = { "vm.swap.size=64m", NULL };

	vm_test_boot(2, 1, OT_MEM, tun);
	test_run(ot_anon_fn, NULL);
	test_shutdown();
}

/* The daemon alone restores the free target after a burst. */
static void
ot_target_fn(void *arg)
{
	struct vm_domain *vmd = VM_DOMAIN(0);
	vm_pindex_t n = atop(OT_MEM), i;
	struct vm_object *obj = vm_object_allocate(OBJT_DEFAULT, n);
	uint64_t deadline;
	int error = 0;

	(void)arg;
	for (i = 0; i < n && error == 0; i++)
		error = ot_write(obj, i, 2, 1);
	CHECKF(error == 0, "touch: error %d", error);
	deadline = md_nanotime() + 10ull * 1000 * 1000 * 1000;
	while (vm_domain_free_count(vmd) < vmd->vmd_free_target &&
	    md_nanotime() < deadline) {
		vm_domain_pageout_wakeup(VM_DOMAIN(0));
		pause_ns("target", 1000 * 1000);
	}
	CHECKF(vm_domain_free_count(vmd) >= vmd->vmd_free_target,
	    "free %llu below target %llu",
	    (unsigned long long)vm_domain_free_count(vmd),
	    (unsigned long long)vmd->vmd_free_target);
	vm_object_deallocate(obj);
	ot_quiesce_check();
}

static void
test_daemon_target(void)
{
	static const char *const tun[] = { "vm.swap.size=32m", NULL };

	vm_test_boot(2, 1, OT_MEM, tun);
	test_run(ot_target_fn, NULL);
	test_shutdown();
}

/*
 * Every allocation path wakes the daemon as soon as it leaves the free
 * count below the wake-up threshold: not the object path alone, and not
 * the daemon's timers.  On the simulated machine the first pass must
 * start within 2 ms of virtual time (exact: no host noise; the daemon's
 * shortage retry is 5 ms, its idle timer 100 ms); on the host, a pass
 * must follow at all.
 */
#define OT_WAKE_UNIT 8 /* pages per bulk/contig allocation (block: 2^3) */

enum ot_path { OT_NOOBJ, OT_BULK, OT_BLOCK, OT_CONTIG, OT_NPATHS };

static const char *const ot_path_names[OT_NPATHS] = { "noobj", "bulk", "block",
	"contig" };

/* One allocation of `path' into ma[*np...]; false when none was had. */
static bool
ot_wake_alloc(enum ot_path path, struct vm_page **ma, int *np)
{
	struct vm_page *m;
	int got;

	switch (path) {
	case OT_NOOBJ:
		m = vm_page_alloc_noobj(VM_ALLOC_NORMAL);
		break;
	case OT_BULK:
		got =
		    vm_page_alloc_bulk(VM_ALLOC_NORMAL, &ma[*np], OT_WAKE_UNIT);
		*np += got;
		return (got > 0);
	case OT_BLOCK:
		m = vm_page_alloc_block(VM_ALLOC_NORMAL, 3);
		break;
	default:
		m = vm_page_alloc_contig(VM_ALLOC_NORMAL, OT_WAKE_UNIT, 0,
		    ~(vm_paddr_t)0, PAGE_SIZE, 0);
		break;
	}
	if (m != NULL)
		ma[(*np)++] = m;
	return (m != NULL);
}

static void
ot_wake_free(enum ot_path path, struct vm_page **ma, int n)
{
	int i;

	if (path == OT_BULK) {
		vm_page_free_bulk(ma, n);
		return;
	}
	for (i = 0; i < n; i++)
		if (path == OT_NOOBJ)
			vm_page_free(ma[i]);
		else if (path == OT_BLOCK)
			vm_page_free_block(ma[i], 3);
		else
			vm_page_free_contig(ma[i], OT_WAKE_UNIT);
}

static void
ot_wake_fn(void *arg)
{
	struct vm_domain *vmd = VM_DOMAIN(0);
	struct vm_page **ma = calloc(atop(OT_MEM), sizeof(*ma));
	uint64_t p0, t0, dt;
	int n, path;

	(void)arg;
	CHECK(ma != NULL);
	for (path = 0; path < OT_NPATHS && ma != NULL; path++) {
		n = 0;
		p0 = vm_test_stat("vm.pageout.passes");
		while (vm_domain_free_count(vmd) >=
			vmd->vmd_pageout_wakeup_thresh &&
		    ot_wake_alloc(path, ma, &n))
			;
		t0 = md_nanotime();
		while (vm_test_stat("vm.pageout.passes") == p0 &&
		    md_nanotime() - t0 < 1000 * 1000 * 1000)
			pause_ns("otwake", 20 * 1000);
		dt = md_nanotime() - t0;
		CHECKF(vm_test_stat("vm.pageout.passes") > p0,
		    "%s: no daemon pass (free %llu, threshold %llu)",
		    ot_path_names[path],
		    (unsigned long long)vm_domain_free_count(vmd),
		    (unsigned long long)vmd->vmd_pageout_wakeup_thresh);
		if (test_sim())
			CHECKF(dt < 2 * 1000 * 1000,
			    "%s: first pass %llu ns after the threshold",
			    ot_path_names[path], (unsigned long long)dt);
		ot_wake_free(path, ma, n);
	}
	free(ma);
}

static void
test_daemon_woken(void)
{
	vm_test_boot(2, 1, OT_MEM, NULL);
	test_run(ot_wake_fn, NULL);
	test_shutdown();
}

static void
ot_shadow_fn(void *arg)
{
	struct vm_object *a = vm_object_allocate(OBJT_DEFAULT, 64), *b;
	vm_pindex_t i;
	int bad = 0, nerr;

	(void)arg;
	for (i = 0; i < 64; i++)
		CHECK(ot_write(a, i, 3, 1) == 0);
	/* b shadows a; the test keeps its own reference on a. */
	vm_object_reference(a);
	b = a;
	CHECK(vm_object_shadow(&b, 0, 64) == 0);
	CHECK(vm_object_chain_length(b) == 2);
	for (i = 0; i < 64; i++)
		CHECK(ot_read(b, i, 3, 1, &bad) == 0);
	for (i = 0; i < 64; i += 2)
		CHECK(ot_write(b, i, 4, 1) == 0);
	for (i = 0; i < 64; i++) {
		CHECK(ot_read(a, i, 3, 1, &bad) == 0);
		CHECK(ot_read(b, i, i % 2 == 0 ? 4 : 3, 1, &bad) == 0);
	}
	CHECKF(bad == 0, "%d pages wrong before the collapse", bad);
	CHECK(b->resident_page_count == 32);
	/* Dropping ours leaves a referenced by b alone: it collapses. */
	vm_object_deallocate(a);
	CHECK(vm_object_chain_length(b) == 1);
	CHECK(b->resident_page_count == 64);
	for (i = 0; i < 64; i++)
		CHECK(ot_read(b, i, i % 2 == 0 ? 4 : 3, 1, &bad) == 0);
	CHECKF(bad == 0, "%d pages wrong after the collapse", bad);
	nerr = vm_object_check(b);
	CHECKF(nerr == 0, "vm_object_check: %d", nerr);
	CHECK(vm_test_stat("vm.stats.object.collapses") >= 1);
	CHECK(vm_test_stat("vm.stats.object.cow") >= 32);
	vm_object_deallocate(b);
	ot_quiesce_check();
}

static void
test_shadow_collapse(void)
{
	vm_test_boot(2, 1, OT_MEM, NULL);
	test_run(ot_shadow_fn, NULL);
	test_shutdown();
}

struct ot_vnode {
	char path[256];
	vm_pindex_t npages;
};

static void
ot_vnode_fn(void *arg)
{
	struct ot_vnode *ov = arg;
	struct vm_object *obj;
	char err[256], missing[300];
	vm_pindex_t i;
	int bad = 0, error;

	snprintf(missing, sizeof(missing), "%s.missing", ov->path);
	error = vm_object_vnode_open(missing, 0, &obj, err, sizeof(err));
	CHECKF(error == ENOENT, "missing file: error %d (%s)", error, err);
	error = vm_object_vnode_open(
	    ov->path, ov->npages + 1, &obj, err, sizeof(err));
	CHECKF(error == EFBIG && strstr(err, "short") != NULL,
	    "short file: error %d (%s)", error, err);
	error = vm_object_vnode_open(ov->path, 0, &obj, err, sizeof(err));
	CHECKF(error == 0, "open: %s", err);
	if (error != 0)
		return;
	CHECK(obj->size == ov->npages);
	for (i = 0; i < ov->npages; i++)
		CHECK(ot_read(obj, i, 5, 1, &bad) == 0);
	CHECKF(bad == 0, "%d file pages read wrong", bad);
	CHECK(vm_fault_touch(obj, ov->npages, VM_TOUCH_READ, ot_read_fn,
		  &(struct ot_page_arg) { 0 }) == EFAULT);
	for (i = 0; i < ov->npages; i++)
		CHECK(ot_write(obj, i, 5, 2) == 0);
	/* Twice memory: every written page has been written back. */
	for (i = 0; i < ov->npages; i++)
		CHECK(ot_read(obj, i, 5, 2, &bad) == 0);
	CHECKF(bad == 0, "%d file pages wrong after rewrite", bad);
	vm_object_deallocate(obj);
	ot_quiesce_check();
}

static void
test_vnode(void)
{
	struct ot_vnode ov;
	struct ot_page_arg pa = { .tag = 5, .gen = 1 };
	uint8_t *page = malloc(PAGE_SIZE);
	const char *dir = getenv("TMPDIR");
	vm_pindex_t i;
	uint64_t gen2 = 0;
	FILE *f;
	int bad = 0;

	ov.npages = atop(2 * OT_MEM);
	snprintf(ov.path, sizeof(ov.path), "%s/vmlab-vnode-%llx-%llx",
	    dir != NULL ? dir : "/tmp", (unsigned long long)test_seed(),
	    (unsigned long long)md_nanotime());
	f = fopen(ov.path, "w+b");
	CHECKF(f != NULL && page != NULL, "cannot create %s", ov.path);
	if (f == NULL || page == NULL)
		return;
	for (i = 0; i < ov.npages; i++) {
		ot_write_fn(page, i, &pa);
		CHECK(fwrite(page, PAGE_SIZE, 1, f) == 1);
	}
	fflush(f);
	vm_test_boot(2, 1, OT_MEM, NULL);
	test_run(ot_vnode_fn, &ov);
	test_shutdown();
	/* The file itself now holds generation 2. */
	pa.gen = 2;
	rewind(f);
	for (i = 0; i < ov.npages; i++) {
		if (fread(page, PAGE_SIZE, 1, f) != 1)
			break;
		pa.bad = 0;
		ot_read_fn(page, i, &pa);
		bad += pa.bad;
		gen2++;
	}
	CHECKF(gen2 == ov.npages && bad == 0,
	    "file: %llu pages read, %d not generation 2",
	    (unsigned long long)gen2, bad);
	fclose(f);
	remove(ov.path);
	free(page);
}

/* Every 3rd swap write fails: retried, nothing lost. */
static void
ot_ioerr_fn(void *arg)
{
	vm_pindex_t n = atop(2 * OT_MEM), i;
	struct vm_object *obj = vm_object_allocate(OBJT_DEFAULT, n);
	int bad = 0, error = 0;

	(void)arg;
	for (i = 0; i < n && error == 0; i++)
		error = ot_write(obj, i, 6, 1);
	for (i = 0; i < n && error == 0; i++)
		error = ot_read(obj, i, 6, 1, &bad);
	CHECKF(error == 0, "touch: error %d", error);
	CHECKF(bad == 0, "%d pages wrong with injected errors", bad);
	CHECK(vm_test_stat("vm.pageout.launder_errors") > 0);
	CHECK(vm_test_stat("vm.swap.write_errors") > 0);
	vm_object_deallocate(obj);
	ot_quiesce_check();
}

static void
test_io_errors(void)
{
	static const char *const tun[] = { "vm.swap.size=64m",
		"vm.swap.inject_write_errors=3", NULL };

	vm_test_boot(2, 1, OT_MEM, tun);
	test_run(ot_ioerr_fn, NULL);
	test_shutdown();
}

/*
 * Read errors: a failed page-in returns the error to the toucher and
 * keeps the swap copy (of the page and of its read-ahead pages), so a
 * later touch reads the data.  Every read fails first, then every third,
 * then none; every page keeps its contents throughout.
 */
static void
ot_rderr_fn(void *arg)
{
	vm_pindex_t n = atop(2 * OT_MEM), i;
	struct vm_object *obj = vm_object_allocate(OBJT_DEFAULT, n);
	uint64_t eio = 0, errs0 = vm_test_stat("vm.swap.read_errors");
	int bad = 0, error = 0, tries;

	(void)arg;
	for (i = 0; i < n && error == 0; i++)
		error = ot_write(obj, i, 10, 1);
	CHECKF(error == 0, "write: error %d", error);
	/* Every read fails: only resident pages can be touched. */
	vm_test_set("vm.swap.inject_write_errors", 0);
	vm_test_set("vm.swap.inject_read_errors", 1);
	for (i = 0; i < n; i++) {
		error = ot_read(obj, i, 10, 1, &bad);
		CHECKF(error == 0 || error == EIO, "page %llu: error %d",
		    (unsigned long long)i, error);
		eio += error == EIO;
	}
	CHECKF(eio > 0, "no page-in failed (%llu pages resident of %llu)",
	    (unsigned long long)obj->resident_page_count,
	    (unsigned long long)n);
	/* Every third read fails: a retry succeeds. */
	vm_test_set("vm.swap.inject_write_errors", 0);
	vm_test_set("vm.swap.inject_read_errors", 3);
	for (i = 0; i < n; i++) {
		tries = 0;
		do
			error = ot_read(obj, i, 10, 1, &bad);
		while (error == EIO && ++tries < 10);
		CHECKF(error == 0, "page %llu: error %d after %d tries",
		    (unsigned long long)i, error, tries);
	}
	CHECK(vm_test_stat("vm.stats.object.pagein_errors") >= eio);
	CHECK(vm_test_stat("vm.swap.read_errors") - errs0 >= eio);
	/* No errors: a write and read of every page, all contents right. */
	vm_test_set("vm.swap.inject_write_errors", 0);
	vm_test_set("vm.swap.inject_read_errors", 0);
	for (i = 0; i < n && error == 0; i++)
		error = ot_write(obj, i, 10, 2);
	for (i = 0; i < n && error == 0; i++)
		error = ot_read(obj, i, 10, 2, &bad);
	CHECKF(error == 0, "touch without errors: error %d", error);
	CHECKF(bad == 0, "%d pages wrong after read errors", bad);
	vm_object_deallocate(obj);
	ot_quiesce_check();
}

static void
test_read_errors(void)
{
	static const char *const tun[] = { "vm.swap.size=64m", NULL };

	vm_test_boot(2, 1, OT_MEM, tun);
	test_run(ot_rderr_fn, NULL);
	test_shutdown();
}

/* Memory + swap < working set: a clean ENOMEM, then full recovery. */
static void
ot_exhaust_fn(void *arg)
{
	vm_pindex_t n = atop(4 * OT_MEM), i;
	struct vm_object *obj = vm_object_allocate(OBJT_DEFAULT, n);
	uint64_t free0 = vm_page_free_count();
	int error = 0;

	(void)arg;
	for (i = 0; i < n && error == 0; i++)
		error = ot_write(obj, i, 7, 1);
	CHECKF(error == ENOMEM, "touch past memory + swap: error %d", error);
	CHECKF(vm_test_stat("vm.swap.exhausted") > 0,
	    "no exhaustion at page %llu: swap used %llu of %llu, laundry %llu "
	    "unswappable %llu laundered %llu",
	    (unsigned long long)i, (unsigned long long)vm_swap_used(),
	    (unsigned long long)vm_swap_total(),
	    (unsigned long long)vm_pagequeue_count(0, PQ_LAUNDRY),
	    (unsigned long long)vm_pagequeue_count(0, PQ_UNSWAPPABLE),
	    (unsigned long long)vm_test_stat("vm.pageout.laundered"));
	CHECK(vm_test_stat("vm.pageout.oom") > 0);
	vm_object_deallocate(obj);
	CHECK(vm_swap_used() == 0);
	ot_quiesce_check();
	CHECKF(vm_page_free_count() + vm_pgcache_count(0) >= free0 / 2,
	    "free %llu after recovery (was %llu)",
	    (unsigned long long)vm_page_free_count(),
	    (unsigned long long)free0);
}

static void
test_swap_exhaustion(void)
{
	static const char *const tun[] = { "vm.swap.size=8m",
		"vm.pageout.oom_seq=4", NULL };

	vm_test_boot(2, 1, OT_MEM, tun);
	test_run(ot_exhaust_fn, NULL);
	test_shutdown();
}

/* Phys objects: wired, unmanaged pages that the daemon never takes. */
static void
ot_phys_fn(void *arg)
{
	vm_pindex_t n = atop(OT_MEM) / 4, i;
	struct vm_object *phys = vm_object_allocate(OBJT_PHYS, n);
	struct vm_object *anon =
	    vm_object_allocate(OBJT_DEFAULT, atop(2 * OT_MEM));
	struct vm_page *m;
	int bad = 0, error = 0;

	(void)arg;
	for (i = 0; i < n; i++)
		CHECK(ot_write(phys, i, 8, 1) == 0);
	vm_object_lock(phys);
	for (i = 0; i < n; i++) {
		m = vm_page_lookup(phys, i);
		CHECK(m != NULL && m->wire_count == 1 &&
		    (m->oflags & VPO_UNMANAGED) != 0 &&
		    vm_page_astate_load(m).queue == PQ_NONE);
	}
	vm_object_unlock(phys);
	/* Pressure from another object pages none of them out. */
	for (i = 0; i < atop(2 * OT_MEM) && error == 0; i++)
		error = ot_write(anon, i, 9, 1);
	CHECKF(error == 0, "anon touch: error %d", error);
	CHECK(phys->resident_page_count == n);
	for (i = 0; i < n; i++)
		CHECK(ot_read(phys, i, 8, 1, &bad) == 0);
	CHECKF(bad == 0, "%d phys pages wrong", bad);
	vm_object_deallocate(anon);
	vm_object_deallocate(phys);
	ot_quiesce_check();
}

static void
test_phys_wired(void)
{
	static const char *const tun[] = { "vm.swap.size=64m", NULL };

	vm_test_boot(2, 1, OT_MEM, tun);
	test_run(ot_phys_fn, NULL);
	test_shutdown();
}

static const struct test_case cases[] = {
	TEST_CASE(test_phys_wired),
	TEST_CASE(test_shadow_collapse),
	TEST_CASE(test_anon_pressure),
	TEST_CASE(test_daemon_target),
	TEST_CASE(test_daemon_woken),
	TEST_CASE(test_vnode),
	TEST_CASE(test_io_errors),
	TEST_CASE(test_read_errors),
	TEST_CASE(test_swap_exhaustion),
};

int
main(int argc, char **argv)
{
	return (test_main(argc, argv, cases, TEST_NCASES(cases)));
}
