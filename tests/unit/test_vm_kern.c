/*
 * test_vm_kern.c: the kernel's KVA (kernel_arena) and kernel memory.
 *
 * Cases:
 *	kva:	   kmem_malloc's KVA comes from kernel_arena (small sizes
 *		   through its quantum caches, large ones not) and goes back
 *		   to it: after a drain VMEM_ALLOC is where it started;
 *		   no kernel map entry is made;
 *	pageable:  kmem_alloc_pageable memory reads as zero, faults in on
 *		   first uload/ustore through its kernel address, reads back
 *		   what was written; kmem_free_pageable frees its pages, its
 *		   entry and its KVA, and the address faults (EFAULT);
 *	shootdown: freeing an N-page pageable region (all resident) takes
 *		   one shootdown with vm.kmem.bulk_remove=1, N with 0;
 *	fail:	   md_malloc failing at each allocation of
 *		   kmem_alloc_pageable, and the arena out of KVA, give 0 with
 *		   nothing left behind (KVA, map entries, counters).
 */
#include "harness.h"
#include "kern/vmem.h"
#include "pmap/pmap.h"
#include "vm/vm_kern.h"
#include "vm/vm_map.h"
#include "vm/vm_uaccess.h"
#include "vm_test.h"

#include <errno.h>

#define VK_MEM (8ull << 20)
#define VK_PAGES 16

static uint64_t
vk_tag(uint64_t i)
{
	return (0x6b6d656d00000000ull ^ (i << 12) ^ 0x5a5a);
}

/* KVA held by callers, with the quantum caches drained. */
static vmem_size_t
vk_kva_inuse(void)
{
	vmem_qcache_drain(kernel_arena);
	return (vmem_size(kernel_arena, VMEM_ALLOC));
}

static uint32_t
vk_map_entries(void)
{
	uint32_t n;

	vm_map_lock_read(kernel_map);
	n = kernel_map->nentries;
	vm_map_unlock_read(kernel_map);
	return (n);
}

/*
 * kva.
 */
static void
vk_kva_fn(void *arg)
{
	vmem_size_t start = vk_kva_inuse();
	uint32_t entries = vk_map_entries();
	vm_offset_t small, large;

	(void)arg;
	small = kmem_malloc(ptoa(3), M_WAITOK | M_ZERO);
	large = kmem_malloc(ptoa(40), M_WAITOK);
	CHECK(small >= VM_MIN_KERNEL_ADDRESS && large >= VM_MIN_KERNEL_ADDRESS);
	CHECK(vmem_size(kernel_arena, VMEM_ALLOC) == start + ptoa(43));
	CHECK(vk_map_entries() == entries);
	CHECK(*(uint64_t *)kmem_dmap(small + ptoa(2)) == 0);
	kmem_free(small, ptoa(3));
	kmem_free(large, ptoa(40));
	/* The small one may sit in a quantum cache: not allocated. */
	CHECK(vmem_size(kernel_arena, VMEM_ALLOC) == start);
	CHECK(vk_kva_inuse() == start);
	CHECK(vmem_check(kernel_arena) == 0);
	CHECK(pmap_check(kernel_pmap) == 0);
}

static void
test_kva(void)
{
	vm_test_boot(2, 1, VK_MEM, NULL);
	test_run(vk_kva_fn, NULL);
	test_shutdown();
}

/*
 * pageable.
 */
static void
vk_pageable_fn(void *arg)
{
	uint64_t allocs = vm_test_stat("vm.stats.kmem.pageable_allocs");
	uint64_t frees = vm_test_stat("vm.stats.kmem.pageable_frees");
	vmem_size_t start = vk_kva_inuse();
	uint32_t entries = vk_map_entries();
	vm_offset_t va, i;
	uint64_t v, faults;
	int bad = 0;

	(void)arg;
	va = kmem_alloc_pageable(ptoa(VK_PAGES), M_WAITOK);
	CHECK(va >= VM_MIN_KERNEL_ADDRESS);
	if (va == 0)
		return;
	CHECK(vm_test_stat("vm.stats.kmem.pageable_allocs") == allocs + 1);
	CHECK(vk_map_entries() == entries + 1);
	/* Nothing resident yet: the first touch of each page faults. */
	CHECK(pmap_extract(kernel_pmap, va) == 0);
	faults = vm_test_stat("vm.stats.fault.faults");
	for (i = 0; i < VK_PAGES; i++) {
		v = ~0ull;
		bad += uload(va + ptoa(i) + 8, 8, &v) != 0 || v != 0;
	}
	CHECKF(bad == 0, "%d pageable pages not zero", bad);
	CHECK(vm_test_stat("vm.stats.fault.faults") >= faults + VK_PAGES);
	for (i = 0; i < VK_PAGES; i++)
		CHECK(ustore(va + ptoa(i), 8, vk_tag(i)) == 0);
	for (i = 0; i < VK_PAGES; i++) {
		v = 0;
		bad += uload(va + ptoa(i), 8, &v) != 0 || v != vk_tag(i);
	}
	CHECKF(bad == 0, "%d pageable pages read back wrong", bad);
	CHECK(pmap_check(kernel_pmap) == 0);
	kmem_free_pageable(va, ptoa(VK_PAGES));
	CHECK(vm_test_stat("vm.stats.kmem.pageable_frees") == frees + 1);
	CHECK(uload(va, 8, &v) == EFAULT);
	CHECK(vk_map_entries() == entries);
	CHECK(vk_kva_inuse() == start);
	vm_map_lock_read(kernel_map);
	CHECK(vm_map_check(kernel_map) == 0);
	vm_map_unlock_read(kernel_map);
	CHECK(pmap_check(kernel_pmap) == 0);
}

static void
test_pageable(void)
{
	vm_test_boot(2, 1, VK_MEM, NULL);
	test_run(vk_pageable_fn, NULL);
	test_shutdown();
}

/*
 * shootdown.
 */
static void
vk_shootdown_fn(void *arg)
{
	int bulk = *(int *)arg;
	uint64_t sd0, sd;
	vm_offset_t va, i;

	va = kmem_alloc_pageable(ptoa(VK_PAGES), M_WAITOK);
	CHECK(va != 0);
	if (va == 0)
		return;
	for (i = 0; i < VK_PAGES; i++)
		CHECK(ustore(va + ptoa(i), 8, vk_tag(i)) == 0);
	sd0 = vm_test_stat("vm.pmap.shootdowns");
	kmem_free_pageable(va, ptoa(VK_PAGES));
	sd = vm_test_stat("vm.pmap.shootdowns") - sd0;
	CHECKF(bulk ? sd == 1 : sd == VK_PAGES,
	    "bulk_remove=%d: %llu shootdowns for %d pages", bulk,
	    (unsigned long long)sd, VK_PAGES);
	CHECK(pmap_check(kernel_pmap) == 0);
}

static void
test_shootdown(void)
{
	static const char *const tun1[] = { "vm.kmem.bulk_remove=1", NULL };
	static const char *const tun0[] = { "vm.kmem.bulk_remove=0", NULL };
	int bulk;

	bulk = 1;
	vm_test_boot(4, 1, VK_MEM, tun1);
	test_run(vk_shootdown_fn, &bulk);
	test_shutdown();
	bulk = 0;
	vm_test_boot(4, 1, VK_MEM, tun0);
	test_run(vk_shootdown_fn, &bulk);
	test_shutdown();
}

/*
 * fail.
 */
#define VK_GRAB_MAX 4096

/* Takes every free address of kernel_arena; returns the count of grabs. */
static int
vk_grab_all(vmem_addr_t *addr, vmem_size_t *size)
{
	vmem_size_t s = vmem_size(kernel_arena, VMEM_FREE);
	int n = 0;

	while (s >= PAGE_SIZE && n < VK_GRAB_MAX) {
		if (vmem_xalloc(kernel_arena, s, 0, 0, 0, VMEM_ADDR_MIN,
			VMEM_ADDR_MAX, M_NOWAIT | M_BESTFIT, &addr[n]) == 0) {
			size[n++] = s;
			continue;
		}
		s = trunc_page(s / 2);
	}
	return (n);
}

static void
vk_fail_fn(void *arg)
{
	uint64_t allocs = vm_test_stat("vm.stats.kmem.pageable_allocs");
	vmem_size_t start = vk_kva_inuse();
	uint32_t entries = vk_map_entries();
	vmem_addr_t *addr = calloc(VK_GRAB_MAX, sizeof(*addr));
	vmem_size_t *size = calloc(VK_GRAB_MAX, sizeof(*size));
	vm_offset_t va = 0;
	uint64_t nth;
	int n, k, failures = 0;

	(void)arg;
	for (nth = 1; nth <= 16; nth++) {
		md_malloc_fail_nth(nth);
		va = kmem_alloc_pageable(ptoa(VK_PAGES), M_NOWAIT);
		md_malloc_fail_nth(0);
		if (va != 0)
			break;
		failures++;
		CHECK(vm_test_stat("vm.stats.kmem.pageable_allocs") == allocs);
		CHECKF(vk_kva_inuse() == start, "nth %llu: KVA left behind",
		    (unsigned long long)nth);
		CHECKF(vk_map_entries() == entries,
		    "nth %llu: map entry left behind", (unsigned long long)nth);
	}
	CHECK(va != 0 && failures > 0);
	if (va != 0)
		kmem_free_pageable(va, ptoa(VK_PAGES));
	CHECK(vk_kva_inuse() == start);
	/* Out of KVA. */
	n = vk_grab_all(addr, size);
	CHECK(n > 0 && n < VK_GRAB_MAX);
	CHECK(vmem_size(kernel_arena, VMEM_FREE) == 0);
	CHECK(kmem_alloc_pageable(ptoa(VK_PAGES), M_NOWAIT) == 0);
	CHECK(kmem_alloc_pageable(PAGE_SIZE, M_NOWAIT) == 0);
	CHECK(kmem_malloc(ptoa(2), M_NOWAIT) == 0);
	CHECK(kmem_malloc(ptoa(40), M_NOWAIT) == 0);
	CHECK(vk_map_entries() == entries);
	CHECK(vm_test_stat("vm.stats.kmem.pageable_allocs") == allocs + 1);
	for (k = 0; k < n; k++)
		vmem_xfree(kernel_arena, addr[k], size[k]);
	CHECK(vk_kva_inuse() == start);
	CHECK(vmem_check(kernel_arena) == 0);
	free(addr);
	free(size);
}

static void
test_kmem_fail(void)
{
	vm_test_boot(2, 1, VK_MEM, NULL);
	test_run(vk_fail_fn, NULL);
	test_shutdown();
}

static const struct test_case cases[] = {
	TEST_CASE(test_kva),
	TEST_CASE(test_pageable),
	TEST_CASE(test_shootdown),
	TEST_CASE(test_kmem_fail),
};

int
main(int argc, char **argv)
{
	return (test_main(argc, argv, cases, TEST_NCASES(cases)));
}
