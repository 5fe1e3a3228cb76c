/*
 * vm_boot.c: boot and shutdown of the VM layer, in module order.
 *
 * vm_init(): the domains and the physical allocator with its page array
 * (vm_page_startup), superpage reservations, then the per-CPU page caches.
 * vm_fini() undoes them in reverse; everything is freed, including the
 * page array, which is "never freed" only while the machine runs.
 */
#include "vm/vm_boot.h"

#include "vm/vm_page.h"
#include "vm/vm_pgcache.h"
#include "vm/vm_phys.h"
#include "vm/vm_reserv.h"

int
vm_tunables(void)
{
	int error;

	if ((error = vm_phys_tunables()) != 0 ||
	    (error = vm_pgcache_tunables()) != 0 ||
	    (error = vm_reserv_tunables()) != 0)
		return (error);
	return (0);
}

int
vm_init(void)
{
	int error;

	if ((error = vm_page_startup()) != 0 ||
	    (error = vm_reserv_init()) != 0 || (error = vm_pgcache_init()) != 0)
		return (error);
	return (0);
}

void
vm_fini(void)
{
	vm_pgcache_fini();
	vm_reserv_fini();
	vm_page_shutdown();
}
