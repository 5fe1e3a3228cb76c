/*
 * vm_radix.h: the pages of an object, in a path-compressed radix trie
 * keyed by page index, with lockless lookups.
 *
 * Layout (details in vm_radix.c).  A 64-bit key is cut into digits of
 * VM_RADIX_WIDTH = 6 bits; digit L is bits [6L, 6L + 6) (the top one,
 * digit 10, has 4).  An internal node of level L has 64 children, chosen
 * by digit L of the key, and records the bits of the key above digit L
 * that all its keys share (its prefix).  A node exists only where at
 * least two keys diverge, so a node has 2 to 64 children and levels
 * decrease strictly downwards: sparse keys do not build chains of
 * one-child nodes.  A child is empty, a leaf (the struct vm_page itself,
 * tagged), or a node, whose level the low bits of the pointer to it
 * carry, so that an exact lookup reads one child word per level and the
 * page's pindex at the end.
 *
 * Concurrency.  Correctness is only provided if:
 *	- every function but vm_radix_lookup_unlocked() runs with the
 *	  owner's lock held (the object lock): writers are serialised, and
 *	  the locked lookups see a stable trie;
 *	- vm_radix_lookup_unlocked() runs inside epoch_enter()/epoch_exit()
 *	  (kern/epoch.h).  It may run concurrently with one writer.  It
 *	  returns either NULL or a page whose pindex equals the key, read
 *	  when found; a page that is present during the whole call is
 *	  found.  The page may have left the trie (and the object) since:
 *	  the caller re-validates ownership, which type-stable pages allow;
 *	- vm_radix_remove() runs in a kernel thread of a booted machine: it
 *	  frees an unlinked node through epoch_call(), once no reader can be
 *	  inside it.  vm_radix_insert() and vm_radix_replace() never free;
 *	- vm_radix_reclaim_allnodes() runs with no reader anywhere in the
 *	  trie (it frees at once, e.g. when the object dies).
 * The pages themselves are the caller's: the trie only reads m->pindex,
 * which must not change while m is in the trie.
 *
 * Locking key:
 *	(o) the owner's lock (object lock) for writes
 *	(a) read atomically by lockless readers
 */
#ifndef VMLAB_VM_RADIX_H
#define VMLAB_VM_RADIX_H

#include "vm/vm_param.h"

#include <stdbool.h>
#include <stdint.h>

struct vm_page;

/* Bits of the key per level: nodes have 1 << VM_RADIX_WIDTH children. */
#define VM_RADIX_WIDTH 6

struct vm_radix {
	uintptr_t rt_root; /* (o,a) tagged: empty, leaf or node */
};

/* The empty trie. */
void vm_radix_init(struct vm_radix *rtree);
bool vm_radix_is_empty(const struct vm_radix *rtree);

/*
 * Inserts m at key m->pindex.  Returns 0, EEXIST if the key is present,
 * or ENOMEM if a node was needed and could not be allocated; on error
 * the trie is unchanged.  At most one node is allocated.  Owner's lock.
 */
int vm_radix_insert(struct vm_radix *rtree, struct vm_page *m);

/* The page with key `index', or NULL.  Owner's lock. */
struct vm_page *vm_radix_lookup(struct vm_radix *rtree, vm_pindex_t index);

/*
 * The page with key `index', or NULL, without the lock: see the contract
 * above.  Inside an epoch section.
 */
struct vm_page *vm_radix_lookup_unlocked(
    struct vm_radix *rtree, vm_pindex_t index);

/*
 * The page of the smallest key >= index (_ge), of the largest key <=
 * index (_le), or NULL if there is none.  Owner's lock.
 */
struct vm_page *vm_radix_lookup_ge(struct vm_radix *rtree, vm_pindex_t index);
struct vm_page *vm_radix_lookup_le(struct vm_radix *rtree, vm_pindex_t index);

/*
 * Removes the page with key `index' and returns it, or returns NULL if
 * there is none.  A node left with one child is unlinked and freed
 * through epoch_call().  Owner's lock, in a kernel thread.
 */
struct vm_page *vm_radix_remove(struct vm_radix *rtree, vm_pindex_t index);

/*
 * Puts newm in place of the page with key newm->pindex, which must be
 * present (panics otherwise), and returns that page.  Owner's lock.
 */
struct vm_page *vm_radix_replace(struct vm_radix *rtree, struct vm_page *newm);

/*
 * Frees every node at once and empties the trie; the pages are not
 * touched.  Owner's lock, and no lockless reader may be inside the trie
 * (nor enter it before the trie is reused).
 */
void vm_radix_reclaim_allnodes(struct vm_radix *rtree);

/*
 * Calls fn(m, arg) for each page whose key is in [start, end), in
 * increasing key order, until fn returns non-zero; returns that value,
 * or 0.  (The range is half-open: key UINT64_MAX is never visited, use
 * vm_radix_lookup_le() for it.)  fn must not modify the trie.  Owner's
 * lock.
 */
int vm_radix_foreach(struct vm_radix *rtree, vm_pindex_t start, vm_pindex_t end,
    int (*fn)(struct vm_page *, void *), void *arg);

/* Pages in the trie, counted by walking it.  Owner's lock. */
uint64_t vm_radix_count(struct vm_radix *rtree);

/*
 * Validates the whole trie (see the invariants in vm_radix.c).  Returns
 * the number of violations, describing the first few with
 * vm_check_fail().  Owner's lock.
 */
int vm_radix_check(struct vm_radix *rtree);

/*
 * Nodes allocated and not yet freed, in every trie (nodes waiting for
 * their epoch_call() count): lets tests find leaks.  Any context.
 */
uint64_t vm_radix_nodes_allocated(void);

/*
 * Test-only fault injection: while it is >= 0, each node allocation
 * decrements it if positive and fails if it is 0.  -1 (the default)
 * disables it.  Set it only while no other thread inserts.
 */
extern int vm_radix_fail_alloc_after;

#endif /* !VMLAB_VM_RADIX_H */
