/*
 * test_vm_map.c: maps, mmap and vmspaces.
 *
 *	- random insert/remove/protect/inherit/find-space on maps without a
 *	  pmap, each checked against a per-page reference model and by
 *	  vm_map_check() after every operation (seeded: the harness prints
 *	  the seed); find-space must return the model's lowest aligned fit;
 *	- alignment cases: a gap long enough but with no aligned fit is
 *	  skipped; VMFS_SUPER_SPACE and VMFS_ALIGNED_SPACE; the fallback;
 *	- the checker catches planted bugs: a wrong max_free, two entries'
 *	  ranges swapped, a tree that is ordered but not balanced;
 *	- vm_mmap/vm_munmap/vm_mprotect refuse bad input with the expected
 *	  errno and leave the map unchanged; MAP_FIXED replaces mappings;
 *	- allocation failures (md_malloc_fail_nth) in insert, clip-needing
 *	  remove/protect and MAP_FIXED mmap: ENOMEM, map unchanged;
 *	- the fault's lookup: object creation, shadowing of NEEDS_COPY
 *	  entries, read-only protection while a copy is needed, guards;
 *	- vmspaces with the real pmap: alloc, fork per inheritance, exec of
 *	  an image, switch, free.
 */
#include "kern/sleepq.h"
#include "kern/thread.h"
#include "vm/vm_map.h"
#include "vm/vm_object.h"
#include "vm/vm_pagequeue.h"
#include "vm_test.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define MT_NPG 1024
#define MT_MIN ((vm_offset_t)0x100000)
#define MT_MAX (MT_MIN + ptoa(MT_NPG))
#define MT_NOBJ 3

/* The reference model: one record per page of [MT_MIN, MT_MAX). */
struct mt_page {
	bool mapped;
	vm_prot_t prot, max;
	vm_inherit_t inh;
	struct vm_object *obj;
	vm_pindex_t pindex;
};

struct mt_state {
	struct vm_map map;
	struct mt_page pg[MT_NPG];
	struct vm_object *objs[MT_NOBJ];
	uint64_t rng;
	int nops;
};

static inline uint64_t
mt_rand(struct mt_state *s, uint64_t n)
{
	return (test_rand(&s->rng) % n);
}

/* The map equals the model, page by page; the checker finds nothing. */
static bool
mt_compare(struct mt_state *s, const char *op)
{
	struct vm_map_entry *e;
	uint64_t mapped = 0, i, p;
	int bad = vm_map_check(&s->map);

	for (e = s->map.header.next; e != &s->map.header; e = e->next)
		for (p = atop(e->start - MT_MIN); p < atop(e->end - MT_MIN);
		     p++) {
			struct mt_page *m = &s->pg[p];
			vm_pindex_t pidx =
			    e->pindex + p - atop(e->start - MT_MIN);

			mapped++;
			if (!m->mapped || m->prot != e->protection ||
			    m->max != e->max_protection ||
			    m->inh != e->inheritance || m->obj != e->object ||
			    (m->obj != NULL && m->pindex != pidx))
				bad++;
		}
	for (i = 0; i < MT_NPG; i++)
		mapped -= s->pg[i].mapped ? 1 : 0;
	if (mapped != 0)
		bad++;
	CHECKF(bad == 0, "op %d (%s): map and model differ (%d)", s->nops, op,
	    bad);
	return (bad == 0);
}

static void
mt_op_insert(struct mt_state *s)
{
	uint64_t p = mt_rand(s, MT_NPG), n = 1 + mt_rand(s, 16), i;
	vm_prot_t max = (vm_prot_t)mt_rand(s, 8);
	vm_prot_t prot = (vm_prot_t)(max & mt_rand(s, 8));
	struct vm_object *obj = NULL;
	vm_pindex_t pidx = mt_rand(s, 100);
	int expect = 0, error;

	if (mt_rand(s, 3) == 0) {
		obj = s->objs[mt_rand(s, MT_NOBJ)];
		vm_object_reference(obj);
	}
	if (p + n > MT_NPG)
		expect = EINVAL;
	for (i = p; i < p + n && expect == 0; i++)
		if (s->pg[i].mapped)
			expect = ENOMEM;
	vm_map_lock(&s->map);
	error = vm_map_insert(&s->map, obj, pidx, MT_MIN + ptoa(p),
	    MT_MIN + ptoa(p + n), prot, max, 0);
	vm_map_unlock(&s->map);
	CHECKF(error == expect, "insert [%llu, +%llu): %d, expected %d",
	    (unsigned long long)p, (unsigned long long)n, error, expect);
	if (error != 0) {
		if (obj != NULL)
			vm_object_deallocate(obj);
		return;
	}
	for (i = p; i < p + n; i++)
		s->pg[i] = (struct mt_page) { true, prot, max, VM_INHERIT_COPY,
			obj, pidx + i - p };
}

/* A random range of whole pages inside the map: [*p, *p + *n). */
static void
mt_range(struct mt_state *s, uint64_t *p, uint64_t *n)
{
	*p = mt_rand(s, MT_NPG);
	*n = 1 + mt_rand(s, 40);
	if (*p + *n > MT_NPG)
		*n = MT_NPG - *p;
}

static void
mt_op_remove(struct mt_state *s)
{
	uint64_t p, n, i;
	int error;

	mt_range(s, &p, &n);
	error = vm_map_remove(&s->map, MT_MIN + ptoa(p), MT_MIN + ptoa(p + n));
	CHECKF(error == 0, "remove: %d", error);
	for (i = p; i < p + n; i++)
		s->pg[i].mapped = false;
}

static void
mt_op_protect(struct mt_state *s)
{
	vm_prot_t prot = (vm_prot_t)mt_rand(s, 8);
	bool set_max = mt_rand(s, 4) == 0;
	uint64_t p, n, i;
	int expect = 0, error;

	mt_range(s, &p, &n);
	for (i = p; i < p + n && expect == 0; i++)
		if (!s->pg[i].mapped)
			expect = ENOMEM;
		else if ((prot & ~s->pg[i].max) != 0)
			expect = EACCES;
	error = vm_map_protect(
	    &s->map, MT_MIN + ptoa(p), MT_MIN + ptoa(p + n), prot, set_max);
	CHECKF(error == expect, "protect: %d, expected %d", error, expect);
	for (i = p; i < p + n && error == 0; i++) {
		if (set_max) {
			s->pg[i].max = prot;
			s->pg[i].prot &= prot;
		} else
			s->pg[i].prot = prot;
	}
}

static void
mt_op_inherit(struct mt_state *s)
{
	vm_inherit_t inh = (vm_inherit_t)mt_rand(s, 3);
	uint64_t p, n, i;
	int error;

	mt_range(s, &p, &n);
	error = vm_map_inherit(
	    &s->map, MT_MIN + ptoa(p), MT_MIN + ptoa(p + n), inh);
	CHECKF(error == 0, "inherit: %d", error);
	for (i = p; i < p + n; i++)
		s->pg[i].inh = inh;
}

/* The model's lowest aligned fit of n pages from page lo, or -1. */
static int64_t
mt_model_fit(struct mt_state *s, uint64_t lo, uint64_t n, uint64_t alignpg)
{
	uint64_t a, i;

	/* MT_MIN is 1 MiB-aligned, so page alignment is address alignment. */
	for (a = roundup2(lo, alignpg); a + n <= MT_NPG; a += alignpg) {
		for (i = a; i < a + n && !s->pg[i].mapped; i++)
			;
		if (i == a + n)
			return ((int64_t)a);
	}
	return (-1);
}

static void
mt_op_findspace(struct mt_state *s)
{
	uint64_t lo = mt_rand(s, MT_NPG), n = 1 + mt_rand(s, 24);
	uint64_t alignpg = (uint64_t)1 << mt_rand(s, 5);
	int64_t want = mt_model_fit(s, lo, n, alignpg);
	vm_offset_t addr = 0;
	int error;

	vm_map_lock_read(&s->map);
	error = vm_map_findspace(
	    &s->map, MT_MIN + ptoa(lo), ptoa(n), ptoa(alignpg), &addr);
	vm_map_unlock_read(&s->map);
	if (want < 0)
		CHECKF(error == ENOMEM, "findspace: %d at %#llx, no fit", error,
		    (unsigned long long)addr);
	else
		CHECKF(error == 0 && addr == MT_MIN + ptoa((uint64_t)want),
		    "findspace(lo %llu, %llu pages, align %llu): %d %#llx, "
		    "expected page %lld",
		    (unsigned long long)lo, (unsigned long long)n,
		    (unsigned long long)alignpg, error,
		    (unsigned long long)addr, (long long)want);
}

static void
mt_random_fn(void *arg)
{
	struct mt_state *s = arg;
	int i, nops = (int)vm_test_size(6000, 1500), k;

	vm_map_init(&s->map, NULL, MT_MIN, MT_MAX, false);
	for (k = 0; k < MT_NOBJ; k++)
		s->objs[k] = vm_object_allocate(OBJT_DEFAULT, 256);
	for (i = 0; i < nops; i++) {
		s->nops = i;
		k = (int)mt_rand(s, 20);
		if (k < 7)
			mt_op_insert(s);
		else if (k < 10)
			mt_op_remove(s);
		else if (k < 14)
			mt_op_protect(s);
		else if (k < 16)
			mt_op_inherit(s);
		else
			mt_op_findspace(s);
		if (!mt_compare(s, "random"))
			break;
	}
	printf("random: %d ops, %u entries at the end\n", i, s->map.nentries);
	vm_map_destroy(&s->map);
	for (k = 0; k < MT_NOBJ; k++) {
		CHECKF(s->objs[k]->ref_count == 1, "object %d: %u references",
		    k, s->objs[k]->ref_count);
		vm_object_deallocate(s->objs[k]);
	}
}

static void
test_random_ops(void)
{
	struct mt_state *s = calloc(1, sizeof(*s));

	s->rng = test_seed();
	test_boot(2, NULL);
	test_run(mt_random_fn, s);
	test_shutdown();
	free(s);
}

/* Inserts anonymous [MT_MIN + a pages, + n pages) into a locked map. */
static void
mt_put(struct vm_map *map, uint64_t a, uint64_t n)
{
	int error;

	vm_map_lock(map);
	error = vm_map_insert(map, NULL, 0, MT_MIN + ptoa(a),
	    MT_MIN + ptoa(a + n), VM_PROT_RW, VM_PROT_ALL, 0);
	vm_map_unlock(map);
	CHECKF(
	    error == 0, "insert page %llu: %d", (unsigned long long)a, error);
}

static void
mt_align_fn(void *arg)
{
	struct vm_map map;
	vm_offset_t addr;
	int error;

	(void)arg;
	/* Gaps: [1, 3) two pages, misaligned for 2 pages; [8, 16); tail. */
	vm_map_init(&map, NULL, MT_MIN, MT_MIN + ptoa(1024), false);
	mt_put(&map, 0, 1);
	mt_put(&map, 3, 5);
	mt_put(&map, 16, 8);
	vm_map_lock(&map);
	CHECK(vm_map_findspace(&map, MT_MIN, ptoa(2), PAGE_SIZE, &addr) == 0 &&
	    addr == MT_MIN + ptoa(1));
	CHECK(vm_map_findspace(&map, MT_MIN, ptoa(2), ptoa(2), &addr) == 0 &&
	    addr == MT_MIN + ptoa(8));
	CHECK(vm_map_findspace(&map, MT_MIN, ptoa(8), ptoa(8), &addr) == 0 &&
	    addr == MT_MIN + ptoa(8));
	CHECK(vm_map_findspace(&map, MT_MIN, ptoa(8), ptoa(16), &addr) == 0 &&
	    addr == MT_MIN + ptoa(32));
	CHECK(vm_map_findspace(
		  &map, MT_MIN + ptoa(9), ptoa(2), ptoa(2), &addr) == 0 &&
	    addr == MT_MIN + ptoa(10));
	CHECK(vm_map_findspace(&map, MT_MIN, ptoa(1001), PAGE_SIZE, &addr) ==
	    ENOMEM);
	CHECK(
	    vm_map_findspace(&map, MT_MIN, ptoa(1000), PAGE_SIZE, &addr) == 0 &&
	    addr == MT_MIN + ptoa(24));
	vm_map_unlock(&map);
	/* 2^16 alignment through vm_map_find. */
	addr = MT_MIN;
	error = vm_map_find(&map, NULL, 0, &addr, ptoa(2),
	    VMFS_ALIGNED_SPACE(16), VM_PROT_RW, VM_PROT_ALL, 0);
	CHECKF(error == 0 && (addr & 0xffff) == 0 && addr >= MT_MIN + ptoa(24),
	    "aligned find: %d %#llx", error, (unsigned long long)addr);
	CHECK(vm_map_check(&map) == 0);
	vm_map_destroy(&map);

	/* Superpage space: 2 MiB-aligned when it exists, else any. */
	vm_map_init(&map, NULL, 0x200000 + PAGE_SIZE, 0x800000, false);
	addr = 0;
	error = vm_map_find(&map, NULL, 0, &addr, NBPDR, VMFS_SUPER_SPACE,
	    VM_PROT_RW, VM_PROT_ALL, 0);
	CHECKF(error == 0 && addr == 0x400000, "super: %d %#llx", error,
	    (unsigned long long)addr);
	vm_map_destroy(&map);
	vm_map_init(&map, NULL, 0x200000 + PAGE_SIZE, 0x402000, false);
	addr = 0;
	error = vm_map_find(&map, NULL, 0, &addr, NBPDR, VMFS_SUPER_SPACE,
	    VM_PROT_RW, VM_PROT_ALL, 0);
	CHECKF(error == 0 && addr == 0x200000 + PAGE_SIZE,
	    "super fallback: %d %#llx", error, (unsigned long long)addr);
	addr = 0;
	CHECK(vm_map_find(&map, NULL, 0, &addr, NBPDR, VMFS_SUPER_SPACE,
		  VM_PROT_RW, VM_PROT_ALL, 0) == ENOMEM);
	CHECK(vm_map_check(&map) == 0 && map.nentries == 1);
	vm_map_destroy(&map);
}

static void
test_findspace_align(void)
{
	test_boot(2, NULL);
	test_run(mt_align_fn, NULL);
	test_shutdown();
}

/* The planted bugs: each must be found, then is undone. */
static void
mt_planted_fn(void *arg)
{
	struct vm_map map;
	struct vm_map_entry *a, *b, *c, *e, *root;
	struct vm_map_entry saved[3];
	vm_offset_t t;
	int i, n;

	(void)arg;
	vm_map_init(&map, NULL, MT_MIN, MT_MAX, false);
	for (i = 0; i < 20; i++)
		mt_put(&map, (uint64_t)i * 3 + 1, 1 + (uint64_t)(i % 2));
	CHECK(vm_map_check(&map) == 0);
	/* 1. A max_free off by one page. */
	e = map.root->left;
	e->max_free += PAGE_SIZE;
	n = vm_map_check(&map);
	CHECKF(n >= 1, "wrong max_free: %d violations", n);
	e->max_free -= PAGE_SIZE;
	CHECK(vm_map_check(&map) == 0);
	/* 2. Two neighbours' ranges swapped (list and tree out of order). */
	e = map.header.next->next->next;
	t = e->start;
	e->start = e->next->start;
	e->next->start = t;
	t = e->end;
	e->end = e->next->end;
	e->next->end = t;
	n = vm_map_check(&map);
	CHECKF(n >= 1, "swapped entries: %d violations", n);
	t = e->start;
	e->start = e->next->start;
	e->next->start = t;
	t = e->end;
	e->end = e->next->end;
	e->next->end = t;
	CHECK(vm_map_check(&map) == 0);
	vm_map_destroy(&map);

	/* 3. Three entries as a chain: ordered, exact, but unbalanced. */
	vm_map_init(&map, NULL, MT_MIN, MT_MAX, false);
	mt_put(&map, 1, 1);
	mt_put(&map, 3, 1);
	mt_put(&map, 5, 1);
	a = map.header.next;
	b = a->next;
	c = b->next;
	saved[0] = *a;
	saved[1] = *b;
	saved[2] = *c;
	root = map.root;
	map.root = a;
	a->parent = NULL;
	a->left = b->left = c->left = c->right = NULL;
	a->right = b;
	b->parent = a;
	b->right = c;
	c->parent = b;
	c->balance = 1;
	b->balance = 2;
	a->balance = 3;
	c->max_free = c->start - b->end;
	b->max_free =
	    c->max_free > b->start - a->end ? c->max_free : b->start - a->end;
	a->max_free =
	    a->start - MT_MIN > b->max_free ? a->start - MT_MIN : b->max_free;
	n = vm_map_check(&map);
	CHECKF(n == 1, "unbalanced chain: %d violations (1 expected)", n);
	*a = saved[0];
	*b = saved[1];
	*c = saved[2];
	map.root = root;
	CHECK(vm_map_check(&map) == 0);
	vm_map_destroy(&map);
}

static void
test_check_planted(void)
{
	test_boot(2, NULL);
	test_run(mt_planted_fn, NULL);
	test_shutdown();
}

/*
 * Bad input.  A snapshot of the map (entries' ranges and protections)
 * must be the same after each refused call.
 */
struct mt_snap {
	uint32_t n;
	vm_offset_t r[64][2];
	vm_prot_t prot[64];
};

static void
mt_snap(struct vm_map *map, struct mt_snap *sn)
{
	struct vm_map_entry *e;

	memset(sn, 0, sizeof(*sn));
	for (e = map->header.next; e != &map->header && sn->n < 64;
	     e = e->next, sn->n++) {
		sn->r[sn->n][0] = e->start;
		sn->r[sn->n][1] = e->end;
		sn->prot[sn->n] = e->protection;
	}
}

static bool
mt_snap_same(struct vm_map *map, const struct mt_snap *a)
{
	struct mt_snap b;

	mt_snap(map, &b);
	return (map->nentries == a->n && memcmp(a, &b, sizeof(b)) == 0 &&
	    vm_map_check(map) == 0);
}

enum { MT_MMAP, MT_MUNMAP, MT_MPROTECT };

struct mt_bad {
	const char *what;
	int op;
	vm_offset_t addr, len;
	vm_prot_t prot, maxprot;
	int flags;
	bool obj;
	uint64_t off;
	int expect;
};

#define MT_A (MAP_ANON | MAP_PRIVATE)
#define MT_FA (MAP_FIXED | MAP_ANON | MAP_PRIVATE)
static const struct mt_bad mt_bad_table[] = {
	{ "mmap unaligned fixed", MT_MMAP, MT_MIN + 1, 4096, 3, 7, MT_FA, false,
	    0, EINVAL },
	{ "mmap unaligned hint", MT_MMAP, MT_MIN + 8, 4096, 3, 7, MT_A, false,
	    0, EINVAL },
	{ "mmap zero length", MT_MMAP, MT_MIN, 0, 3, 7, MT_FA, false, 0,
	    EINVAL },
	{ "mmap length rounds past 2^64", MT_MMAP, MT_MIN, ~(vm_offset_t)0, 3,
	    7, MT_A, false, 0, EINVAL },
	{ "mmap addr + len wraps", MT_MMAP, MT_MAX - 4096,
	    ~(vm_offset_t)0 - 3 * 4096 + 1, 3, 7, MT_FA, false, 0, EINVAL },
	{ "mmap fixed above the map", MT_MMAP, MT_MAX, 4096, 3, 7, MT_FA, false,
	    0, EINVAL },
	{ "mmap fixed across the top", MT_MMAP, MT_MAX - 4096, 8192, 3, 7,
	    MT_FA, false, 0, EINVAL },
	{ "mmap fixed below the map", MT_MMAP, MT_MIN - 4096, 4096, 3, 7, MT_FA,
	    false, 0, EINVAL },
	{ "mmap larger than the map", MT_MMAP, MT_MIN, ptoa(MT_NPG + 1), 3, 7,
	    MT_A, false, 0, ENOMEM },
	{ "mmap unknown flag", MT_MMAP, MT_MIN, 4096, 3, 7, MT_A | 0x8000,
	    false, 0, EINVAL },
	{ "mmap neither shared nor private", MT_MMAP, MT_MIN, 4096, 3, 7,
	    MAP_ANON, false, 0, EINVAL },
	{ "mmap shared and private", MT_MMAP, MT_MIN, 4096, 3, 7,
	    MT_A | MAP_SHARED, false, 0, EINVAL },
	{ "mmap prot outside ALL", MT_MMAP, MT_MIN, 4096, 8, 15, MT_A, false, 0,
	    EINVAL },
	{ "mmap maxprot outside ALL", MT_MMAP, MT_MIN, 4096, 1, 0x10, MT_A,
	    false, 0, EINVAL },
	{ "mmap prot above maxprot", MT_MMAP, MT_MIN, 4096, 3, 1, MT_A, false,
	    0, EACCES },
	{ "mmap anon with an object", MT_MMAP, MT_MIN, 4096, 3, 7, MT_A, true,
	    0, EINVAL },
	{ "mmap file without an object", MT_MMAP, MT_MIN, 4096, 3, 7,
	    MAP_PRIVATE, false, 0, EINVAL },
	{ "mmap unaligned offset", MT_MMAP, MT_MIN, 4096, 3, 7, MAP_PRIVATE,
	    true, 100, EINVAL },
	{ "mmap stack not anonymous", MT_MMAP, MT_MIN, 4096, 3, 7,
	    MAP_PRIVATE | MAP_STACK, true, 0, EINVAL },
	{ "munmap unaligned", MT_MUNMAP, MT_MIN + 12, 4096, 0, 0, 0, false, 0,
	    EINVAL },
	{ "munmap zero length", MT_MUNMAP, MT_MIN, 0, 0, 0, 0, false, 0,
	    EINVAL },
	{ "munmap wraps", MT_MUNMAP, MT_MIN, ~(vm_offset_t)0 - 8191, 0, 0, 0,
	    false, 0, EINVAL },
	{ "munmap above the map", MT_MUNMAP, MT_MAX, 4096, 0, 0, 0, false, 0,
	    ENOMEM },
	{ "munmap below the map", MT_MUNMAP, MT_MIN - 8192, 8192, 0, 0, 0,
	    false, 0, ENOMEM },
	{ "mprotect unaligned", MT_MPROTECT, MT_MIN + 1, 4096, 1, 0, 0, false,
	    0, EINVAL },
	{ "mprotect zero length", MT_MPROTECT, MT_MIN, 0, 1, 0, 0, false, 0,
	    EINVAL },
	{ "mprotect wraps", MT_MPROTECT, MT_MIN, ~(vm_offset_t)0, 1, 0, 0,
	    false, 0, EINVAL },
	{ "mprotect bad prot", MT_MPROTECT, MT_MIN, 4096, 9, 0, 0, false, 0,
	    EINVAL },
	{ "mprotect outside the map", MT_MPROTECT, MT_MAX - 4096, 8192, 1, 0, 0,
	    false, 0, ENOMEM },
	{ "mprotect over a hole", MT_MPROTECT, MT_MIN, ptoa(40), 1, 0, 0, false,
	    0, ENOMEM },
	{ "mprotect above the maximum", MT_MPROTECT, MT_MIN + ptoa(20), 4096, 3,
	    0, 0, false, 0, EACCES },
};

static int
mt_bad_call(struct vm_map *map, const struct mt_bad *b, struct vm_object *obj)
{
	vm_offset_t addr = b->addr;

	switch (b->op) {
	case MT_MMAP:
		return (vm_mmap(map, &addr, b->len, b->prot, b->maxprot,
		    b->flags, b->obj ? obj : NULL, b->off));
	case MT_MUNMAP:
		return (vm_munmap(map, b->addr, b->len));
	default:
		return (vm_mprotect(map, b->addr, b->len, b->prot));
	}
}

static void
mt_mmap_fn(void *arg)
{
	struct vm_object *obj = vm_object_allocate(OBJT_DEFAULT, 64);
	struct vm_map map;
	struct vm_map_entry *e;
	struct mt_snap sn;
	vm_offset_t addr;
	size_t i;
	int error;

	(void)arg;
	vm_map_init(&map, NULL, MT_MIN, MT_MAX, false);
	/* [0, 10) anon rw, [20, 30) file read-only at most, [30, 32). */
	addr = MT_MIN;
	CHECK(vm_mmap(&map, &addr, ptoa(10), VM_PROT_RW, VM_PROT_ALL, MT_FA,
		  NULL, 0) == 0);
	addr = MT_MIN + ptoa(20);
	CHECK(vm_mmap(&map, &addr, ptoa(10), VM_PROT_READ, VM_PROT_READ,
		  MAP_SHARED | MAP_FIXED, obj, ptoa(4)) == 0);
	addr = MT_MIN + ptoa(30);
	CHECK(vm_mmap(&map, &addr, ptoa(2), VM_PROT_READ, VM_PROT_ALL,
		  MAP_PRIVATE | MAP_FIXED, obj, 0) == 0);
	mt_snap(&map, &sn);
	for (i = 0; i < nitems(mt_bad_table); i++) {
		error = mt_bad_call(&map, &mt_bad_table[i], obj);
		CHECKF(error == mt_bad_table[i].expect, "%s: %d, expected %d",
		    mt_bad_table[i].what, error, mt_bad_table[i].expect);
		CHECKF(mt_snap_same(&map, &sn), "%s: the map changed",
		    mt_bad_table[i].what);
	}
	/* What the good calls made. */
	e = vm_map_lookup_entry(&map, MT_MIN + ptoa(20));
	CHECK(e != NULL && e->object == obj && e->pindex == 4 &&
	    (e->eflags & (MAP_ENTRY_COW | MAP_ENTRY_NEEDS_COPY)) == 0 &&
	    e->inheritance == VM_INHERIT_SHARE);
	e = vm_map_lookup_entry(&map, MT_MIN + ptoa(30));
	CHECK(e != NULL && e->object == obj &&
	    (e->eflags & (MAP_ENTRY_COW | MAP_ENTRY_NEEDS_COPY)) ==
		(MAP_ENTRY_COW | MAP_ENTRY_NEEDS_COPY));
	CHECK(obj->ref_count == 3);
	/* MAP_FIXED replaces: [5, 25) over three entries, shared anon. */
	addr = MT_MIN + ptoa(5);
	CHECK(vm_mmap(&map, &addr, ptoa(20), VM_PROT_READ, VM_PROT_ALL,
		  MAP_SHARED | MAP_ANON | MAP_FIXED, NULL, 0) == 0);
	e = vm_map_lookup_entry(&map, MT_MIN + ptoa(5));
	CHECK(e != NULL && e->start == MT_MIN + ptoa(5) &&
	    e->end == MT_MIN + ptoa(25) && e->object != NULL &&
	    e->object != obj);
	e = vm_map_lookup_entry(&map, MT_MIN + ptoa(25));
	CHECK(e != NULL && e->object == obj && e->pindex == 9);
	CHECK(map.nentries == 4 && map.size == ptoa(32));
	/* A hint lands on the lowest free space at or above it. */
	addr = MT_MIN + ptoa(1);
	CHECK(vm_mmap(&map, &addr, ptoa(3), VM_PROT_RW, VM_PROT_ALL, MT_A, NULL,
		  0) == 0 &&
	    addr == MT_MIN + ptoa(32));
	CHECK(vm_munmap(&map, MT_MIN, ptoa(MT_NPG)) == 0);
	CHECK(map.nentries == 0 && map.size == 0 && vm_map_check(&map) == 0);
	CHECK(obj->ref_count == 1);
	vm_map_destroy(&map);
	vm_object_deallocate(obj);
}

static void
test_mmap_bad_input(void)
{
	test_boot(2, NULL);
	test_run(mt_mmap_fn, NULL);
	test_shutdown();
}

/* Each call fails on each of its allocations in turn, changing nothing. */
static void
mt_allocfail_fn(void *arg)
{
	struct vm_map map;
	struct mt_snap sn;
	vm_offset_t addr;
	uint64_t nth;
	int error, k;

	(void)arg;
	vm_map_init(&map, NULL, MT_MIN, MT_MAX, false);
	mt_put(&map, 0, 100);
	mt_snap(&map, &sn);
	for (k = 0; k < 4; k++)
		for (nth = 1; nth <= 4; nth++) {
			md_malloc_fail_nth(nth);
			switch (k) {
			case 0:
				addr = MT_MIN;
				error = vm_map_find(&map, NULL, 0, &addr,
				    PAGE_SIZE, VMFS_ANY_SPACE, VM_PROT_RW,
				    VM_PROT_ALL, 0);
				break;
			case 1:
				error = vm_map_protect(&map, MT_MIN + ptoa(10),
				    MT_MIN + ptoa(20), VM_PROT_READ, false);
				break;
			case 2:
				error = vm_map_remove(
				    &map, MT_MIN + ptoa(30), MT_MIN + ptoa(40));
				break;
			default:
				addr = MT_MIN + ptoa(50);
				error = vm_mmap(&map, &addr, ptoa(10),
				    VM_PROT_READ, VM_PROT_ALL, MT_FA, NULL, 0);
				break;
			}
			md_malloc_fail_nth(0);
			/* Once nth exceeds the call's allocations it succeeds. */
			CHECKF(error == 0 || nth < 4, "call %d: %d", k, error);
			if (error == 0) {
				CHECKF(nth >= 2, "call %d needed no allocation",
				    k);
				mt_snap(&map, &sn);
				break;
			}
			CHECKF(error == ENOMEM, "call %d nth %llu: %d", k,
			    (unsigned long long)nth, error);
			CHECKF(mt_snap_same(&map, &sn),
			    "call %d nth %llu: map changed", k,
			    (unsigned long long)nth);
		}
	CHECK(vm_map_check(&map) == 0);
	vm_map_destroy(&map);
}

static void
test_alloc_failure(void)
{
	test_boot(2, NULL);
	test_run(mt_allocfail_fn, NULL);
	test_shutdown();
}

/* vm_map_lookup() under a read lock, as the fault calls it. */
static int
mt_lookup(struct vm_map *map, vm_offset_t va, vm_prot_t type,
    struct vm_object **objp, vm_prot_t *protp)
{
	struct vm_map_entry *e;
	vm_pindex_t pidx;
	bool wired;
	int error;

	vm_map_lock_read(map);
	error = vm_map_lookup(map, va, type, &e, objp, &pidx, protp, &wired);
	vm_map_unlock_read(map);
	return (error);
}

static void
mt_lookup_fn(void *arg)
{
	struct vm_object *obj = vm_object_allocate(OBJT_DEFAULT, 64), *o, *o2;
	uint64_t upgrades = vm_test_stat("vm.stats.map.lookups_upgraded");
	struct vm_map map;
	struct vm_map_entry *e;
	vm_offset_t addr;
	vm_prot_t prot;

	(void)arg;
	vm_map_init(&map, NULL, MT_MIN, MT_MAX, false);
	addr = MT_MIN;
	CHECK(vm_mmap(&map, &addr, ptoa(8), VM_PROT_RW, VM_PROT_ALL, MT_FA,
		  NULL, 0) == 0);
	addr = MT_MIN + ptoa(8);
	CHECK(vm_mmap(&map, &addr, ptoa(8), VM_PROT_RW, VM_PROT_ALL,
		  MAP_PRIVATE | MAP_FIXED, obj, 0) == 0);
	addr = MT_MIN + ptoa(16);
	CHECK(vm_mmap(&map, &addr, ptoa(1), VM_PROT_READ, VM_PROT_ALL, MT_FA,
		  NULL, 0) == 0);
	vm_map_lock(&map);
	CHECK(vm_map_insert(&map, NULL, 0, MT_MIN + ptoa(17), MT_MIN + ptoa(18),
		  VM_PROT_NONE, VM_PROT_NONE, MAP_ENTRY_NOFAULT) == 0);
	vm_map_unlock(&map);
	/* Anonymous: an object on the first lookup, the same afterwards. */
	CHECK(mt_lookup(&map, MT_MIN + 5, VM_PROT_READ, &o, &prot) == 0 &&
	    o != NULL && prot == VM_PROT_RW);
	CHECK(
	    mt_lookup(&map, MT_MIN + ptoa(7), VM_PROT_WRITE, &o2, &prot) == 0 &&
	    o2 == o);
	/* Needs copy: shared and read-only for reads, shadowed for writes. */
	CHECK(mt_lookup(&map, MT_MIN + ptoa(9), VM_PROT_READ, &o, &prot) == 0 &&
	    o == obj && prot == VM_PROT_READ);
	CHECK(
	    mt_lookup(&map, MT_MIN + ptoa(9), VM_PROT_WRITE, &o, &prot) == 0 &&
	    o != obj && o->backing_object == obj && prot == VM_PROT_RW);
	e = vm_map_lookup_entry(&map, MT_MIN + ptoa(9));
	CHECK(e != NULL && (e->eflags & MAP_ENTRY_NEEDS_COPY) == 0 &&
	    e->pindex == 0);
	CHECK(mt_lookup(&map, MT_MIN + ptoa(16), VM_PROT_WRITE, &o, &prot) ==
	    EACCES);
	CHECK(mt_lookup(&map, MT_MIN + ptoa(17), VM_PROT_READ, &o, &prot) ==
	    EFAULT);
	CHECK(mt_lookup(&map, MT_MIN + ptoa(18), VM_PROT_READ, &o, &prot) ==
	    EFAULT);
	CHECK(vm_test_stat("vm.stats.map.lookups_upgraded") - upgrades == 2);
	CHECK(vm_map_check(&map) == 0);
	vm_map_destroy(&map);
	CHECK(obj->ref_count == 1);
	vm_object_deallocate(obj);
}

static void
test_lookup(void)
{
	test_boot(2, NULL);
	test_run(mt_lookup_fn, NULL);
	test_shutdown();
}

/*
 * The upgrade that fails: a second reader holds the map, so the lookup
 * drops its read lock, waits for the exclusive one and looks up again.
 * Locking key: (a) atomic; (c) constant.
 */
struct mt_relock {
	struct vm_map *rl_map; /* (c) */
	struct vm_object *rl_obj;
	vm_prot_t rl_prot;
	int rl_error;
};

static void
mt_relock_thread(void *arg)
{
	struct mt_relock *rl = arg;

	rl->rl_error = mt_lookup(
	    rl->rl_map, MT_MIN, VM_PROT_WRITE, &rl->rl_obj, &rl->rl_prot);
}

static void
mt_relock_fn(void *arg)
{
	uint64_t relocks = vm_test_stat("vm.stats.map.lookups_relocked");
	struct mt_relock rl = { 0 };
	struct vm_map map;
	struct thread *td;
	vm_offset_t addr = MT_MIN;
	uint32_t ts;
	int i;

	(void)arg;
	vm_map_init(&map, NULL, MT_MIN, MT_MAX, false);
	CHECK(vm_mmap(&map, &addr, ptoa(4), VM_PROT_RW, VM_PROT_ALL, MT_FA,
		  NULL, 0) == 0);
	rl.rl_map = &map;
	vm_map_lock_read(&map);
	ts = map.timestamp;
	CHECK(kthread_create(mt_relock_thread, &rl, -1, KTHR_JOINABLE, &td,
		  "relock") == 0);
	/* The lookup gives up its read lock and waits for ours to go. */
	for (i = 0; i < 1000 &&
	     vm_test_stat("vm.stats.map.lookups_relocked") == relocks;
	     i++)
		pause_ns("mtrelock", 1000000);
	CHECK(vm_test_stat("vm.stats.map.lookups_relocked") == relocks + 1);
	CHECK(map.header.next->object == NULL);
	vm_map_unlock_read(&map);
	kthread_join(td);
	CHECK(rl.rl_error == 0 && rl.rl_obj != NULL &&
	    rl.rl_obj == map.header.next->object && rl.rl_prot == VM_PROT_RW);
	/* The exclusive hold ended in a downgrade: the timestamp moved. */
	CHECK(map.timestamp != ts);
	CHECK(vm_map_check(&map) == 0);
	vm_map_destroy(&map);
}

static void
test_lookup_relock(void)
{
	test_boot(2, NULL);
	test_run(mt_relock_fn, NULL);
	test_shutdown();
}

/* Fork: per inheritance, and the copy-on-write marks on both sides. */
static void
mt_fork_check(struct vmspace *vm1, struct vmspace *vm2, vm_offset_t base)
{
	struct vm_map_entry *p, *c;

	/* [0, 4) COPY touched, [4, 8) SHARE, [8, 12) NONE, [12, 16) COPY. */
	p = vm_map_lookup_entry(&vm1->vm_map, base);
	c = vm_map_lookup_entry(&vm2->vm_map, base);
	CHECK(p != NULL && c != NULL && p->object == c->object &&
	    p->object != NULL &&
	    (p->eflags & c->eflags & MAP_ENTRY_NEEDS_COPY) != 0);
	p = vm_map_lookup_entry(&vm1->vm_map, base + ptoa(4));
	c = vm_map_lookup_entry(&vm2->vm_map, base + ptoa(4));
	CHECK(p != NULL && c != NULL && p->object == c->object &&
	    p->object != NULL &&
	    ((p->eflags | c->eflags) & MAP_ENTRY_NEEDS_COPY) == 0);
	CHECK(vm_map_lookup_entry(&vm2->vm_map, base + ptoa(8)) == NULL);
	c = vm_map_lookup_entry(&vm2->vm_map, base + ptoa(12));
	CHECK(c != NULL && c->object == NULL);
	CHECK(vm2->vm_map.nentries == 3 && vm1->vm_map.nentries == 4 &&
	    vm_map_check(&vm2->vm_map) == 0 && vm_map_check(&vm1->vm_map) == 0);
}

/* Maps a new zero page of obj (page 0) at va, writable, as a fault would. */
static void
mt_enter(pmap_t pm, vm_offset_t va, struct vm_object *obj)
{
	struct vm_page *m;
	int error;

	vm_object_lock(obj);
	m = vm_page_alloc_obj(obj, 0, &error);
	CHECKF(m != NULL, "page: error %d", error);
	if (m != NULL) {
		md_page_zero(vm_page_dmap(m), PAGE_SIZE);
		m->valid = VM_PAGE_BITS_ALL;
		vm_page_activate(m);
	}
	vm_object_unlock(obj);
	if (m == NULL)
		return;
	CHECK(pmap_enter(pm, va, m, VM_PROT_RW, 0, 0) == 0);
	vm_page_xunbusy(m);
}

/* 1 if va is mapped writable, 0 if read-only, -1 if not mapped. */
static int
mt_writable(pmap_t pm, vm_offset_t va)
{
	struct vm_page *m;

	if ((m = pmap_extract_and_hold(pm, va, VM_PROT_WRITE)) != NULL) {
		vm_page_unwire(m);
		return (1);
	}
	if ((m = pmap_extract_and_hold(pm, va, VM_PROT_READ)) != NULL) {
		vm_page_unwire(m);
		return (0);
	}
	return (-1);
}

static void
mt_vmspace_fn(void *arg)
{
	struct vm_object *img = vm_object_allocate(OBJT_DEFAULT, 16), *o;
	struct vm_image vi = { img, 4, 2, 3, 8, 0 };
	struct vmspace *vm1, *vm2, *vm3;
	struct vm_map_entry *e;
	vm_offset_t base = 0x10000000, addr, entry, stack;
	uint64_t forks = vm_test_stat("vm.stats.map.forks");
	vm_prot_t prot;

	(void)arg;
	CHECK((vm1 = vmspace_alloc()) != NULL);
	addr = base;
	CHECK(vm_mmap(&vm1->vm_map, &addr, ptoa(16), VM_PROT_RW, VM_PROT_ALL,
		  MT_FA, NULL, 0) == 0);
	CHECK(vm_map_inherit(&vm1->vm_map, base + ptoa(4), base + ptoa(8),
		  VM_INHERIT_SHARE) == 0);
	CHECK(vm_map_inherit(&vm1->vm_map, base + ptoa(8), base + ptoa(12),
		  VM_INHERIT_NONE) == 0);
	CHECK(mt_lookup(&vm1->vm_map, base, VM_PROT_WRITE, &o, &prot) == 0);
	mt_enter(vmspace_pmap(vm1), base, o);
	CHECK(mt_writable(vmspace_pmap(vm1), base) == 1);
	CHECK((vm2 = vmspace_fork(vm1)) != NULL);
	mt_fork_check(vm1, vm2, base);
	/* Fork write-protected the parent's translation of a COPY entry. */
	CHECK(mt_writable(vmspace_pmap(vm1), base) == 0);
	CHECK(vm_test_stat("vm.stats.map.forks") - forks == 1);
	/* The child's write gets its own object in front of the shared. */
	CHECK(mt_lookup(&vm2->vm_map, base, VM_PROT_WRITE, &o, &prot) == 0 &&
	    o->backing_object ==
		vm_map_lookup_entry(&vm1->vm_map, base)->object);
	vmspace_free(vm2);
	/* Unmapping removes the translation before the page goes. */
	CHECK(vm_munmap(&vm1->vm_map, base, ptoa(4)) == 0);
	CHECK(pmap_extract(vmspace_pmap(vm1), base) == 0);

	/* Exec: text, data, bss, guard, stack. */
	CHECK(vmspace_exec(&vi, &vm3, &entry, &stack) == 0);
	CHECK(entry == 0x400000 && stack == VM_MAX_USER_ADDRESS);
	e = vm_map_lookup_entry(&vm3->vm_map, entry);
	CHECK(e != NULL && e->object == img && e->end == entry + ptoa(4) &&
	    e->protection == (VM_PROT_READ | VM_PROT_EXECUTE) &&
	    (e->max_protection & VM_PROT_WRITE) == 0);
	e = e->next;
	CHECK(e->object == img && e->pindex == 4 &&
	    (e->eflags & MAP_ENTRY_NEEDS_COPY) != 0 &&
	    e->end == entry + ptoa(6));
	e = e->next;
	CHECK(e->object == NULL && e->end == entry + ptoa(9));
	e = vm_map_lookup_entry(&vm3->vm_map, stack - ptoa(9));
	CHECK(e != NULL && (e->eflags & MAP_ENTRY_NOFAULT) != 0);
	e = vm_map_lookup_entry(&vm3->vm_map, stack - PAGE_SIZE);
	CHECK(e != NULL && (e->eflags & MAP_ENTRY_STACK) != 0 &&
	    e->start == stack - ptoa(8));
	CHECK(vm3->vm_map.nentries == 5 && vm_map_check(&vm3->vm_map) == 0);
	CHECK(img->ref_count == 3);
	/* Switching references; the old space goes with the last one. */
	vmspace_switch(vm3);
	CHECK(vmspace_current() == vm3 && vm3->vm_refcnt == 2);
	vmspace_switch(vm1);
	CHECK(vmspace_current() == vm1 && vm3->vm_refcnt == 1);
	vmspace_free(vm3);
	CHECK(img->ref_count == 1);
	vmspace_switch(NULL);
	CHECK(vmspace_current() == NULL && vm1->vm_refcnt == 1);
	vmspace_free(vm1);
	vi.vi_text_addr = 0x1001;
	CHECK(vmspace_exec(&vi, &vm3, &entry, &stack) == EINVAL);
	vi.vi_text_addr = VM_MAX_USER_ADDRESS - ptoa(4);
	CHECK(vmspace_exec(&vi, &vm3, &entry, &stack) == ENOMEM);
	CHECK(img->ref_count == 1);
	vm_object_deallocate(img);
}

static void
test_vmspace(void)
{
	test_boot(2, NULL);
	test_run(mt_vmspace_fn, NULL);
	test_shutdown();
}

/*
 * Scale: n one-page entries with one-page gaps, except a three-page gap
 * in the middle (entry k left out).  Every two-page find-space from below
 * it must return it: the tree search descends through max_free past all
 * the one-page gaps.  The times are printed for information.
 */
static void
mt_scale_fn(void *arg)
{
	const uint64_t n = vm_test_size(20000, 4000), nfind = 20000;
	const uint64_t k = n / 2;
	struct vm_map map;
	vm_offset_t addr, base = 0x10000000;
	uint64_t i, t0, t1, t2;
	int error = 0;

	(void)arg;
	vm_map_init(&map, NULL, base, base + ptoa(4 * n), false);
	t0 = md_nanotime();
	vm_map_lock(&map);
	for (i = 0; i < n && error == 0; i++)
		if (i != k)
			error = vm_map_insert(&map, NULL, 0,
			    base + ptoa(2 * i + 1), base + ptoa(2 * i + 2),
			    VM_PROT_RW, VM_PROT_ALL, 0);
	t1 = md_nanotime();
	for (i = 0; i < nfind && error == 0; i++) {
		error = vm_map_findspace(
		    &map, base + ptoa(i % (2 * k)), ptoa(2), PAGE_SIZE, &addr);
		if (error == 0 && addr != base + ptoa(2 * k))
			error = EDOM;
	}
	t2 = md_nanotime();
	CHECKF(error == 0, "scale: error %d at %llu", error,
	    (unsigned long long)i);
	CHECK(vm_map_check(&map) == 0 && map.nentries == n - 1);
	vm_map_unlock(&map);
	printf("scale: %llu entries, insert %.0f ns, findspace %.0f ns each\n",
	    (unsigned long long)n, (double)(t1 - t0) / (double)n,
	    (double)(t2 - t1) / (double)nfind);
	vm_map_destroy(&map);
}

static void
test_scale(void)
{
	test_boot(2, NULL);
	test_run(mt_scale_fn, NULL);
	test_shutdown();
}

static const struct test_case cases[] = {
	TEST_CASE(test_random_ops),
	TEST_CASE(test_findspace_align),
	TEST_CASE(test_check_planted),
	TEST_CASE(test_mmap_bad_input),
	TEST_CASE(test_alloc_failure),
	TEST_CASE(test_lookup),
	TEST_CASE(test_lookup_relock),
	TEST_CASE(test_vmspace),
	TEST_CASE(test_scale),
};

int
main(int argc, char **argv)
{
	return (test_main(argc, argv, cases, TEST_NCASES(cases)));
}
