/*
 * vm_object.h: the object, reduced to what the physical layer needs.
 *
 * Pages belong to objects, and superpage reservations are made for an
 * object's page indices.  Until objects proper arrive (reference counts,
 * the page trie, pagers, shadow chains), an object is its identity (its
 * address), its size and whether it may grow; that is all vm_reserv reads.
 * The full struct vm_object will extend this one.
 *
 * Locking key:
 *	(o) the object's owner serialises page allocations and frees of the
 *	    object (the object lock, once objects exist)
 */
#ifndef VMLAB_VM_OBJECT_H
#define VMLAB_VM_OBJECT_H

#include "vm/vm_param.h"

/* flags */
#define OBJ_ANON 0x0001 /* anonymous memory: may grow past `size' */

struct vm_object {
	vm_pindex_t size; /* (o) pages */
	int flags;	  /* (o) OBJ_* */
};

#endif /* !VMLAB_VM_OBJECT_H */
