/*
 * vm_uaccess.c: the slow paths of user memory access (vm_uaccess.h).
 *
 * uaccess_translate() steps:
 *	1. choose the address space: the kernel map for kernel addresses,
 *	   the running thread's vmspace for user ones (loading its pmap on
 *	   this CPU if another one is loaded); anything else is EFAULT;
 *	2. the TLB (a hit), else the page-table walk (a fill);
 *	3. neither: vm_fault() the address in (a kernel address through
 *	   the kernel map: pageable kernel memory), and go back to 1 (the fault
 *	   may have slept and the thread moved to another CPU).
 * A fault that resolves but whose mapping is taken away before the walk
 * (the page daemon, another thread's munmap) just faults again.
 */
#include "vm/vm_uaccess.h"

#include "vm/vm_fault.h"
#include "vm/vm_kern.h"

void *
uaccess_translate(vm_offset_t va, vm_prot_t access, int *errorp)
{
	struct vmspace *vm;
	struct vm_map *map;
	pmap_t pm;
	void *p;
	int error, tries = 0;

	for (;;) {
		if (va >= VM_MIN_KERNEL_ADDRESS) {
			map = kernel_map;
			pm = kernel_pmap;
		} else if (va >= VM_MIN_USER_ADDRESS &&
		    va < VM_MAX_USER_ADDRESS &&
		    (vm = curthread->td_vmspace) != NULL) {
			map = &vm->vm_map;
			pm = vmspace_pmap(vm);
		} else {
			*errorp = EFAULT;
			return (NULL);
		}
		/*
		 * The inline hit path has just missed (or the loaded pmap
		 * was another): walk first, look up only after a fault, and
		 * only if pm is the loaded pmap (the fault may have slept and
		 * the thread moved to a CPU that runs another address space;
		 * the walk loads pm).
		 */
		if ((tries > 0 && (pm == kernel_pmap || pmap_curpmap() == pm) &&
			(p = pmap_tlb_lookup(va, access)) != NULL) ||
		    (p = pmap_tlb_fill(pm, va, access)) != NULL)
			return (p);
		tries++;
		/*
		 * Wired kernel memory is entered at once and has no kernel
		 * map entry (the fault fails); pageable kernel memory
		 * faults in through the kernel map.
		 */
		if ((error = vm_fault(
			 map, va, access, VM_FAULT_NORMAL, NULL)) != 0) {
			*errorp = EFAULT;
			return (NULL);
		}
	}
}

int
uload_slow(vm_offset_t va, int size, uint64_t *valp)
{
	uint64_t v = 0;
	void *p;
	int error;

	if (!uaccess_size_ok(va, size))
		return (EINVAL);
	if ((p = uaccess_translate(va, VM_PROT_READ, &error)) == NULL)
		return (error);
	memcpy(&v, p, (size_t)size);
	*valp = v;
	return (0);
}

int
ustore_slow(vm_offset_t va, int size, uint64_t val)
{
	void *p;
	int error;

	if (!uaccess_size_ok(va, size))
		return (EINVAL);
	if ((p = uaccess_translate(va, VM_PROT_WRITE, &error)) == NULL)
		return (error);
	memcpy(p, &val, (size_t)size);
	return (0);
}

/*
 * Copies between a kernel buffer and [va, va + len), one page at a time;
 * `access' says which way.  A range that wraps around is EFAULT.
 */
static int
uaccess_copy(vm_offset_t va, void *kaddr, size_t len, vm_prot_t access)
{
	uint8_t *k = kaddr;
	size_t n;
	void *p;
	int error;

	if (va + len < va)
		return (EFAULT);
	while (len > 0) {
		n = PAGE_SIZE - (va & PAGE_MASK);
		if (n > len)
			n = len;
		if ((p = uaccess_translate(va, access, &error)) == NULL)
			return (error);
		if (access == VM_PROT_WRITE)
			memcpy(p, k, n);
		else
			memcpy(k, p, n);
		va += n;
		k += n;
		len -= n;
	}
	return (0);
}

int
copyin(vm_offset_t uaddr, void *kaddr, size_t len)
{
	return (uaccess_copy(uaddr, kaddr, len, VM_PROT_READ));
}

int
copyout(const void *kaddr, vm_offset_t uaddr, size_t len)
{
	return (
	    uaccess_copy(uaddr, (void *)(uintptr_t)kaddr, len, VM_PROT_WRITE));
}
