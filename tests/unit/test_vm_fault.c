/*
 * test_vm_fault.c: faults, copy-on-write, vmspaces and kernel memory,
 * through the software MMU (every access is a uload/ustore/copyin/copyout).
 *
 * Cases:
 *	anon:	  zero fill, write/read back, mprotect, munmap, and the
 *		  pmap and map checkers after each step;
 *	cow:	  after fork, writes of parent and child are visible only to
 *		  the writer;
 *	chain:	  a fork chain of depth 10, each level writing one page: every
 *		  level reads what it should; as the ancestors exit the
 *		  descendant's shadow chain collapses to one object;
 *	isolate:  16 vmspaces under random writes, reads, remaps and forks
 *		  (two threads, memory a quarter of the working set, so the
 *		  page daemon unmaps, launders and frees under them): every
 *		  read returns what that vmspace last wrote, or zero (a page
 *		  reaching another vmspace is zeroed first);
 *	pressure: one vmspace writes twice memory through mappings and reads
 *		  it back (unmapping, laundering, faulting back in);
 *	exec:	  an image's text is shared read-only, its data private
 *		  copy-on-write (the file keeps its contents), bss and stack
 *		  zero-fill, the stack's guard page faults; a fault on text
 *		  maps the resident pages around it (prefault);
 *	kmem:	  vm.kmem.bulk_remove=1 frees with one shootdown per call, 0
 *		  with one per page;
 *	superpage: faults that fill a reservation are promoted to a 2 MiB
 *		  mapping, and an mprotect of one page demotes it;
 *	badaddr:  bad addresses and sizes return errors, never crash.
 */
#include "harness.h"
#include "kern/thread.h"
#include "pmap/pmap.h"
#include "vm/vm_kern.h"
#include "vm/vm_map.h"
#include "vm/vm_object.h"
#include "vm/vm_page.h"
#include "vm/vm_uaccess.h"
#include "vm_test.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VF_MEM (8ull << 20)

/* The value a vmspace `owner' writes at page i, version v. */
static uint64_t
vf_tag(uint64_t owner, uint64_t i, uint64_t v)
{
	return ((owner << 48) ^ (i << 20) ^ v ^ 0x5a5a000000000001ull);
}

/* Both checkers over vm; counts their violations as failures. */
static void
vf_check(struct vmspace *vm)
{
	int n;

	n = pmap_check(vmspace_pmap(vm));
	CHECKF(n == 0, "pmap_check: %d violations", n);
	vm_map_lock_read(&vm->vm_map);
	n = vm_map_check(&vm->vm_map);
	vm_map_unlock_read(&vm->vm_map);
	CHECKF(n == 0, "vm_map_check: %d violations", n);
}

static vm_offset_t
vf_mmap_anon(struct vmspace *vm, vm_offset_t npages)
{
	vm_offset_t va = 0;
	int error;

	error = vm_mmap(&vm->vm_map, &va, ptoa(npages), VM_PROT_RW, VM_PROT_ALL,
	    MAP_ANON | MAP_PRIVATE, NULL, 0);
	CHECKF(error == 0, "mmap of %llu pages: %d", (unsigned long long)npages,
	    error);
	return (error == 0 ? va : 0);
}

static uint64_t
vf_load(vm_offset_t va, int *errorp)
{
	uint64_t v = ~0ull;

	*errorp = uload(va, 8, &v);
	return (v);
}

/*
 * anon.
 */
static void
vf_anon_fn(void *arg)
{
	struct vmspace *vm = vmspace_alloc();
	vm_offset_t va, i, n = 64;
	uint64_t v;
	int error, bad = 0;

	(void)arg;
	CHECK(vm != NULL);
	if (vm == NULL)
		return;
	vmspace_switch(vm);
	va = vf_mmap_anon(vm, n);
	for (i = 0; i < n; i++) {
		v = vf_load(va + ptoa(i) + 8, &error);
		bad += error != 0 || v != 0;
	}
	CHECKF(bad == 0, "%d fresh pages not zero", bad);
	for (i = 0; i < n; i++)
		CHECK(ustore(va + ptoa(i), 8, vf_tag(1, i, 1)) == 0);
	for (i = 0; i < n; i++) {
		v = vf_load(va + ptoa(i), &error);
		bad += error != 0 || v != vf_tag(1, i, 1);
	}
	CHECKF(bad == 0, "%d pages read back wrong", bad);
	CHECK(vmspace_pmap(vm)->pm_stats.resident_count == n);
	vf_check(vm);
	/* Read-only: loads work, stores fault for good. */
	CHECK(vm_mprotect(&vm->vm_map, va, ptoa(n), VM_PROT_READ) == 0);
	CHECK(ustore(va + ptoa(3), 8, 7) == EFAULT);
	CHECK(vf_load(va + ptoa(3), &error) == vf_tag(1, 3, 1) && error == 0);
	vf_check(vm);
	CHECK(vm_mprotect(&vm->vm_map, va, ptoa(n), VM_PROT_RW) == 0);
	CHECK(ustore(va + ptoa(3), 8, 7) == 0);
	/* Unmapped half: faults; the other half keeps its data. */
	CHECK(vm_munmap(&vm->vm_map, va, ptoa(n / 2)) == 0);
	(void)vf_load(va, &error);
	CHECK(error == EFAULT);
	CHECK(vf_load(va + ptoa(n - 1), &error) == vf_tag(1, n - 1, 1));
	CHECK(vmspace_pmap(vm)->pm_stats.resident_count == n / 2);
	vf_check(vm);
	vmspace_switch(NULL);
	vmspace_free(vm);
	CHECK(vm_test_stat("vm.pmap.pv_entries") == 0);
}

static void
test_anon(void)
{
	vm_test_boot(2, 1, VF_MEM, NULL);
	test_run(vf_anon_fn, NULL);
	test_shutdown();
}

/*
 * cow.
 */
static void
vf_cow_fn(void *arg)
{
	struct vmspace *p = vmspace_alloc(), *c;
	vm_offset_t va, i, n = 32;
	uint64_t cow0 = vm_test_stat("vm.stats.object.cow"), v, want;
	int error, bad = 0;

	(void)arg;
	CHECK(p != NULL);
	if (p == NULL)
		return;
	vmspace_switch(p);
	va = vf_mmap_anon(p, n);
	for (i = 0; i < n; i++)
		CHECK(ustore(va + ptoa(i), 8, vf_tag(1, i, 1)) == 0);
	c = vmspace_fork(p);
	CHECK(c != NULL);
	if (c == NULL)
		goto out;
	vf_check(p);
	vf_check(c);
	/* The child sees the parent's data and writes the even pages. */
	vmspace_switch(c);
	for (i = 0; i < n; i++)
		bad += vf_load(va + ptoa(i), &error) != vf_tag(1, i, 1);
	for (i = 0; i < n; i += 2)
		CHECK(ustore(va + ptoa(i), 8, vf_tag(2, i, 1)) == 0);
	/* The parent sees none of it and writes every third page. */
	vmspace_switch(p);
	for (i = 0; i < n; i++)
		bad += vf_load(va + ptoa(i), &error) != vf_tag(1, i, 1);
	for (i = 0; i < n; i += 3)
		CHECK(ustore(va + ptoa(i), 8, vf_tag(1, i, 2)) == 0);
	vmspace_switch(c);
	for (i = 0; i < n; i++) {
		want = i % 2 == 0 ? vf_tag(2, i, 1) : vf_tag(1, i, 1);
		bad += vf_load(va + ptoa(i), &error) != want;
	}
	vmspace_switch(p);
	for (i = 0; i < n; i++) {
		want = i % 3 == 0 ? vf_tag(1, i, 2) : vf_tag(1, i, 1);
		v = vf_load(va + ptoa(i), &error);
		bad += v != want;
	}
	CHECKF(bad == 0, "%d reads saw another vmspace's write", bad);
	CHECKF(vm_test_stat("vm.stats.object.cow") - cow0 >= n / 2,
	    "only %llu copies",
	    (unsigned long long)(vm_test_stat("vm.stats.object.cow") - cow0));
	vf_check(p);
	vf_check(c);
	vmspace_free(c);
out:
	vmspace_switch(NULL);
	vmspace_free(p);
}

static void
test_cow(void)
{
	vm_test_boot(2, 1, VF_MEM, NULL);
	test_run(vf_cow_fn, NULL);
	test_shutdown();
}

/*
 * chain.
 */
#define VF_DEPTH 10
#define VF_CHAIN_PAGES 16

/* What level d reads at page i: level k >= 1 wrote page k only. */
static uint64_t
vf_chain_want(int d, vm_offset_t i)
{
	return (i >= 1 && (int)i <= d ? vf_tag((uint64_t)i, i, 7)
				      : vf_tag(0, i, 7));
}

static int
vf_chain_length(struct vmspace *vm, vm_offset_t va)
{
	struct vm_map_entry *e;
	struct vm_object *obj;

	vm_map_lock_read(&vm->vm_map);
	e = vm_map_lookup_entry(&vm->vm_map, va);
	obj = e != NULL ? e->object : NULL;
	if (obj != NULL)
		vm_object_reference(obj);
	vm_map_unlock_read(&vm->vm_map);
	if (obj == NULL)
		return (0);
	int n = vm_object_chain_length(obj);
	vm_object_deallocate(obj);
	return (n);
}

static void
vf_chain_fn(void *arg)
{
	struct vmspace *v[VF_DEPTH + 1];
	vm_offset_t va, i;
	int d, error, bad = 0, len;

	(void)arg;
	memset(v, 0, sizeof(v));
	v[0] = vmspace_alloc();
	CHECK(v[0] != NULL);
	if (v[0] == NULL)
		return;
	vmspace_switch(v[0]);
	va = vf_mmap_anon(v[0], VF_CHAIN_PAGES);
	for (i = 0; i < VF_CHAIN_PAGES; i++)
		CHECK(ustore(va + ptoa(i), 8, vf_tag(0, i, 7)) == 0);
	for (d = 1; d <= VF_DEPTH; d++) {
		v[d] = vmspace_fork(v[d - 1]);
		CHECK(v[d] != NULL);
		if (v[d] == NULL)
			break;
		vmspace_switch(v[d]);
		CHECK(ustore(va + ptoa((vm_offset_t)d), 8,
			  vf_tag((uint64_t)d, (uint64_t)d, 7)) == 0);
	}
	for (d = 0; d <= VF_DEPTH && v[d] != NULL; d++) {
		vmspace_switch(v[d]);
		for (i = 0; i < VF_CHAIN_PAGES; i++)
			bad += vf_load(va + ptoa(i), &error) !=
			    vf_chain_want(d, i);
		vf_check(v[d]);
	}
	CHECKF(bad == 0, "%d reads wrong along the chain", bad);
	if (v[VF_DEPTH] == NULL)
		goto out;
	len = vf_chain_length(v[VF_DEPTH], va);
	CHECKF(
	    len >= VF_DEPTH, "chain of %d objects at depth %d", len, VF_DEPTH);
	/* The ancestors exit; the descendant's chain folds up. */
	vmspace_switch(v[VF_DEPTH]);
	for (d = 0; d < VF_DEPTH; d++) {
		vmspace_free(v[d]);
		v[d] = NULL;
	}
	len = vf_chain_length(v[VF_DEPTH], va);
	CHECKF(len <= 2, "chain of %d objects after the ancestors exited", len);
	for (i = 0; i < VF_CHAIN_PAGES; i++)
		bad +=
		    vf_load(va + ptoa(i), &error) != vf_chain_want(VF_DEPTH, i);
	CHECKF(bad == 0, "%d reads wrong after the collapse", bad);
	vf_check(v[VF_DEPTH]);
out:
	vmspace_switch(NULL);
	for (d = 0; d <= VF_DEPTH; d++)
		if (v[d] != NULL)
			vmspace_free(v[d]);
}

static void
test_chain(void)
{
	vm_test_boot(2, 1, VF_MEM, NULL);
	test_run(vf_chain_fn, NULL);
	test_shutdown();
}

/*
 * isolate.  Two threads, each with 8 vmspaces of VF_ISO_PAGES pages at
 * the same address, and a model of what each page of each must hold.
 */
#define VF_ISO_SPACES 8 /* per thread */
#define VF_ISO_PAGES 64
#define VF_ISO_THREADS 2

struct vf_iso {
	struct vmspace *vm[VF_ISO_SPACES];
	uint64_t want[VF_ISO_SPACES][VF_ISO_PAGES];
	vm_offset_t va;
	uint64_t seed;
	uint64_t ops;
	int id;
	int bad, errors;
};

static void
vf_iso_read(struct vf_iso *fi, int k, vm_offset_t i)
{
	uint64_t v;
	int error;

	v = vf_load(fi->va + ptoa(i), &error);
	if (error != 0) {
		if (fi->errors++ < 3)
			printf("isolate: thread %d space %d page %llu: error "
			       "%d\n",
			    fi->id, k, (unsigned long long)i, error);
		return;
	}
	if (v != fi->want[k][i] && fi->bad++ < 5)
		printf("isolate: thread %d space %d page %llu holds %#llx, "
		       "expected %#llx\n",
		    fi->id, k, (unsigned long long)i, (unsigned long long)v,
		    (unsigned long long)fi->want[k][i]);
}

/* One random operation on vmspace k. */
static void
vf_iso_op(struct vf_iso *fi, int k, uint64_t r, uint64_t op)
{
	vm_offset_t i = (r >> 8) % VF_ISO_PAGES, j, n;
	struct vmspace *c;
	int src;

	vmspace_switch(fi->vm[k]);
	switch (r % 16) {
	default: /* write */
		fi->want[k][i] = vf_tag((uint64_t)(fi->id * 64 + k), i, op);
		CHECK(ustore(fi->va + ptoa(i), 8, fi->want[k][i]) == 0);
		break;
	case 8:
	case 9:
	case 10:
	case 11:
	case 12:
		vf_iso_read(fi, k, i);
		break;
	case 13: /* a fresh mapping over a range: zeros */
		n = 1 + (r >> 20) % 8;
		if (i + n > VF_ISO_PAGES)
			n = VF_ISO_PAGES - i;
		CHECK(vm_mmap(&fi->vm[k]->vm_map,
			  &(vm_offset_t) { fi->va + ptoa(i) }, ptoa(n),
			  VM_PROT_RW, VM_PROT_ALL,
			  MAP_ANON | MAP_PRIVATE | MAP_FIXED, NULL, 0) == 0);
		for (j = i; j < i + n; j++)
			fi->want[k][j] = 0;
		break;
	case 14: /* vmspace k becomes a fork of another */
		src = (int)((r >> 24) % VF_ISO_SPACES);
		if (src == k)
			break;
		c = vmspace_fork(fi->vm[src]);
		CHECK(c != NULL);
		if (c == NULL)
			break;
		vmspace_switch(c);
		vmspace_free(fi->vm[k]);
		fi->vm[k] = c;
		memcpy(fi->want[k], fi->want[src], sizeof(fi->want[k]));
		break;
	case 15: /* check all of it */
		for (j = 0; j < VF_ISO_PAGES; j++)
			vf_iso_read(fi, k, j);
		break;
	}
}

static void
vf_iso_thread(void *arg)
{
	struct vf_iso *fi = arg;
	uint64_t rs = fi->seed, op, r;
	vm_offset_t va;
	int k;

	for (k = 0; k < VF_ISO_SPACES; k++) {
		fi->vm[k] = vmspace_alloc();
		CHECK(fi->vm[k] != NULL);
		if (fi->vm[k] == NULL)
			return;
		va = 0;
		CHECK(vm_mmap(&fi->vm[k]->vm_map, &va, ptoa(VF_ISO_PAGES),
			  VM_PROT_RW, VM_PROT_ALL, MAP_ANON | MAP_PRIVATE, NULL,
			  0) == 0);
		/* Every vmspace maps its region at the same address. */
		CHECK(k == 0 || va == fi->va);
		fi->va = va;
	}
	for (op = 1; op <= fi->ops; op++) {
		r = test_rand(&rs);
		vf_iso_op(fi, (int)((r >> 32) % VF_ISO_SPACES), r, op);
	}
	for (k = 0; k < VF_ISO_SPACES; k++) {
		vmspace_switch(fi->vm[k]);
		for (va = 0; va < VF_ISO_PAGES; va++)
			vf_iso_read(fi, k, va);
		vf_check(fi->vm[k]);
	}
	vmspace_switch(NULL);
	for (k = 0; k < VF_ISO_SPACES; k++)
		vmspace_free(fi->vm[k]);
}

static void
vf_isolate_fn(void *arg)
{
	struct vf_iso *fi = arg;
	struct thread *td[VF_ISO_THREADS];
	int t;

	for (t = 0; t < VF_ISO_THREADS; t++)
		CHECK(kthread_create(vf_iso_thread, &fi[t], t % md_ncpus(),
			  KTHR_JOINABLE, &td[t], "iso%d", t) == 0);
	for (t = 0; t < VF_ISO_THREADS; t++)
		kthread_join(td[t]);
	CHECK(vm_test_stat("vm.pmap.pv_entries") == 0);
}

static void
test_isolate(void)
{
	static const char *const tun[] = { "vm.swap.size=32m", NULL };
	struct vf_iso *fi = calloc(VF_ISO_THREADS, sizeof(*fi));
	int t, bad = 0, errors = 0;

	CHECK(fi != NULL);
	if (fi == NULL)
		return;
	/* 16 x 64 pages (4 MiB) of data in 2 MiB of memory. */
	vm_test_boot(2, 1, 2ull << 20, tun);
	for (t = 0; t < VF_ISO_THREADS; t++) {
		fi[t].id = t;
		fi[t].seed = test_seed() + (uint64_t)t * 7919;
		fi[t].ops = vm_test_size(6000, 1500);
	}
	test_run(vf_isolate_fn, fi);
	for (t = 0; t < VF_ISO_THREADS; t++) {
		bad += fi[t].bad;
		errors += fi[t].errors;
	}
	CHECKF(bad == 0 && errors == 0,
	    "%d reads saw data not their vmspace's, %d errors", bad, errors);
	CHECKF(vm_test_stat("vm.pageout.unmapped") > 0,
	    "the page daemon never unmapped a page");
	test_shutdown();
	free(fi);
}

/*
 * pressure.
 */
static void
vf_pressure_fn(void *arg)
{
	struct vmspace *vm = vmspace_alloc();
	vm_offset_t va, i, n = atop(2 * VF_MEM);
	int error, bad = 0, round;

	(void)arg;
	CHECK(vm != NULL);
	if (vm == NULL)
		return;
	vmspace_switch(vm);
	va = vf_mmap_anon(vm, n);
	for (round = 1; round <= 2; round++) {
		for (i = 0; i < n; i++)
			CHECK(ustore(va + ptoa(i) + 16, 8,
				  vf_tag(3, i, (uint64_t)round)) == 0);
		for (i = 0; i < n; i++)
			bad += vf_load(va + ptoa(i) + 16, &error) !=
			    vf_tag(3, i, (uint64_t)round);
	}
	CHECKF(bad == 0, "%d pages lost their data under pressure", bad);
	CHECK(vm_test_stat("vm.pageout.laundered") > 0);
	CHECK(vm_test_stat("vm.pageout.unmapped") > 0);
	vf_check(vm);
	vmspace_switch(NULL);
	vmspace_free(vm);
	CHECK(vm_test_stat("vm.pmap.pv_entries") == 0);
}

static void
test_pressure(void)
{
	static const char *const tun[] = { "vm.swap.size=64m", NULL };

	vm_test_boot(2, 1, VF_MEM, tun);
	test_run(vf_pressure_fn, NULL);
	test_shutdown();
}

/*
 * exec.
 */
#define VF_TEXT 4
#define VF_DATA 3

struct vf_exec {
	char path[300];
	int bad;
};

static void
vf_exec_fn(void *arg)
{
	struct vf_exec *fe = arg;
	struct vm_image img = { .vi_text_pages = VF_TEXT,
		.vi_data_pages = VF_DATA,
		.vi_bss_pages = 2,
		.vi_stack_pages = 4 };
	struct vmspace *a = NULL, *b = NULL;
	vm_offset_t entry, stack, i, data;
	uint64_t pf0;
	char err[256];
	int error;

	error = vm_object_vnode_open(
	    fe->path, VF_TEXT + VF_DATA, &img.vi_object, err, sizeof(err));
	CHECKF(error == 0, "open: %s", err);
	if (error != 0)
		return;
	CHECK(vmspace_exec(&img, &a, &entry, &stack) == 0);
	CHECK(vmspace_exec(&img, &b, &entry, &stack) == 0);
	if (a == NULL || b == NULL)
		goto out;
	data = entry + ptoa(VF_TEXT);
	vmspace_switch(a);
	/* a reads text page 0 in; b's fault on page 1 maps its page 0. */
	(void)vf_load(entry, &error);
	vmspace_switch(b);
	pf0 = vm_test_stat("vm.stats.fault.prefaults");
	(void)vf_load(entry + ptoa(1), &error);
	CHECKF(vm_test_stat("vm.stats.fault.prefaults") > pf0,
	    "a read of resident text prefaulted nothing");
	CHECK(pmap_extract(vmspace_pmap(b), entry) != 0);
	vmspace_switch(a);
	for (i = 0; i < VF_TEXT + VF_DATA; i++)
		fe->bad += vf_load(entry + ptoa(i), &error) != vf_tag(9, i, 0);
	CHECK(ustore(entry, 8, 1) == EFAULT); /* text is read-only */
	CHECK(ustore(data, 8, 42) == 0);      /* data is private */
	CHECK(vf_load(data, &error) == 42);
	CHECK(vf_load(data + ptoa(VF_DATA), &error) == 0 && error == 0);
	CHECK(ustore(data + ptoa(VF_DATA), 8, 5) == 0); /* bss */
	CHECK(ustore(stack - 8, 8, 6) == 0);
	CHECK(vf_load(stack - ptoa(4) - 8, &error) == ~0ull &&
	    error == EFAULT); /* the guard page */
	vmspace_switch(b);
	CHECK(vf_load(data, &error) == vf_tag(9, VF_TEXT, 0));
	CHECK(vf_load(data + ptoa(VF_DATA), &error) == 0);
	vf_check(a);
	vf_check(b);
out:
	vmspace_switch(NULL);
	if (a != NULL)
		vmspace_free(a);
	if (b != NULL)
		vmspace_free(b);
	vm_object_deallocate(img.vi_object);
}

static void
test_exec(void)
{
	struct vf_exec fe = { .bad = 0 };
	const char *dir = getenv("TMPDIR");
	uint64_t page[PAGE_SIZE / 8];
	FILE *f;
	int i;

	snprintf(fe.path, sizeof(fe.path), "%s/vmlab-image-%llx-%llx",
	    dir != NULL ? dir : "/tmp", (unsigned long long)test_seed(),
	    (unsigned long long)md_nanotime());
	f = fopen(fe.path, "w+b");
	CHECKF(f != NULL, "cannot create %s", fe.path);
	if (f == NULL)
		return;
	for (i = 0; i < VF_TEXT + VF_DATA; i++) {
		memset(page, 0, sizeof(page));
		page[0] = vf_tag(9, (uint64_t)i, 0);
		CHECK(fwrite(page, sizeof(page), 1, f) == 1);
	}
	fclose(f);
	vm_test_boot(2, 1, VF_MEM, NULL);
	test_run(vf_exec_fn, &fe);
	test_shutdown();
	CHECKF(fe.bad == 0, "%d image pages read wrong", fe.bad);
	/* The private data write never reached the file. */
	f = fopen(fe.path, "rb");
	CHECK(f != NULL && fseek(f, (long)ptoa(VF_TEXT), SEEK_SET) == 0 &&
	    fread(page, sizeof(page), 1, f) == 1 &&
	    page[0] == vf_tag(9, VF_TEXT, 0));
	if (f != NULL)
		fclose(f);
	remove(fe.path);
}

/*
 * kmem.
 */
#define VF_KMEM_PAGES 16

static void
vf_kmem_fn(void *arg)
{
	int bulk = *(int *)arg;
	uint64_t sd0, inv0, sd, v;
	vm_offset_t va, i;

	va = kmem_malloc(ptoa(VF_KMEM_PAGES), M_WAITOK | M_ZERO);
	CHECK(va >= VM_MIN_KERNEL_ADDRESS);
	if (va == 0)
		return;
	for (i = 0; i < VF_KMEM_PAGES; i++) {
		CHECK(uload(va + ptoa(i), 8, &v) == 0 && v == 0);
		CHECK(ustore(va + ptoa(i), 8, vf_tag(4, i, 1)) == 0);
		CHECK(*(uint64_t *)kmem_dmap(va + ptoa(i)) == vf_tag(4, i, 1));
	}
	CHECK(pmap_check(kernel_pmap) == 0);
	sd0 = vm_test_stat("vm.pmap.shootdowns");
	inv0 = vm_test_stat("vm.pmap.invalidated_pages");
	kmem_free(va, ptoa(VF_KMEM_PAGES));
	sd = vm_test_stat("vm.pmap.shootdowns") - sd0;
	CHECKF(bulk ? sd == 1 : sd == VF_KMEM_PAGES,
	    "bulk_remove=%d: %llu shootdowns for %d pages", bulk,
	    (unsigned long long)sd, VF_KMEM_PAGES);
	CHECK(
	    vm_test_stat("vm.pmap.invalidated_pages") - inv0 >= VF_KMEM_PAGES);
	CHECK(uload(va, 8, &v) == EFAULT);
	CHECK(pmap_check(kernel_pmap) == 0);
}

static void
test_kmem(void)
{
	static const char *const tun1[] = { "vm.kmem.bulk_remove=1", NULL };
	static const char *const tun0[] = { "vm.kmem.bulk_remove=0", NULL };
	int bulk;

	bulk = 1;
	vm_test_boot(4, 1, VF_MEM, tun1);
	test_run(vf_kmem_fn, &bulk);
	test_shutdown();
	bulk = 0;
	vm_test_boot(4, 1, VF_MEM, tun0);
	test_run(vf_kmem_fn, &bulk);
	test_shutdown();
}

/*
 * superpage: faults that fill a reservation end in a 2 MiB mapping; an
 * mprotect of part of it demotes it.
 */
static void
vf_super_fn(void *arg)
{
	struct vmspace *vm = vmspace_alloc();
	uint64_t pro0 = vm_test_stat("vm.pmap.promotions");
	uint64_t dem0 = vm_test_stat("vm.pmap.demotions"), v;
	vm_offset_t va = 0, i, n = 2 * NPTEPG;
	int error, bad = 0;

	(void)arg;
	CHECK(vm != NULL);
	if (vm == NULL)
		return;
	vmspace_switch(vm);
	CHECK(vm_mmap(&vm->vm_map, &va, ptoa(n), VM_PROT_RW, VM_PROT_ALL,
		  MAP_ANON | MAP_PRIVATE | MAP_ALIGNED_SUPER, NULL, 0) == 0);
	CHECK((va & PDRMASK) == 0);
	for (i = 0; i < n; i++)
		CHECK(ustore(va + ptoa(i), 8, vf_tag(5, i, 1)) == 0);
	CHECKF(vm_test_stat("vm.pmap.promotions") - pro0 >= 1,
	    "no promotion after filling %llu pages", (unsigned long long)n);
	vf_check(vm);
	CHECK(
	    vm_mprotect(&vm->vm_map, va + ptoa(3), ptoa(1), VM_PROT_READ) == 0);
	CHECK(vm_test_stat("vm.pmap.demotions") - dem0 >= 1);
	CHECK(ustore(va + ptoa(3), 8, 1) == EFAULT);
	for (i = 0; i < n; i++) {
		v = vf_load(va + ptoa(i), &error);
		bad += error != 0 || v != vf_tag(5, i, 1);
	}
	CHECKF(bad == 0, "%d pages wrong across promotion and demotion", bad);
	vf_check(vm);
	vmspace_switch(NULL);
	vmspace_free(vm);
}

static void
test_superpage(void)
{
	static const char *const tun[] = { "vm.reserv.enable=1", NULL };

	vm_test_boot(2, 1, VF_MEM, tun);
	test_run(vf_super_fn, NULL);
	test_shutdown();
}

/*
 * badaddr.
 */
static void
vf_badaddr_fn(void *arg)
{
	struct vmspace *vm = vmspace_alloc();
	uint8_t buf[64];
	uint64_t v;
	vm_offset_t va;

	(void)arg;
	/* No vmspace: a user address cannot be reached. */
	CHECK(uload(0x10000, 8, &v) == EFAULT);
	CHECK(vm != NULL);
	if (vm == NULL)
		return;
	vmspace_switch(vm);
	va = vf_mmap_anon(vm, 2);
	CHECK(uload(va + 1, 8, &v) == EINVAL);
	CHECK(uload(va, 3, &v) == EINVAL);
	CHECK(ustore(va + 4, 8, 0) == EINVAL);
	CHECK(uload(0, 8, &v) == EFAULT);
	CHECK(uload(va + ptoa(2), 8, &v) == EFAULT);
	CHECK(uload(0x0000800000000000ull, 8, &v) == EFAULT); /* hole */
	CHECK(uload(VM_MIN_KERNEL_ADDRESS + ptoa(1000), 8, &v) == EFAULT);
	CHECK(copyin(va + ptoa(2) - 8, buf, 16) == EFAULT);
	CHECK(copyin(~(vm_offset_t)0 - 8, buf, 64) == EFAULT);
	CHECK(copyout(buf, va + ptoa(2) - 32, 32) == 0);
	memset(buf, 0xa5, sizeof(buf));
	CHECK(copyout(buf, va + ptoa(1) - 32, 64) == 0);
	memset(buf, 0, sizeof(buf));
	CHECK(copyin(va + ptoa(1) - 32, buf, 64) == 0 && buf[0] == 0xa5 &&
	    buf[63] == 0xa5);
	vf_check(vm);
	vmspace_switch(NULL);
	vmspace_free(vm);
}

static void
test_badaddr(void)
{
	vm_test_boot(2, 1, VF_MEM, NULL);
	test_run(vf_badaddr_fn, NULL);
	test_shutdown();
}

static const struct test_case cases[] = {
	TEST_CASE(test_anon),
	TEST_CASE(test_cow),
	TEST_CASE(test_chain),
	TEST_CASE(test_isolate),
	TEST_CASE(test_pressure),
	TEST_CASE(test_exec),
	TEST_CASE(test_kmem),
	TEST_CASE(test_superpage),
	TEST_CASE(test_badaddr),
};

int
main(int argc, char **argv)
{
	return (test_main(argc, argv, cases, TEST_NCASES(cases)));
}
