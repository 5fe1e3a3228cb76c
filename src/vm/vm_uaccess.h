/*
 * vm_uaccess.h: the only way code "in user mode" touches its memory.
 *
 * Every access goes through the current CPU's software TLB: a hit is an
 * inline lookup; a miss walks the page tables of the current thread's
 * vmspace (setting accessed/dirty bits); a missing or protection-violating
 * translation calls vm_fault() and retries; an unresolvable fault returns
 * EFAULT (never a crash).  Kernel addresses go through the kernel pmap
 * (kmem is wired and entered at allocation, so it never faults).
 *
 * uload/ustore: 1, 2, 4 or 8 bytes, naturally aligned (so an access never
 * crosses a page).  copyin/copyout: any range, page by page.  Kernel
 * thread with a vmspace (vmspace_switch) for user addresses; no lock held
 * (a fault may sleep).  Return 0, EFAULT, or EINVAL for a bad size or
 * alignment.
 */
#ifndef VMLAB_VM_UACCESS_H
#define VMLAB_VM_UACCESS_H

#include "kern/thread.h"
#include "pmap/pmap.h"
#include "vm/vm_map.h"
#include "vm/vm_param.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The slow paths (vm_uaccess.c). */
int uload_slow(vm_offset_t va, int size, uint64_t *valp);
int ustore_slow(vm_offset_t va, int size, uint64_t val);

/*
 * The TLB hit path: the host address of va if the current CPU's TLB
 * translates it for `access' in the running thread's address space.
 */
static inline void *
uaccess_hit(vm_offset_t va, vm_prot_t access)
{
	int cpu = md_curcpu();
	struct pmap_tlb *t = pmap_tlb_of(cpu);
	struct vmspace *vm;

	if (va < VM_MAX_USER_ADDRESS) {
		/* The running thread's address space must be the loaded one. */
		vm = kern_pcpu[cpu].pc_vmspace;
		if (__builtin_expect(
			vm == NULL || t->tlb_curpm != vmspace_pmap(vm), 0))
			return (NULL);
	}
	return (pmap_tlb_lookup_on(cpu, t, va, access));
}

static inline bool
uaccess_size_ok(vm_offset_t va, int size)
{
	return ((size == 1 || size == 2 || size == 4 || size == 8) &&
	    (va & (vm_offset_t)(size - 1)) == 0);
}

static inline int
uload(vm_offset_t va, int size, uint64_t *valp)
{
	uint64_t v = 0;
	void *p;

	if (!uaccess_size_ok(va, size) ||
	    (p = uaccess_hit(va, VM_PROT_READ)) == NULL)
		return (uload_slow(va, size, valp));
	memcpy(&v, p, (size_t)size); /* little-endian, as x86-64 */
	*valp = v;
	return (0);
}

static inline int
ustore(vm_offset_t va, int size, uint64_t val)
{
	void *p;

	if (!uaccess_size_ok(va, size) ||
	    (p = uaccess_hit(va, VM_PROT_WRITE)) == NULL)
		return (ustore_slow(va, size, val));
	memcpy(p, &val, (size_t)size);
	return (0);
}

int copyin(vm_offset_t uaddr, void *kaddr, size_t len);
int copyout(const void *kaddr, vm_offset_t uaddr, size_t len);

/*
 * The translation behind all of them: the host address of va for
 * `access' (VM_PROT_READ or VM_PROT_WRITE), faulting as needed; NULL with
 * *errorp EFAULT when the access cannot be made.  Valid until the next
 * IPI poll (any lock, atomic or uaccess call).
 */
void *uaccess_translate(vm_offset_t va, vm_prot_t access, int *errorp);

#endif /* !VMLAB_VM_UACCESS_H */
