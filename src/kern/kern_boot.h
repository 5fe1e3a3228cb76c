/*
 * kern_boot.h: the kernel services' entry points for the front door.
 *
 * kern_tunables() registers the kernel's tunables (once per process,
 * before any boot).  kern_init() runs after md_init() and before the
 * layers above the kernel, from the booting thread before the CPUs start;
 * it returns 0 or an errno, having undone what it did.  kern_fini() runs
 * after the CPUs stopped and the layers above are gone.
 */
#ifndef VMLAB_KERN_KERN_BOOT_H
#define VMLAB_KERN_KERN_BOOT_H

int kern_tunables(void);
int kern_init(void);
void kern_fini(void);

#endif /* !VMLAB_KERN_KERN_BOOT_H */
