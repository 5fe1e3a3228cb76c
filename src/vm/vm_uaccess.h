/*
 * vm_uaccess.h: the only way code "in user mode" touches its memory.
 *
 * Every access goes through the current CPU's software TLB: a hit is an
 * inline lookup; a miss walks the page tables of the current thread's
 * vmspace (setting accessed/dirty bits); a missing or protection-violating
 * translation calls vm_fault() and retries; an unresolvable fault returns
 * EFAULT (never a crash).  Kernel addresses go through the kernel pmap.
 *
 * uload/ustore: 1, 2, 4 or 8 bytes, naturally aligned (an access may not
 * cross a page).  copyin/copyout: any range, page by page.  Kernel
 * thread with a vmspace (vmspace_switch) for user addresses; no lock held
 * (a fault may sleep).  Returns 0, EFAULT, or EINVAL for a bad size or
 * alignment.
 */
#ifndef VMLAB_VM_UACCESS_H
#define VMLAB_VM_UACCESS_H

#include "vm/vm_param.h"

#include <stddef.h>
#include <stdint.h>

int uload(vm_offset_t va, int size, uint64_t *valp);
int ustore(vm_offset_t va, int size, uint64_t val);
int copyin(vm_offset_t uaddr, void *kaddr, size_t len);
int copyout(const void *kaddr, vm_offset_t uaddr, size_t len);

#endif /* !VMLAB_VM_UACCESS_H */
