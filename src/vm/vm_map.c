/*
 * vm_map.c: address maps: the entry tree, finding space, inserting,
 * clipping, removing, protecting, inheritance, the fault's lookup and the
 * checker.  The system-call layer is vm_mmap.c, address spaces
 * vm_vmspace.c; the contract is vm_map.h.
 *
 * Layout.  A map's entries are on two structures at once:
 *  1. the sorted list through map->header: header.next is the lowest
 *     entry, header.prev the highest; header.end = min_offset and
 *     header.start = max_offset, so the list reads as a ring of ranges;
 *  2. an AVL tree keyed by start, with parent pointers; e->balance holds
 *     the height of e's subtree (a leaf: 1), and every node satisfies
 *     |height(left) - height(right)| <= 1.
 * Each entry owns the gap in front of it:
 *	gap(e) = e->start - e->prev->end	(e->prev may be the header)
 *	max_free(e) = max(gap(e), max_free(e->left), max_free(e->right))
 * The tail gap, header.start - header.prev->end, belongs to no entry;
 * find-space tries it last.  Accounting: nentries is the list's length
 * and size the sum of end - start.
 *
 * Why AVL: faults look entries up with the map lock shared, so a lookup
 * must not restructure the tree (a splay tree would).  Changes happen
 * under the exclusive lock and walk from the changed node up to the root
 * recomputing height and max_free (and rotating where a height
 * difference reached 2): O(log n) per change.  An entry's gap depends on
 * its list predecessor, so every change updates the list first and then
 * fixes the tree from each node whose gap or subtree changed.  A new leaf's
 * list neighbours are its tree ancestors, so one walk up fixes both.
 */
#include "vm/vm_map.h"

#include "kern/counter.h"
#include "kern/kassert.h"
#include "kern/lock.h"
#include "md/md.h"
#include "vm/vm_map_int.h"
#include "vm/vm_object.h"

#include <errno.h>
#include <string.h>

static counter_u64_t vm_map_cnt_entries;  /* live entries, all maps */
static counter_u64_t vm_map_cnt_upgrades; /* lookups that upgraded */
static counter_u64_t vm_map_cnt_relocks;  /* ... after dropping */
counter_u64_t vm_map_cnt_forks;
counter_u64_t vm_map_cnt_execs;

static const struct counter_spec vm_map_counters[] = {
	{ &vm_map_cnt_entries, "vm.stats.map.entries",
	    "map entries in existence" },
	{ &vm_map_cnt_upgrades, "vm.stats.map.lookups_upgraded",
	    "fault lookups that took the map lock exclusive" },
	{ &vm_map_cnt_relocks, "vm.stats.map.lookups_relocked",
	    "fault lookups whose upgrade failed (lock dropped, relooked)" },
	{ &vm_map_cnt_forks, "vm.stats.map.forks", "vmspaces forked" },
	{ &vm_map_cnt_execs, "vm.stats.map.execs", "vmspaces made by exec" },
};

#define VM_MAP_ENTRY_EFLAGS                                                    \
	(MAP_ENTRY_COW | MAP_ENTRY_NEEDS_COPY | MAP_ENTRY_NOFAULT |            \
	    MAP_ENTRY_KERNEL | MAP_ENTRY_STACK)

/*
 * Entries and spares.
 */
static struct vm_map_entry *
vm_map_entry_alloc(void)
{
	struct vm_map_entry *e;

	if ((e = md_calloc(1, sizeof(*e))) == NULL)
		return (NULL);
	counter_u64_add(vm_map_cnt_entries, 1);
	return (e);
}

static void
vm_map_entry_free(struct vm_map_entry *e)
{
	counter_u64_add(vm_map_cnt_entries, -1);
	md_free(e);
}

int
vm_map_spare_add(struct vm_map_spare *sp, int n)
{
	int i, n0 = sp->sp_n;

	VM_ASSERT(n0 + n <= VM_MAP_SPARE_MAX,
	    ("%s: %d spares and %d more", __func__, n0, n));
	for (i = 0; i < n; i++) {
		if ((sp->sp_e[sp->sp_n] = vm_map_entry_alloc()) == NULL) {
			while (sp->sp_n > n0)
				vm_map_entry_free(sp->sp_e[--sp->sp_n]);
			return (ENOMEM);
		}
		sp->sp_n++;
	}
	return (0);
}

static struct vm_map_entry *
vm_map_spare_take(struct vm_map_spare *sp)
{
	VM_ASSERT(sp->sp_n > 0, ("%s: no spare entry left", __func__));
	return (sp->sp_e[--sp->sp_n]);
}

void
vm_map_spare_free(struct vm_map_spare *sp)
{
	while (sp->sp_n > 0)
		vm_map_entry_free(sp->sp_e[--sp->sp_n]);
}

/*
 * The tree.
 */
static inline int
vm_map_height(const struct vm_map_entry *e)
{
	return (e == NULL ? 0 : e->balance);
}

static inline vm_offset_t
vm_map_max_free(const struct vm_map_entry *e)
{
	return (e == NULL ? 0 : e->max_free);
}

static inline vm_offset_t
vm_map_entry_gap(const struct vm_map_entry *e)
{
	return (e->start - e->prev->end);
}

static inline vm_offset_t
vm_map_umax(vm_offset_t a, vm_offset_t b)
{
	return (a > b ? a : b);
}

/* Recomputes e's height and max_free from its children and its gap. */
static void
vm_map_entry_fix(struct vm_map_entry *e)
{
	int hl = vm_map_height(e->left), hr = vm_map_height(e->right);

	e->balance = (int8_t)(1 + (hl > hr ? hl : hr));
	e->max_free = vm_map_umax(vm_map_entry_gap(e),
	    vm_map_umax(vm_map_max_free(e->left), vm_map_max_free(e->right)));
}

/* Puts `new' where `old' hangs from `parent' (NULL: the root). */
static void
vm_map_tree_replace(struct vm_map *map, struct vm_map_entry *parent,
    struct vm_map_entry *old, struct vm_map_entry *new)
{
	if (parent == NULL)
		map->root = new;
	else if (parent->left == old)
		parent->left = new;
	else
		parent->right = new;
	if (new != NULL)
		new->parent = parent;
}

/* x's right child takes x's place, x becoming its left child. */
static struct vm_map_entry *
vm_map_rotate_left(struct vm_map *map, struct vm_map_entry *x)
{
	struct vm_map_entry *y = x->right;

	vm_map_tree_replace(map, x->parent, x, y);
	x->right = y->left;
	if (y->left != NULL)
		y->left->parent = x;
	y->left = x;
	x->parent = y;
	vm_map_entry_fix(x);
	vm_map_entry_fix(y);
	return (y);
}

/* x's left child takes x's place, x becoming its right child. */
static struct vm_map_entry *
vm_map_rotate_right(struct vm_map *map, struct vm_map_entry *x)
{
	struct vm_map_entry *y = x->left;

	vm_map_tree_replace(map, x->parent, x, y);
	x->left = y->right;
	if (y->right != NULL)
		y->right->parent = x;
	y->right = x;
	x->parent = y;
	vm_map_entry_fix(x);
	vm_map_entry_fix(y);
	return (y);
}

/*
 * Restores the AVL property at e, whose subtrees are AVL trees with exact
 * heights and max_free, and fixes e; returns the node now in e's place.
 */
static struct vm_map_entry *
vm_map_rebalance(struct vm_map *map, struct vm_map_entry *e)
{
	int d = vm_map_height(e->left) - vm_map_height(e->right);

	if (d > 1) {
		/* Left-right case: first make the left side lean left. */
		if (vm_map_height(e->left->left) <
		    vm_map_height(e->left->right))
			(void)vm_map_rotate_left(map, e->left);
		return (vm_map_rotate_right(map, e));
	}
	if (d < -1) {
		if (vm_map_height(e->right->right) <
		    vm_map_height(e->right->left))
			(void)vm_map_rotate_right(map, e->right);
		return (vm_map_rotate_left(map, e));
	}
	vm_map_entry_fix(e);
	return (e);
}

/* Fixes (and rebalances) every node from e up to the root. */
static void
vm_map_fixup(struct vm_map *map, struct vm_map_entry *e)
{
	while (e != NULL)
		e = vm_map_rebalance(map, e)->parent;
}

/*
 * Links e (start, end set) into the list right after `prev' (the header:
 * first) and into the tree as the leaf just after prev in order.  Its
 * list neighbours, whose gaps changed, are then its tree ancestors, so
 * one walk up fixes the tree.  Map locked exclusive.
 */
static void
vm_map_entry_link(
    struct vm_map *map, struct vm_map_entry *prev, struct vm_map_entry *e)
{
	struct vm_map_entry *p;

	e->prev = prev;
	e->next = prev->next;
	prev->next->prev = e;
	prev->next = e;
	e->left = e->right = NULL;
	if (prev == &map->header) {
		for (p = map->root; p != NULL && p->left != NULL; p = p->left)
			;
		if (p != NULL)
			p->left = e;
	} else if (prev->right == NULL) {
		p = prev;
		p->right = e;
	} else {
		for (p = prev->right; p->left != NULL; p = p->left)
			;
		p->left = e;
	}
	e->parent = p;
	if (p == NULL)
		map->root = e;
	map->nentries++;
	map->size += e->end - e->start;
	vm_map_fixup(map, e);
}

/*
 * Takes e out of the list and the tree (e is not freed).  With two
 * children, e's successor (the leftmost node of its right subtree) takes
 * its place.  Then the tree is fixed from the lowest node that changed,
 * and from e's list successor, whose gap grew.  Map locked exclusive.
 */
static void
vm_map_entry_unlink(struct vm_map *map, struct vm_map_entry *e)
{
	struct vm_map_entry *next = e->next, *s, *from;

	e->prev->next = next;
	next->prev = e->prev;
	if (e->left != NULL && e->right != NULL) {
		s = next; /* the leftmost node of e->right */
		if (s->parent == e) {
			from = s;
		} else {
			from = s->parent;
			from->left = s->right;
			if (s->right != NULL)
				s->right->parent = from;
			s->right = e->right;
			e->right->parent = s;
		}
		s->left = e->left;
		e->left->parent = s;
		vm_map_tree_replace(map, e->parent, e, s);
	} else {
		from = e->parent;
		vm_map_tree_replace(
		    map, from, e, e->left != NULL ? e->left : e->right);
	}
	vm_map_fixup(map, from);
	if (next != &map->header)
		vm_map_fixup(map, next);
	map->nentries--;
	map->size -= e->end - e->start;
}

/*
 * The entry containing addr (returns true) or else the last entry below
 * addr, the header if none (returns false), in *entryp.  Never changes
 * the tree, so a shared lock suffices.
 */
static bool
vm_map_lookup_entry_int(
    struct vm_map *map, vm_offset_t addr, struct vm_map_entry **entryp)
{
	struct vm_map_entry *e = map->root, *below = &map->header;

	while (e != NULL) {
		if (addr < e->start) {
			e = e->left;
			continue;
		}
		if (addr < e->end) {
			*entryp = e;
			return (true);
		}
		below = e;
		e = e->right;
	}
	*entryp = below;
	return (false);
}

/* The entry containing addr, or NULL.  Map locked either way. */
struct vm_map_entry *
vm_map_lookup_entry(struct vm_map *map, vm_offset_t addr)
{
	struct vm_map_entry *e;

	return (vm_map_lookup_entry_int(map, addr, &e) ? e : NULL);
}

/*
 * Locks.  The timestamp changes whenever an exclusive hold ends (unlock
 * or downgrade), since only an exclusive holder changes the map.
 */
void
vm_map_lock(struct vm_map *map)
{
	if (map->system_map)
		lockmgr_xlock(&map->lock.lk);
	else
		sx_xlock(&map->lock.sx);
}

bool
vm_map_trylock(struct vm_map *map)
{
	if (map->system_map)
		return (lockmgr_try_xlock(&map->lock.lk));
	return (sx_try_xlock(&map->lock.sx));
}

void
vm_map_unlock(struct vm_map *map)
{
	map->timestamp++;
	if (map->system_map)
		lockmgr_unlock(&map->lock.lk);
	else
		sx_xunlock(&map->lock.sx);
}

void
vm_map_lock_read(struct vm_map *map)
{
	if (map->system_map)
		lockmgr_slock(&map->lock.lk);
	else
		sx_slock(&map->lock.sx);
}

void
vm_map_unlock_read(struct vm_map *map)
{
	if (map->system_map)
		lockmgr_unlock(&map->lock.lk);
	else
		sx_sunlock(&map->lock.sx);
}

bool
vm_map_trylock_upgrade(struct vm_map *map)
{
	if (map->system_map)
		return (false);
	return (sx_try_upgrade(&map->lock.sx));
}

void
vm_map_lock_downgrade(struct vm_map *map)
{
	map->timestamp++;
	if (map->system_map)
		lockmgr_downgrade(&map->lock.lk);
	else
		sx_downgrade(&map->lock.sx);
}

static bool
vm_map_xlocked(struct vm_map *map)
{
	if (map->system_map)
		return (lockmgr_xowned(&map->lock.lk));
	return (sx_xowned(&map->lock.sx));
}

#define VM_MAP_ASSERT_LOCKED(map)                                              \
	VM_ASSERT(vm_map_xlocked(map),                                         \
	    ("%s: map %p not locked exclusive", __func__, (void *)(map)))

/*
 * Initialisation and teardown.
 */
void
vm_map_init(struct vm_map *map, pmap_t pmap, vm_offset_t min, vm_offset_t max,
    bool kernel)
{
	VM_ASSERT(min < max && (min & PAGE_MASK) == 0 && (max & PAGE_MASK) == 0,
	    ("%s: range [%#llx, %#llx)", __func__, (unsigned long long)min,
		(unsigned long long)max));
	memset(map, 0, sizeof(*map));
	if (kernel)
		lockmgr_init(&map->lock.lk, "vm map (kernel)");
	else
		sx_init(&map->lock.sx, "vm map (user)");
	map->root = NULL;
	map->header.next = map->header.prev = &map->header;
	map->header.start = max;
	map->header.end = min;
	map->min_offset = min;
	map->max_offset = max;
	map->pmap = pmap;
	map->system_map = kernel;
}

/* Removes every entry (releasing objects) and destroys the lock. */
void
vm_map_destroy(struct vm_map *map)
{
	struct vm_map_spare sp = VM_MAP_SPARE_INITIALIZER;

	vm_map_lock(map);
	/* The whole map: no entry needs clipping, so no spare either. */
	vm_map_delete(map, map->min_offset, map->max_offset, &sp);
	vm_map_unlock(map);
	vm_map_lock_destroy(map);
}

void
vm_map_lock_destroy(struct vm_map *map)
{
	if (map->system_map)
		lockmgr_destroy(&map->lock.lk);
	else
		sx_destroy(&map->lock.sx);
}

/*
 * Finding space.
 *
 * vm_map_gap_fit(): the lowest address a >= max(gs, lo), aligned to
 * `align', with [a, a + length) inside the gap [gs, ge): true and *addr,
 * or false.  A gap at least `length' long may still hold no aligned fit.
 */
static bool
vm_map_gap_fit(vm_offset_t gs, vm_offset_t ge, vm_offset_t lo,
    vm_offset_t length, vm_offset_t align, vm_offset_t *addr)
{
	vm_offset_t a = gs > lo ? gs : lo, aligned;

	if (a >= ge)
		return (false);
	aligned = roundup2(a, align);
	if (aligned < a || aligned > ge || ge - aligned < length)
		return (false);
	*addr = aligned;
	return (true);
}

/*
 * The in-order first gap of e's subtree that holds an aligned fit at or
 * above lo.  Subtrees whose max_free is below `length' hold none and are
 * skipped, as are left subtrees lying wholly below lo (their gaps end
 * before e->start <= lo).  Unaligned searches visit O(height) nodes:
 * nodes straddling lo form one path, and the first subtree entered above
 * lo with max_free >= length contains a fit.  An aligned search also
 * visits the gaps that are long enough but hold no aligned fit.
 */
static struct vm_map_entry *
vm_map_findspace_tree(struct vm_map_entry *e, vm_offset_t lo,
    vm_offset_t length, vm_offset_t align, vm_offset_t *addr)
{
	struct vm_map_entry *r;

	for (; e != NULL && e->max_free >= length; e = e->right) {
		if (e->left != NULL && lo < e->start &&
		    (r = vm_map_findspace_tree(
			 e->left, lo, length, align, addr)) != NULL)
			return (r);
		if (vm_map_gap_fit(
			e->prev->end, e->start, lo, length, align, addr))
			return (e);
	}
	return (NULL);
}

/*
 * The lowest address >= start where `length' bytes fit aligned to
 * `align' (a power of two >= PAGE_SIZE) below the map's maximum: 0 and
 * *addr, or ENOMEM.  First the entries' gaps through the tree, then the
 * tail gap.  Map locked (either way: the tree is only read).
 */
int
vm_map_findspace(struct vm_map *map, vm_offset_t start, vm_offset_t length,
    vm_offset_t align, vm_offset_t *addr)
{
	vm_offset_t lo = start > map->min_offset ? start : map->min_offset;

	VM_ASSERT(align >= PAGE_SIZE && (align & (align - 1)) == 0,
	    ("%s: alignment %#llx", __func__, (unsigned long long)align));
	if (length == 0 || length > map->max_offset - map->min_offset ||
	    lo >= map->max_offset)
		return (ENOMEM);
	if (vm_map_findspace_tree(map->root, lo, length, align, addr) != NULL)
		return (0);
	if (vm_map_gap_fit(map->header.prev->end, map->max_offset, lo, length,
		align, addr))
		return (0);
	return (ENOMEM);
}

/*
 * Inserting.
 *
 * vm_map_insert_check(): EINVAL unless [start, end) is a non-empty,
 * page-aligned range inside the map; ENOMEM unless it is free.  *prevp
 * gets the entry the new one goes after.
 */
static int
vm_map_insert_check(struct vm_map *map, vm_offset_t start, vm_offset_t end,
    struct vm_map_entry **prevp)
{
	if (start >= end || (start & PAGE_MASK) != 0 ||
	    (end & PAGE_MASK) != 0 || start < map->min_offset ||
	    end > map->max_offset)
		return (EINVAL);
	if (vm_map_lookup_entry_int(map, start, prevp))
		return (ENOMEM);
	if ((*prevp)->next != &map->header && (*prevp)->next->start < end)
		return (ENOMEM);
	return (0);
}

/* Fills e for vm_map_insert() and links it after prev. */
static void
vm_map_insert_entry(struct vm_map *map, struct vm_map_entry *prev,
    struct vm_map_entry *e, struct vm_object *obj, vm_pindex_t pindex,
    vm_offset_t start, vm_offset_t end, vm_prot_t prot, vm_prot_t max,
    uint32_t cow)
{
	VM_ASSERT((prot & ~max) == 0 && (max & ~VM_PROT_ALL) == 0,
	    ("%s: prot %#x max %#x", __func__, prot, max));
	e->start = start;
	e->end = end;
	e->object = obj;
	e->pindex = pindex;
	e->protection = prot;
	e->max_protection = max;
	e->inheritance =
	    (cow & MAP_INHERIT_SHARE) != 0 ? VM_INHERIT_SHARE : VM_INHERIT_COPY;
	e->eflags = cow & VM_MAP_ENTRY_EFLAGS;
	e->wired_count = (cow & MAP_ENTRY_KERNEL) != 0 ? 1 : 0;
	vm_map_entry_link(map, prev, e);
}

int
vm_map_insert_spare(struct vm_map *map, struct vm_map_spare *sp,
    struct vm_object *obj, vm_pindex_t pindex, vm_offset_t start,
    vm_offset_t end, vm_prot_t prot, vm_prot_t max, uint32_t cow)
{
	struct vm_map_entry *prev;
	int error;

	VM_MAP_ASSERT_LOCKED(map);
	if ((error = vm_map_insert_check(map, start, end, &prev)) != 0)
		return (error);
	vm_map_insert_entry(map, prev, vm_map_spare_take(sp), obj, pindex,
	    start, end, prot, max, cow);
	return (0);
}

/* See vm_map.h.  Map locked exclusive. */
int
vm_map_insert(struct vm_map *map, struct vm_object *obj, vm_pindex_t pindex,
    vm_offset_t start, vm_offset_t end, vm_prot_t prot, vm_prot_t max,
    uint32_t cow)
{
	struct vm_map_entry *prev, *e;
	int error;

	VM_MAP_ASSERT_LOCKED(map);
	if ((error = vm_map_insert_check(map, start, end, &prev)) != 0)
		return (error);
	if ((e = vm_map_entry_alloc()) == NULL)
		return (ENOMEM);
	vm_map_insert_entry(
	    map, prev, e, obj, pindex, start, end, prot, max, cow);
	return (0);
}

/*
 * The alignment a VMFS_* request asks for, given the length; 0 for a bad
 * request.  VMFS_SUPER_SPACE is NBPDR for lengths of at least NBPDR
 * (the caller falls back to pages if that fails).
 */
static vm_offset_t
vm_map_find_align(int find_space, vm_offset_t length)
{
	int n;

	if (find_space == VMFS_ANY_SPACE)
		return (PAGE_SIZE);
	if (find_space == VMFS_SUPER_SPACE)
		return (length >= NBPDR ? NBPDR : PAGE_SIZE);
	if ((find_space & 0xff) != 0x10)
		return (0);
	n = find_space >> 8;
	if (n >= 64)
		return (0);
	return (n < PAGE_SHIFT ? PAGE_SIZE : (vm_offset_t)1 << n);
}

/*
 * See vm_map.h.  EINVAL also for a zero or unaligned length and an
 * unknown find_space.  Map unlocked.
 */
int
vm_map_find(struct vm_map *map, struct vm_object *obj, vm_pindex_t pindex,
    vm_offset_t *addr, vm_offset_t length, int find_space, vm_prot_t prot,
    vm_prot_t max, uint32_t cow)
{
	vm_offset_t align = PAGE_SIZE, start = *addr;
	int error;

	if (length == 0 || (length & PAGE_MASK) != 0 ||
	    (find_space != VMFS_NO_SPACE &&
		(align = vm_map_find_align(find_space, length)) == 0))
		return (EINVAL);
	vm_map_lock(map);
	if (find_space != VMFS_NO_SPACE) {
		error = vm_map_findspace(map, *addr, length, align, &start);
		if (error != 0 && align > PAGE_SIZE &&
		    find_space == VMFS_SUPER_SPACE)
			error = vm_map_findspace(
			    map, *addr, length, PAGE_SIZE, &start);
		if (error != 0)
			goto out;
	}
	error = vm_map_insert(
	    map, obj, pindex, start, start + length, prot, max, cow);
	if (error == 0)
		*addr = start;
out:
	vm_map_unlock(map);
	return (error);
}

/*
 * Clipping.  vm_map_clip_start() splits e at addr (inside it) so that e
 * begins at addr, the part below becoming a new entry (from `sp') in
 * front of it; vm_map_clip_end() so that e ends at addr.  The new entry
 * shares e's object (a new reference).  Map locked exclusive.
 */
static void
vm_map_clip_start(struct vm_map *map, struct vm_map_entry *e, vm_offset_t addr,
    struct vm_map_spare *sp)
{
	struct vm_map_entry *n;

	if (addr <= e->start)
		return;
	n = vm_map_spare_take(sp);
	*n = *e;
	n->end = addr;
	map->size -= addr - e->start;
	e->pindex += atop(addr - e->start);
	e->start = addr;
	if (n->object != NULL)
		vm_object_reference(n->object);
	/* n is e's in-order predecessor, so e is fixed on n's way up. */
	vm_map_entry_link(map, e->prev, n);
}

static void
vm_map_clip_end(struct vm_map *map, struct vm_map_entry *e, vm_offset_t addr,
    struct vm_map_spare *sp)
{
	struct vm_map_entry *n;

	if (addr >= e->end)
		return;
	n = vm_map_spare_take(sp);
	*n = *e;
	n->start = addr;
	n->pindex += atop(addr - e->start);
	map->size -= e->end - addr;
	e->end = addr;
	if (n->object != NULL)
		vm_object_reference(n->object);
	vm_map_entry_link(map, e, n);
}

int
vm_map_clip_reserve(struct vm_map *map, vm_offset_t start, vm_offset_t end,
    struct vm_map_spare *sp)
{
	struct vm_map_entry *e;
	int n = 0;

	VM_MAP_ASSERT_LOCKED(map);
	if (vm_map_lookup_entry_int(map, start, &e) && e->start < start)
		n++;
	if (vm_map_lookup_entry_int(map, end, &e) && e->start < end)
		n++;
	return (vm_map_spare_add(sp, n));
}

/*
 * Clips the entries at start and end and returns the first entry inside
 * [start, end) (the header or an entry at or above end if none).
 */
static struct vm_map_entry *
vm_map_clip_range(struct vm_map *map, vm_offset_t start, vm_offset_t end,
    struct vm_map_spare *sp)
{
	struct vm_map_entry *e, *first, *last;

	if (vm_map_lookup_entry_int(map, start, &e))
		vm_map_clip_start(map, e, start, sp);
	else
		e = e->next;
	first = e;
	if (end > start && vm_map_lookup_entry_int(map, end - 1, &last))
		vm_map_clip_end(map, last, end, sp);
	return (first);
}

/*
 * The kernel map with vm.kmem.bulk_remove=0 (DragonFly before 5eab490e):
 * one pmap_remove per page of each entry from e up to `end', so one
 * shootdown per resident page.
 */
static void
vm_map_pmap_remove_pages(
    struct vm_map *map, struct vm_map_entry *e, vm_offset_t end)
{
	vm_offset_t va;

	for (; e != &map->header && e->start < end; e = e->next)
		for (va = e->start; va < e->end; va += PAGE_SIZE)
			pmap_remove(map->pmap, va, va + PAGE_SIZE);
}

/*
 * Removing.  vm_map_delete(): (1) clips at start and end with the spares
 * reserved by the caller; (2) removes the range's translations with one
 * pmap_remove over the mapped span (its walk skips empty tables; the
 * kernel map with vm.kmem.bulk_remove=0: one per page), before
 * any object is released, so no CPU can reach a page freed in (3); (3)
 * unlinks the entries, dropping their object references.  Map locked
 * exclusive.
 */
void
vm_map_delete(struct vm_map *map, vm_offset_t start, vm_offset_t end,
    struct vm_map_spare *sp)
{
	struct vm_map_entry *e, *last, *next;

	VM_MAP_ASSERT_LOCKED(map);
	e = vm_map_clip_range(map, start, end, sp);
	if (e == &map->header || e->start >= end)
		return;
	if (map->pmap != NULL && atomic_load_int(&map->remove_per_page) != 0)
		vm_map_pmap_remove_pages(map, e, end);
	else if (map->pmap != NULL) {
		(void)vm_map_lookup_entry_int(map, end - 1, &last);
		pmap_remove(map->pmap, e->start, last->end);
	}
	for (; e != &map->header && e->start < end; e = next) {
		next = e->next;
		vm_map_entry_unlink(map, e);
		if (e->object != NULL)
			vm_object_deallocate(e->object);
		vm_map_entry_free(e);
	}
}

/* EINVAL unless [start, end) is page-aligned and inside the map. */
static int
vm_map_range_check(struct vm_map *map, vm_offset_t start, vm_offset_t end)
{
	if (start > end || (start & PAGE_MASK) != 0 || (end & PAGE_MASK) != 0 ||
	    start < map->min_offset || end > map->max_offset)
		return (EINVAL);
	return (0);
}

/* See vm_map.h.  Map unlocked. */
int
vm_map_remove(struct vm_map *map, vm_offset_t start, vm_offset_t end)
{
	struct vm_map_spare sp = VM_MAP_SPARE_INITIALIZER;
	int error;

	if ((error = vm_map_range_check(map, start, end)) != 0 || start == end)
		return (error);
	vm_map_lock(map);
	if ((error = vm_map_clip_reserve(map, start, end, &sp)) == 0)
		vm_map_delete(map, start, end, &sp);
	vm_map_unlock(map);
	vm_map_spare_free(&sp);
	return (error);
}

/*
 * Protection.  vm_map_protect_check(): the first problem of [start, end)
 * in address order: ENOMEM at a hole, EACCES at an entry whose maximum
 * does not allow `prot'; 0 if none.
 */
static int
vm_map_protect_check(
    struct vm_map *map, vm_offset_t start, vm_offset_t end, vm_prot_t prot)
{
	struct vm_map_entry *e;
	vm_offset_t covered;

	if (!vm_map_lookup_entry_int(map, start, &e))
		return (ENOMEM);
	for (covered = e->start; e != &map->header && e->start < end;
	     e = e->next) {
		if (e->start != covered)
			return (ENOMEM);
		if ((prot & ~e->max_protection) != 0)
			return (EACCES);
		covered = e->end;
	}
	return (covered >= end ? 0 : ENOMEM);
}

/*
 * Sets the protection (or the maximum) of the entries of [start, end),
 * already clipped, from `first'; an entry that lost a permission has its
 * translations lowered in the pmap.
 */
static void
vm_map_protect_apply(struct vm_map *map, struct vm_map_entry *first,
    vm_offset_t end, vm_prot_t prot, bool set_max)
{
	struct vm_map_entry *e;
	vm_prot_t old;

	for (e = first; e != &map->header && e->start < end; e = e->next) {
		old = e->protection;
		if (set_max) {
			e->max_protection = prot;
			e->protection &= prot;
		} else
			e->protection = prot;
		if (map->pmap != NULL && (old & ~e->protection) != 0)
			pmap_protect(
			    map->pmap, e->start, e->end, e->protection);
	}
}

/* See vm_map.h.  Map unlocked. */
int
vm_map_protect(struct vm_map *map, vm_offset_t start, vm_offset_t end,
    vm_prot_t prot, bool set_max)
{
	struct vm_map_spare sp = VM_MAP_SPARE_INITIALIZER;
	struct vm_map_entry *first;
	int error;

	if ((prot & ~VM_PROT_ALL) != 0 || start > end ||
	    (start & PAGE_MASK) != 0 || (end & PAGE_MASK) != 0)
		return (EINVAL);
	if (start == end)
		return (0);
	if (start < map->min_offset || end > map->max_offset)
		return (ENOMEM);
	vm_map_lock(map);
	if ((error = vm_map_protect_check(map, start, end, prot)) == 0 &&
	    (error = vm_map_clip_reserve(map, start, end, &sp)) == 0) {
		first = vm_map_clip_range(map, start, end, &sp);
		vm_map_protect_apply(map, first, end, prot, set_max);
	}
	vm_map_unlock(map);
	vm_map_spare_free(&sp);
	return (error);
}

/* See vm_map.h.  Map unlocked. */
int
vm_map_inherit(
    struct vm_map *map, vm_offset_t start, vm_offset_t end, vm_inherit_t inh)
{
	struct vm_map_spare sp = VM_MAP_SPARE_INITIALIZER;
	struct vm_map_entry *e;
	int error;

	if (inh != VM_INHERIT_SHARE && inh != VM_INHERIT_COPY &&
	    inh != VM_INHERIT_NONE)
		return (EINVAL);
	if ((error = vm_map_range_check(map, start, end)) != 0 || start == end)
		return (error);
	vm_map_lock(map);
	if ((error = vm_map_clip_reserve(map, start, end, &sp)) == 0) {
		e = vm_map_clip_range(map, start, end, &sp);
		for (; e != &map->header && e->start < end; e = e->next)
			e->inheritance = inh;
	}
	vm_map_unlock(map);
	vm_map_spare_free(&sp);
	return (error);
}

int
vm_map_entry_copy_append(struct vm_map *map, const struct vm_map_entry *src)
{
	struct vm_map_entry *e;

	VM_MAP_ASSERT_LOCKED(map);
	VM_ASSERT(map->header.prev->end <= src->start &&
		src->end <= map->max_offset && src->start >= map->min_offset,
	    ("%s: entry [%#llx, %#llx) out of order", __func__,
		(unsigned long long)src->start, (unsigned long long)src->end));
	if ((e = vm_map_entry_alloc()) == NULL)
		return (ENOMEM);
	*e = *src;
	e->wired_count = 0;
	vm_map_entry_link(map, map->header.prev, e);
	return (0);
}

/*
 * The fault's lookup.
 *
 * vm_map_entry_own_object() (vm_map_int.h): gives e an object of its
 * own: a new anonymous object if it has none, a shadow of its shared
 * object if it still needs its copy; clears NEEDS_COPY.  0 or ENOMEM
 * (nothing changed).  Map locked exclusive.  The fault's lookup calls it
 * for an entry without an object, or for a write to one that needs a
 * copy; fork, before an entry is shared.
 */
int
vm_map_entry_own_object(struct vm_map_entry *e)
{
	struct vm_object *obj;
	int error;

	if (e->object == NULL) {
		obj = vm_object_allocate(OBJT_DEFAULT, atop(e->end - e->start));
		if (obj == NULL)
			return (ENOMEM);
		e->object = obj;
		e->pindex = 0;
	} else if ((e->eflags & MAP_ENTRY_NEEDS_COPY) != 0) {
		error = vm_object_shadow(
		    &e->object, e->pindex, atop(e->end - e->start));
		if (error != 0)
			return (error);
		e->pindex = 0;
	}
	/* A new object is shared by no one: there is nothing to copy. */
	e->eflags &= ~MAP_ENTRY_NEEDS_COPY;
	return (0);
}

static int
vm_map_lookup_fix(struct vm_map_entry *e, vm_prot_t fault_type)
{
	if (e->object == NULL ||
	    ((e->eflags & MAP_ENTRY_NEEDS_COPY) != 0 &&
		(fault_type & VM_PROT_WRITE) != 0))
		return (vm_map_entry_own_object(e));
	return (0);
}

/* Whether a fault of `fault_type' on e must change e (exclusive lock). */
static bool
vm_map_lookup_needs_fix(const struct vm_map_entry *e, vm_prot_t fault_type)
{
	return (e->object == NULL ||
	    ((e->eflags & MAP_ENTRY_NEEDS_COPY) != 0 &&
		(fault_type & VM_PROT_WRITE) != 0));
}

/*
 * See vm_map.h.  The lock protocol: entered and left with the map lock
 * read-held.  When the entry must change (it has no object yet, or a
 * write finds it NEEDS_COPY), the lock is upgraded: by
 * vm_map_trylock_upgrade() if this is the only reader, else by dropping
 * the read lock and taking the exclusive one, after which the lookup
 * starts over (the map may have changed meanwhile; the entry may be gone
 * or already fixed by another fault).  After the change the lock is
 * downgraded back to shared, which bumps the timestamp.  So the caller
 * must not keep anything it looked up in the map before the call.
 */
int
vm_map_lookup(struct vm_map *map, vm_offset_t vaddr, vm_prot_t fault_type,
    struct vm_map_entry **entryp, struct vm_object **objp, vm_pindex_t *pindexp,
    vm_prot_t *protp, bool *wiredp)
{
	struct vm_map_entry *e;
	bool exclusive = false;
	int error = 0;

retry:
	if (!vm_map_lookup_entry_int(map, vaddr, &e) ||
	    (e->eflags & MAP_ENTRY_NOFAULT) != 0)
		error = EFAULT;
	else if ((fault_type & ~e->protection) != 0)
		error = EACCES;
	else if (vm_map_lookup_needs_fix(e, fault_type)) {
		if (!exclusive) {
			exclusive = true;
			counter_u64_add(vm_map_cnt_upgrades, 1);
			if (!vm_map_trylock_upgrade(map)) {
				counter_u64_add(vm_map_cnt_relocks, 1);
				vm_map_unlock_read(map);
				vm_map_lock(map);
			}
			goto retry;
		}
		error = vm_map_lookup_fix(e, fault_type);
	}
	if (exclusive)
		vm_map_lock_downgrade(map);
	if (error != 0)
		return (error);
	*entryp = e;
	*objp = e->object;
	*pindexp = e->pindex + atop(trunc_page(vaddr) - e->start);
	*protp = e->protection;
	if ((e->eflags & MAP_ENTRY_NEEDS_COPY) != 0)
		*protp &= ~VM_PROT_WRITE;
	*wiredp = e->wired_count != 0;
	return (0);
}

/*
 * The checker.
 *
 * vm_map_check_list(): walks the list: order, disjointness, bounds,
 * alignment, list links, nentries and size.
 */
static int
vm_map_check_list(struct vm_map *map)
{
	struct vm_map_entry *e;
	uint64_t n = 0, size = 0;
	vm_offset_t below = map->min_offset;
	int bad = 0;

#define VM_MAP_BAD(...)                                                        \
	do {                                                                   \
		md_printf("vm_map_check: map %p: ", (void *)map);              \
		md_printf(__VA_ARGS__);                                        \
		md_printf("\n");                                               \
		bad++;                                                         \
	} while (0)
	for (e = map->header.next; e != &map->header && n <= map->nentries;
	     e = e->next, n++) {
		if (e->start >= e->end ||
		    ((e->start | e->end) & PAGE_MASK) != 0)
			VM_MAP_BAD("entry %p: bad range [%#llx, %#llx)",
			    (void *)e, (unsigned long long)e->start,
			    (unsigned long long)e->end);
		if (e->start < below)
			VM_MAP_BAD("entry %p at %#llx overlaps or precedes "
				   "%#llx (order or bounds)",
			    (void *)e, (unsigned long long)e->start,
			    (unsigned long long)below);
		if (e->next->prev != e)
			VM_MAP_BAD("entry %p: next->prev is %p", (void *)e,
			    (void *)e->next->prev);
		below = e->end > below ? e->end : below;
		size += e->end - e->start;
	}
	if (below > map->max_offset)
		VM_MAP_BAD("entries end at %#llx above the maximum %#llx",
		    (unsigned long long)below,
		    (unsigned long long)map->max_offset);
	if (n != map->nentries)
		VM_MAP_BAD("%llu entries listed, nentries %u",
		    (unsigned long long)n, map->nentries);
	if (size != map->size)
		VM_MAP_BAD("%llu bytes listed, size %llu",
		    (unsigned long long)size, (unsigned long long)map->size);
	return (bad);
}

/*
 * Checks e's node against its children's stored values (parent links,
 * height, balance, max_free, key order), so that one bad node is
 * reported once, by itself, not by all its ancestors.
 */
static int
vm_map_check_node(struct vm_map *map, struct vm_map_entry *e)
{
	int hl = vm_map_height(e->left), hr = vm_map_height(e->right);
	int bad = 0;
	vm_offset_t mf;

	if ((e->left != NULL && e->left->parent != e) ||
	    (e->right != NULL && e->right->parent != e))
		VM_MAP_BAD(
		    "entry %p: a child's parent link is wrong", (void *)e);
	if ((e->left != NULL && e->left->start >= e->start) ||
	    (e->right != NULL && e->right->start <= e->start))
		VM_MAP_BAD("entry %p at %#llx: children out of order",
		    (void *)e, (unsigned long long)e->start);
	if (e->balance != 1 + (hl > hr ? hl : hr))
		VM_MAP_BAD("entry %p: height %d, children %d and %d", (void *)e,
		    e->balance, hl, hr);
	if (hl - hr > 1 || hr - hl > 1)
		VM_MAP_BAD("entry %p: unbalanced, heights %d and %d", (void *)e,
		    hl, hr);
	mf = vm_map_umax(vm_map_entry_gap(e),
	    vm_map_umax(vm_map_max_free(e->left), vm_map_max_free(e->right)));
	if (e->max_free != mf)
		VM_MAP_BAD("entry %p at %#llx: max_free %#llx, should be "
			   "%#llx",
		    (void *)e, (unsigned long long)e->start,
		    (unsigned long long)e->max_free, (unsigned long long)mf);
	return (bad);
}

/*
 * The tree walked in order (iteratively, by parent links) against the
 * list, checking each node on the way.  A walk that meets more nodes
 * than nentries (a cycle) stops.
 */
static int
vm_map_check_tree(struct vm_map *map)
{
	struct vm_map_entry *e = map->root, *l = map->header.next;
	uint64_t n = 0;
	int bad = 0;

	if (e != NULL && e->parent != NULL)
		VM_MAP_BAD("root %p has a parent", (void *)e);
	while (e != NULL && e->left != NULL)
		e = e->left;
	for (; e != NULL && n <= map->nentries; n++) {
		bad += vm_map_check_node(map, e);
		if (e != l) {
			VM_MAP_BAD("in-order entry %llu is %p, list has %p",
			    (unsigned long long)n, (void *)e, (void *)l);
			return (bad);
		}
		l = l->next;
		if (e->right != NULL) {
			for (e = e->right; e->left != NULL; e = e->left)
				;
			continue;
		}
		while (e->parent != NULL && e->parent->right == e)
			e = e->parent;
		e = e->parent;
	}
	if (n != map->nentries)
		VM_MAP_BAD("%llu entries in the tree, nentries %u",
		    (unsigned long long)n, map->nentries);
	return (bad);
}

/* See vm_map.h.  Map locked or quiescent. */
int
vm_map_check(struct vm_map *map)
{
	int bad = 0;

	if (map->header.end != map->min_offset ||
	    map->header.start != map->max_offset)
		VM_MAP_BAD("header [%#llx, %#llx) is not [max, min)",
		    (unsigned long long)map->header.start,
		    (unsigned long long)map->header.end);
	bad += vm_map_check_list(map);
	bad += vm_map_check_tree(map);
	return (bad);
}
#undef VM_MAP_BAD

/*
 * Boot: the map locks' ranks (a user map before the kernel map, both
 * before objects) and the statistics.  A failure undoes itself.
 */
int
vm_map_init_boot(void)
{
	static const struct lock_rank ranks[] = {
		{ "vm map (user)", 460, 0 },
		{ "vm map (kernel)", 470, 0 },
	};
	int error;

	if ((error = witness_register(ranks, nitems(ranks))) != 0)
		return (error);
	return (
	    counter_u64_alloc_table(vm_map_counters, nitems(vm_map_counters)));
}

void
vm_map_fini_boot(void)
{
	counter_u64_free_table(vm_map_counters, nitems(vm_map_counters));
}
