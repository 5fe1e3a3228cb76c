/*
 * vm_boot.h: the VM's entry points for machine boot and shutdown.
 *
 * vm_tunables() registers the VM's tunables (once per process, before any
 * boot).  vm_init() runs at boot after the kernel services exist and
 * before the CPUs start; vm_stop() at shutdown in a kernel thread, then
 * vm_fini() after the CPUs stopped.
 */
#ifndef VMLAB_VM_BOOT_H
#define VMLAB_VM_BOOT_H

int vm_tunables(void);
int vm_init(void);
void vm_fini(void);
/* Stops the page daemons; in a kernel thread, before the CPUs halt. */
void vm_stop(void);

#endif /* !VMLAB_VM_BOOT_H */
