/*
 * vm_radix.c: the page trie (see vm_radix.h).
 *
 * Tagged words.  The root and every child slot hold one word:
 *	0				empty;
 *	(uintptr_t)m | VM_RADIX_LEAF	the page m (64-byte aligned);
 *	(uintptr_t)n | 6 * L		the node n (64-byte aligned) of
 *					level L (bits 1-5; bit 0 clear).
 * A node word carries the shift of its node's digit, so an exact lookup
 * goes down reading only the child word it needs, one cache line per
 * level, never the node's header: per level a load, an AND, a shift, an
 * AND and the next load.
 *
 * A node (576 bytes, 9 cache lines):
 *	rn_child[64]	tagged children, by digit rn_clev of the key
 *	rn_owner	the prefix: any of its keys with digits rn_clev and
 *			below cleared
 *	rn_popmap	bit s set iff rn_child[s] is not empty
 *	rn_clev		its level
 * Why 64 children rather than FreeBSD's 16: a million dense pages take 4
 * levels instead of 5 and 9.1 MiB of nodes instead of 10.7, and a lookup
 * that misses the cache misses on fewer lines: bench/radix.c measured
 * lookups 10-30% faster than with 16 children (and dense inserts 35%).
 * The price is memory for sparse keys, whose nodes are mostly empty:
 * 100,000 random 64-bit keys take 17 MiB of nodes instead of 6, and
 * their inserts, which allocate a node each, are about 50% slower.
 *
 * Invariants (vm_radix_check()):
 *	1. a node has at least two children (path compression: a node
 *	   exists only where keys diverge);
 *	2. a child node of a node of level L has a level below L, and the
 *	   child's prefix extends its parent's with digit L equal to the
 *	   child's slot; a leaf in slot s of a node of level L has a key
 *	   whose bits above digit L are the node's prefix and whose digit L
 *	   is s.  Hence keys increase from slot to slot, and all the keys of
 *	   a node lie in [rn_owner, rn_owner + 64^(rn_clev + 1));
 *	3. rn_popmap matches the empty slots, and the shift in a node's
 *	   tagged word is 6 * rn_clev;
 *	4. rn_owner has zero bits at digit rn_clev and below.
 *
 * Exact lookup of key k: from the root, while the word is a node of
 * level L, take its child at digit L of k; at a leaf, compare its key
 * with k.  No prefix is compared on the way: if k is present, the digits
 * of k lead to its leaf (invariant 2); if not, whatever leaf we reach
 * has another key.  A lockless reader relies on the same argument, and
 * on writers changing the trie only by storing complete words:
 *
 * Insertion of page m with key k (at most one node allocated):
 *	1. Go down from the root as for a lookup, but stop at a node whose
 *	   prefix k does not share.
 *	2. Reaching an empty slot: store the leaf there.  Done.
 *	3. Otherwise the word w found (a leaf of key j != k, or a node of
 *	   prefix j that k does not share) moves one level down: allocate a
 *	   node at the highest digit where k and j differ, put the leaf of m
 *	   and w in it, and store the node's word where w was.
 * Removal of key k:
 *	1. Go down as for a lookup; at the leaf, check the key.
 *	2. Empty its slot.
 *	3. If its node is left with one child, store that child's word in
 *	   the slot that held the node, and free the node through
 *	   epoch_call(): readers that entered it still find the other child
 *	   there, so it keeps its contents until it is freed.
 * Each change is one release store of a word whose target is complete
 * (a node is filled before its word is stored anywhere, and a node's
 * prefix and level never change).  A reader loads each word with
 * acquire and sees the trie before or after each store; either way the
 * path to a key present throughout leads to it.
 */
#include "vm/vm_radix.h"

#include "kern/epoch.h"
#include "kern/kassert.h"
#include "md/md_atomic.h"
#include "vm/vm_page.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define VM_RADIX_COUNT (1 << VM_RADIX_WIDTH)
#define VM_RADIX_MASK ((vm_pindex_t)VM_RADIX_COUNT - 1)
#define VM_RADIX_LEVELS howmany(64, VM_RADIX_WIDTH)

#define VM_RADIX_LEAF ((uintptr_t)0x1)
#define VM_RADIX_SHIFTMASK ((uintptr_t)0x3e)
#define VM_RADIX_NODE_ALIGN 64
#define VM_RADIX_PTRMASK (~(uintptr_t)(VM_RADIX_NODE_ALIGN - 1))

/* What a freed node's slots hold (invariant builds): not a node, not a leaf. */
#define VM_RADIX_POISON ((uintptr_t)0xdead0000dead0040ull)
#define VM_RADIX_DEADLEV 0xff

_Static_assert(VM_RADIX_WIDTH % 2 == 0 &&
	(VM_RADIX_LEVELS - 1) * VM_RADIX_WIDTH <= VM_RADIX_SHIFTMASK,
    "a node word's tag bits hold its shift, and bit 0 stays clear");
_Static_assert(VM_RADIX_SHIFTMASK < VM_RADIX_NODE_ALIGN,
    "the tag bits are free in a node's address");
_Static_assert(MD_CACHE_LINE % 2 == 0, "a page's address has bit 0 free");

/* Locking key: (o) the owner's lock; (a) read by lockless readers. */
struct vm_radix_node {
	uintptr_t rn_child[VM_RADIX_COUNT]; /* (o,a) tagged children */
	vm_pindex_t rn_owner;		    /* (c) prefix */
	uint64_t rn_popmap;		    /* (o) non-empty children */
	uint8_t rn_clev;		    /* (c) level */
} __aligned(VM_RADIX_NODE_ALIGN);

_Static_assert(VM_RADIX_COUNT <= 64, "rn_popmap has a bit per child");
_Static_assert(sizeof(struct vm_radix_node) ==
	roundup2(VM_RADIX_COUNT * 8 + 17, VM_RADIX_NODE_ALIGN),
    "a node is its children and a small header");

int vm_radix_fail_alloc_after = -1;
static uint64_t vm_radix_nnodes; /* (a) live nodes, statistic */

static inline bool
vm_radix_isleaf(uintptr_t v)
{
	return ((v & VM_RADIX_LEAF) != 0);
}

static inline struct vm_page *
vm_radix_topage(uintptr_t v)
{
	return ((struct vm_page *)(v & ~VM_RADIX_LEAF));
}

static inline uintptr_t
vm_radix_toleaf(const struct vm_page *m)
{
	return ((uintptr_t)m | VM_RADIX_LEAF);
}

static inline struct vm_radix_node *
vm_radix_tonode(uintptr_t v)
{
	return ((struct vm_radix_node *)(v & VM_RADIX_PTRMASK));
}

/* The shift of the digit a node word's node takes: its level * width. */
static inline int
vm_radix_tagshift(uintptr_t v)
{
	return ((int)(v & VM_RADIX_SHIFTMASK));
}

/* The slot of node word v's node that key `index' takes. */
static inline uintptr_t *
vm_radix_childp(uintptr_t v, vm_pindex_t index)
{
	struct vm_radix_node *n = vm_radix_tonode(v);

	return (&n->rn_child[(index >> vm_radix_tagshift(v)) & VM_RADIX_MASK]);
}

static inline uintptr_t
vm_radix_nodeword(const struct vm_radix_node *n)
{
	return ((uintptr_t)n | (uintptr_t)n->rn_clev * VM_RADIX_WIDTH);
}

static inline uint64_t
vm_radix_bit(int slot)
{
	return ((uint64_t)1 << slot);
}

/* The first and last non-empty slots in a non-empty popmap. */
static inline int
vm_radix_first(uint64_t popmap)
{
	return (__builtin_ctzll(popmap));
}

static inline int
vm_radix_last(uint64_t popmap)
{
	return (63 - __builtin_clzll(popmap));
}

/* Digit `lev' of the key: the slot it takes in a node of that level. */
static inline int
vm_radix_slot(vm_pindex_t index, int lev)
{
	return ((int)((index >> (lev * VM_RADIX_WIDTH)) & VM_RADIX_MASK));
}

/*
 * The key with digits `lev' and below cleared.  Two shifts: for the top
 * level, shift + width is 64, too much for one.
 */
static inline vm_pindex_t
vm_radix_trimkey(vm_pindex_t index, int lev)
{
	return (index &
	    ((~(vm_pindex_t)0 << (lev * VM_RADIX_WIDTH)) << VM_RADIX_WIDTH));
}

/* The highest digit in which two different keys differ. */
static inline int
vm_radix_keydiff(vm_pindex_t a, vm_pindex_t b)
{
	VM_ASSERT(
	    a != b, ("%s: equal keys %#llx", __func__, (unsigned long long)a));
	return ((63 - __builtin_clzll(a ^ b)) / VM_RADIX_WIDTH);
}

/* Does `index' lie outside the keys of node n? */
static inline bool
vm_radix_keybarr(const struct vm_radix_node *n, vm_pindex_t index)
{
	return (vm_radix_trimkey(index, n->rn_clev) != n->rn_owner);
}

/* An empty node of level clev for the keys that share index's prefix. */
static struct vm_radix_node *
vm_radix_node_alloc(vm_pindex_t index, int clev)
{
	struct vm_radix_node *n;

	if (__predict_false(vm_radix_fail_alloc_after >= 0)) {
		if (vm_radix_fail_alloc_after == 0)
			return (NULL);
		vm_radix_fail_alloc_after--;
	}
	n = md_aligned_alloc(VM_RADIX_NODE_ALIGN, sizeof(*n));
	if (n == NULL)
		return (NULL);
	/* Plain stores: nobody sees the node before its word is stored. */
	memset(n->rn_child, 0, sizeof(n->rn_child));
	n->rn_owner = vm_radix_trimkey(index, clev);
	n->rn_popmap = 0;
	n->rn_clev = (uint8_t)clev;
	/* Relaxed: a statistic; nothing is ordered by it. */
	atomic_add_64(&vm_radix_nnodes, 1);
	return (n);
}

/* Frees n now: no reader can reach it. */
static void
vm_radix_node_free(struct vm_radix_node *n)
{
#ifdef VM_INVARIANTS
	int i;

	/* A reader that still walks n trips on the poison (and TSan). */
	for (i = 0; i < VM_RADIX_COUNT; i++)
		n->rn_child[i] = VM_RADIX_POISON;
	n->rn_clev = VM_RADIX_DEADLEV;
#endif
	md_free(n);
	/* Relaxed: a statistic. */
	atomic_add_64(&vm_radix_nnodes, (uint64_t)-1);
}

static void
vm_radix_node_free_deferred(void *arg)
{
	vm_radix_node_free(arg);
}

/* Sets an empty child of a node not yet visible to readers. */
static inline void
vm_radix_node_init_child(struct vm_radix_node *n, int slot, uintptr_t v)
{
	n->rn_child[slot] = v;
	n->rn_popmap |= vm_radix_bit(slot);
}

void
vm_radix_init(struct vm_radix *rtree)
{
	atomic_store_ptr(&rtree->rt_root, 0);
}

bool
vm_radix_is_empty(const struct vm_radix *rtree)
{
	return (rtree->rt_root == 0);
}

uint64_t
vm_radix_nodes_allocated(void)
{
	return (atomic_load_64(&vm_radix_nnodes));
}

int
vm_radix_insert(struct vm_radix *rtree, struct vm_page *m)
{
	struct vm_radix_node *n, *parent = NULL;
	uintptr_t *slotp = &rtree->rt_root, v;
	vm_pindex_t index = m->pindex, other;
	int clev;

	VM_ASSERT(((uintptr_t)m & VM_RADIX_LEAF) == 0,
	    ("%s: page %p misaligned", __func__, (void *)m));
	/* Step 1. */
	for (;;) {
		v = *slotp;
		if (v == 0) {
			/* Step 2.  Release: m->pindex before the leaf. */
			atomic_store_rel_ptr(slotp, vm_radix_toleaf(m));
			if (parent != NULL)
				parent->rn_popmap |= vm_radix_bit(
				    (int)(slotp - parent->rn_child));
			return (0);
		}
		if (vm_radix_isleaf(v)) {
			other = vm_radix_topage(v)->pindex;
			if (other == index)
				return (EEXIST);
			break;
		}
		n = vm_radix_tonode(v);
		if (vm_radix_keybarr(n, index)) {
			other = n->rn_owner;
			break;
		}
		parent = n;
		slotp = &n->rn_child[vm_radix_slot(index, n->rn_clev)];
	}
	/* Step 3. */
	clev = vm_radix_keydiff(index, other);
	VM_ASSERT(parent == NULL || clev < parent->rn_clev,
	    ("%s: new level %d under level %d", __func__, clev,
		parent->rn_clev));
	n = vm_radix_node_alloc(index, clev);
	if (n == NULL)
		return (ENOMEM);
	vm_radix_node_init_child(
	    n, vm_radix_slot(index, clev), vm_radix_toleaf(m));
	vm_radix_node_init_child(n, vm_radix_slot(other, clev), v);
	/* Release: the node's contents (and m->pindex) before its word. */
	atomic_store_rel_ptr(slotp, vm_radix_nodeword(n));
	return (0);
}

struct vm_page *
vm_radix_lookup(struct vm_radix *rtree, vm_pindex_t index)
{
	struct vm_page *m;
	uintptr_t v;

	/* Plain loads: the owner's lock keeps writers out. */
	v = rtree->rt_root;
	while (!vm_radix_isleaf(v)) {
		if (v == 0)
			return (NULL);
		v = *vm_radix_childp(v, index);
	}
	m = vm_radix_topage(v);
	return (m->pindex == index ? m : NULL);
}

/*
 * The lockless walk, each load's sync point in `mode': a constant in both
 * calls below (always inlined), so that the host's walk tests nothing.
 */
static inline __attribute__((always_inline)) struct vm_page *
vm_radix_lookup_unlocked_m(
    struct vm_radix *rtree, vm_pindex_t index, enum md_sync_mode mode)
{
	struct vm_page *m;
	uintptr_t v;

	/*
	 * Acquire, for each word: the node or page it names as it was when
	 * the writer stored the word with release (the node's children, the
	 * page's pindex).
	 */
	v = atomic_load_acq_ptr_m(&rtree->rt_root, mode);
	while (!vm_radix_isleaf(v)) {
		if (v == 0)
			return (NULL);
		v = atomic_load_acq_ptr_m(vm_radix_childp(v, index), mode);
		VM_ASSERT(v != VM_RADIX_POISON,
		    ("%s: key %#llx: walked a freed node", __func__,
			(unsigned long long)index));
	}
	m = vm_radix_topage(v);
	/*
	 * The leaf may be stale and its page recycled under another key:
	 * return it only if it has ours (atomic: its owner may be writing).
	 */
	return (atomic_load_64_m(&m->pindex, mode) == index ? m : NULL);
}

/*
 * The sim's lockless lookup: a function of its own, so that the host's
 * needs no stack frame for the calls to the backend.
 */
static __attribute__((noinline, cold)) struct vm_page *
vm_radix_lookup_unlocked_call(struct vm_radix *rtree, vm_pindex_t index)
{
	return (vm_radix_lookup_unlocked_m(rtree, index, MD_SYNC_MODE_CALL));
}

struct vm_page *
vm_radix_lookup_unlocked(struct vm_radix *rtree, vm_pindex_t index)
{
	/*
	 * One test of the sync mode per lookup rather than per load (see
	 * md_atomic.h): the host's walk is then the locked walk's
	 * instructions, and the sim's still reports every load.
	 */
	if (md_sync_mode() == MD_SYNC_MODE_CALL)
		return (vm_radix_lookup_unlocked_call(rtree, index));
	return (vm_radix_lookup_unlocked_m(rtree, index, MD_SYNC_MODE_NONE));
}

/* The page of the smallest (max false) or largest key under word v. */
static struct vm_page *
vm_radix_edge(uintptr_t v, bool max)
{
	struct vm_radix_node *n;

	while (!vm_radix_isleaf(v)) {
		n = vm_radix_tonode(v);
		v = n->rn_child[max ? vm_radix_last(n->rn_popmap)
				    : vm_radix_first(n->rn_popmap)];
	}
	return (vm_radix_topage(v));
}

/*
 * lookup_ge (ge true) and lookup_le:
 *	1. Go down by the digits of index, stacking the nodes whose prefix
 *	   index shares.
 *	2. At a leaf on the right side of index, it is the answer; at a
 *	   node whose keys all lie on the right side, its edge page is.
 *	3. Otherwise (an empty slot, a leaf or node on the wrong side),
 *	   unstack: the first stacked node with a non-empty slot beyond the
 *	   one index took holds the answer, at the edge of the nearest such
 *	   slot.  None: NULL.
 */
static struct vm_page *
vm_radix_lookup_near(struct vm_radix *rtree, vm_pindex_t index, bool ge)
{
	struct vm_radix_node *stack[VM_RADIX_LEVELS], *n;
	struct vm_page *m;
	uintptr_t v = rtree->rt_root;
	uint64_t beyond;
	int depth = 0, slot;

	/* Steps 1 and 2. */
	while (v != 0) {
		if (vm_radix_isleaf(v)) {
			m = vm_radix_topage(v);
			if (ge ? m->pindex >= index : m->pindex <= index)
				return (m);
			break;
		}
		n = vm_radix_tonode(v);
		if (vm_radix_keybarr(n, index)) {
			if (ge == (n->rn_owner > index))
				return (vm_radix_edge(v, !ge));
			break;
		}
		stack[depth++] = n;
		v = n->rn_child[vm_radix_slot(index, n->rn_clev)];
	}
	/* Step 3. */
	while (depth > 0) {
		n = stack[--depth];
		slot = vm_radix_slot(index, n->rn_clev);
		/* Slots above (ge) or below: 2 << 63 is 0, so ~(0 - 1) is 0. */
		beyond = ge ? n->rn_popmap & ~((vm_radix_bit(slot) << 1) - 1)
			    : n->rn_popmap & (vm_radix_bit(slot) - 1);
		if (beyond != 0)
			return (vm_radix_edge(
			    n->rn_child[ge ? vm_radix_first(beyond)
					   : vm_radix_last(beyond)],
			    !ge));
	}
	return (NULL);
}

struct vm_page *
vm_radix_lookup_ge(struct vm_radix *rtree, vm_pindex_t index)
{
	return (vm_radix_lookup_near(rtree, index, true));
}

struct vm_page *
vm_radix_lookup_le(struct vm_radix *rtree, vm_pindex_t index)
{
	return (vm_radix_lookup_near(rtree, index, false));
}

struct vm_page *
vm_radix_remove(struct vm_radix *rtree, vm_pindex_t index)
{
	struct vm_radix_node *n = NULL;
	struct vm_page *m;
	uintptr_t *slotp = &rtree->rt_root, *nodep = NULL, v;
	int slot = 0;

	/* Step 1. */
	while (!vm_radix_isleaf(v = *slotp)) {
		if (v == 0)
			return (NULL);
		nodep = slotp;
		n = vm_radix_tonode(v);
		slot = vm_radix_slot(index, n->rn_clev);
		slotp = &n->rn_child[slot];
	}
	m = vm_radix_topage(v);
	if (m->pindex != index)
		return (NULL);
	/* Step 2.  Relaxed: an empty word publishes nothing. */
	atomic_store_ptr(slotp, 0);
	if (n == NULL)
		return (m);
	n->rn_popmap &= ~vm_radix_bit(slot);
	/* Step 3. */
	if ((n->rn_popmap & (n->rn_popmap - 1)) == 0) {
		VM_ASSERT(n->rn_popmap != 0,
		    ("%s: node %p had one child", __func__, (void *)n));
		/*
		 * Release: readers that take the new path see the child (and
		 * what it names) as complete as readers through n did.
		 */
		atomic_store_rel_ptr(
		    nodep, n->rn_child[vm_radix_first(n->rn_popmap)]);
		epoch_call(vm_radix_node_free_deferred, n);
	}
	return (m);
}

struct vm_page *
vm_radix_replace(struct vm_radix *rtree, struct vm_page *newm)
{
	struct vm_page *m;
	uintptr_t *slotp = &rtree->rt_root, v;
	vm_pindex_t index = newm->pindex;

	VM_ASSERT(((uintptr_t)newm & VM_RADIX_LEAF) == 0,
	    ("%s: page %p misaligned", __func__, (void *)newm));
	while ((v = *slotp) != 0 && !vm_radix_isleaf(v))
		slotp = vm_radix_childp(v, index);
	m = vm_radix_topage(v);
	if (v == 0 || m->pindex != index)
		VM_PANIC("%s: no page at index %#llx", __func__,
		    (unsigned long long)index);
	/* Release: newm->pindex before the leaf. */
	atomic_store_rel_ptr(slotp, vm_radix_toleaf(newm));
	return (m);
}

/* Frees the nodes under word v (post-order). */
static void
vm_radix_reclaim(uintptr_t v)
{
	struct vm_radix_node *n;
	uint64_t bits;

	if (v == 0 || vm_radix_isleaf(v))
		return;
	n = vm_radix_tonode(v);
	for (bits = n->rn_popmap; bits != 0; bits &= bits - 1)
		vm_radix_reclaim(n->rn_child[vm_radix_first(bits)]);
	vm_radix_node_free(n);
}

void
vm_radix_reclaim_allnodes(struct vm_radix *rtree)
{
	uintptr_t root = rtree->rt_root;

	/* Relaxed: no reader may be inside (see the contract). */
	atomic_store_ptr(&rtree->rt_root, 0);
	vm_radix_reclaim(root);
}

struct vm_radix_iter {
	vm_pindex_t ri_start, ri_end; /* [start, end) */
	int (*ri_fn)(struct vm_page *, void *);
	void *ri_arg;
};

/* In-order walk of the keys of word v in the range; fn's verdict. */
static int
vm_radix_foreach_rec(uintptr_t v, const struct vm_radix_iter *it)
{
	struct vm_radix_node *n;
	struct vm_page *m;
	vm_pindex_t lo, span;
	uint64_t bits;
	int error, s;

	if (vm_radix_isleaf(v)) {
		m = vm_radix_topage(v);
		if (m->pindex >= it->ri_start && m->pindex < it->ri_end)
			return (it->ri_fn(m, it->ri_arg));
		return (0);
	}
	n = vm_radix_tonode(v);
	span = (vm_pindex_t)1 << (n->rn_clev * VM_RADIX_WIDTH);
	for (bits = n->rn_popmap; bits != 0; bits &= bits - 1) {
		s = vm_radix_first(bits);
		/* Slot s holds the keys [lo, lo + span - 1]. */
		lo = n->rn_owner + (vm_pindex_t)s * span;
		if (lo + (span - 1) < it->ri_start)
			continue;
		if (lo >= it->ri_end)
			break;
		if ((error = vm_radix_foreach_rec(n->rn_child[s], it)) != 0)
			return (error);
	}
	return (0);
}

int
vm_radix_foreach(struct vm_radix *rtree, vm_pindex_t start, vm_pindex_t end,
    int (*fn)(struct vm_page *, void *), void *arg)
{
	struct vm_radix_iter it = { start, end, fn, arg };

	if (rtree->rt_root == 0 || start >= end)
		return (0);
	return (vm_radix_foreach_rec(rtree->rt_root, &it));
}

static uint64_t
vm_radix_count_rec(uintptr_t v)
{
	struct vm_radix_node *n;
	uint64_t count = 0, bits;

	if (vm_radix_isleaf(v))
		return (1);
	n = vm_radix_tonode(v);
	for (bits = n->rn_popmap; bits != 0; bits &= bits - 1)
		count += vm_radix_count_rec(n->rn_child[vm_radix_first(bits)]);
	return (count);
}

uint64_t
vm_radix_count(struct vm_radix *rtree)
{
	return (rtree->rt_root == 0 ? 0 : vm_radix_count_rec(rtree->rt_root));
}

struct vm_radix_chk {
	int rc_nerr;
	bool rc_seen;	     /* a leaf was visited */
	vm_pindex_t rc_last; /* the last leaf's key */
};

static void vm_radix_check_word(uintptr_t v, const struct vm_radix_node *parent,
    int slot, struct vm_radix_chk *c);

/* Invariants 1, 3 and 4 for node n, then its children. */
static void
vm_radix_check_node(uintptr_t v, struct vm_radix_chk *c)
{
	struct vm_radix_node *n = vm_radix_tonode(v);
	uint64_t popmap = 0;
	int s;

	if (vm_radix_tagshift(v) != n->rn_clev * VM_RADIX_WIDTH)
		vm_check_fail(&c->rc_nerr,
		    "radix: node %p of level %u carries shift %d", (void *)n,
		    n->rn_clev, vm_radix_tagshift(v));
	if (n->rn_owner != vm_radix_trimkey(n->rn_owner, n->rn_clev))
		vm_check_fail(&c->rc_nerr,
		    "radix: node %p level %u prefix %#llx has low bits",
		    (void *)n, n->rn_clev, (unsigned long long)n->rn_owner);
	for (s = 0; s < VM_RADIX_COUNT; s++)
		if (n->rn_child[s] != 0)
			popmap |= vm_radix_bit(s);
	if (popmap != n->rn_popmap)
		vm_check_fail(&c->rc_nerr,
		    "radix: node %p has children %#llx, popmap %#llx",
		    (void *)n, (unsigned long long)popmap,
		    (unsigned long long)n->rn_popmap);
	if ((popmap & (popmap - 1)) == 0)
		vm_check_fail(&c->rc_nerr,
		    "radix: node %p has children %#llx (fewer than 2)",
		    (void *)n, (unsigned long long)popmap);
	for (s = 0; s < VM_RADIX_COUNT; s++)
		if (n->rn_child[s] != 0)
			vm_radix_check_word(n->rn_child[s], n, s, c);
}

/* Invariant 2 for word v in slot `slot' of parent (NULL: the root). */
static void
vm_radix_check_word(uintptr_t v, const struct vm_radix_node *parent, int slot,
    struct vm_radix_chk *c)
{
	struct vm_radix_node *n;
	vm_pindex_t key;
	int lev;

	if (vm_radix_isleaf(v)) {
		key = vm_radix_topage(v)->pindex;
		if (c->rc_seen && key <= c->rc_last)
			vm_check_fail(&c->rc_nerr,
			    "radix: key %#llx after key %#llx",
			    (unsigned long long)key,
			    (unsigned long long)c->rc_last);
		c->rc_seen = true;
		c->rc_last = key;
	} else {
		n = vm_radix_tonode(v);
		key = n->rn_owner;
		lev = n->rn_clev;
		if (lev >= VM_RADIX_LEVELS ||
		    (parent != NULL && lev >= parent->rn_clev)) {
			vm_check_fail(&c->rc_nerr,
			    "radix: node %p has level %d under level %d%s",
			    (void *)n, lev,
			    parent != NULL ? parent->rn_clev : VM_RADIX_LEVELS,
			    lev == VM_RADIX_DEADLEV ? " (freed)" : "");
			return;
		}
	}
	if (parent != NULL &&
	    (vm_radix_trimkey(key, parent->rn_clev) != parent->rn_owner ||
		vm_radix_slot(key, parent->rn_clev) != slot))
		vm_check_fail(&c->rc_nerr,
		    "radix: %s %#llx in slot %d of node %p (level %u, prefix "
		    "%#llx)",
		    vm_radix_isleaf(v) ? "key" : "prefix",
		    (unsigned long long)key, slot, (const void *)parent,
		    parent->rn_clev, (unsigned long long)parent->rn_owner);
	if (!vm_radix_isleaf(v))
		vm_radix_check_node(v, c);
}

int
vm_radix_check(struct vm_radix *rtree)
{
	struct vm_radix_chk c = { 0, false, 0 };

	if (rtree->rt_root != 0)
		vm_radix_check_word(rtree->rt_root, NULL, 0, &c);
	return (c.rc_nerr);
}
