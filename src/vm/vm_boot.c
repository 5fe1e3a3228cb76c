/*
 * vm_boot.c: boot and shutdown of the VM layer, in module order.
 *
 * vm_init(): the domains and the physical allocator with its page array
 * (vm_page_startup), superpage reservations, the per-CPU page caches, the
 * swap device, the page queues, objects, and last the page daemons (they
 * start running when the CPUs do).  vm_stop() stops the daemons from a
 * kernel thread before the CPUs halt; vm_fini() undoes the rest in
 * reverse.  Everything is freed, including the page array, which is
 * "never freed" only while the machine runs.
 */
#include "vm/vm_boot.h"

#include "vm/vm_fault.h"
#include "vm/vm_object.h"
#include "vm/vm_page.h"
#include "vm/vm_pageout.h"
#include "vm/vm_pagequeue.h"
#include "vm/vm_pgcache.h"
#include "vm/vm_phys.h"
#include "vm/vm_reserv.h"
#include "vm/vm_swap.h"

int
vm_tunables(void)
{
	int error;

	if ((error = vm_phys_tunables()) != 0 ||
	    (error = vm_pgcache_tunables()) != 0 ||
	    (error = vm_reserv_tunables()) != 0 ||
	    (error = vm_swap_tunables()) != 0 ||
	    (error = vm_pagequeue_tunables()) != 0 ||
	    (error = vm_pageout_tunables()) != 0)
		return (error);
	return (0);
}

int
vm_init(void)
{
	int error;

	if ((error = vm_page_startup()) != 0 ||
	    (error = vm_reserv_init()) != 0 ||
	    (error = vm_pgcache_init()) != 0 || (error = vm_swap_init()) != 0 ||
	    (error = vm_pagequeue_init()) != 0 ||
	    (error = vm_object_init()) != 0 || (error = vm_fault_init()) != 0 ||
	    (error = vm_pageout_init()) != 0 ||
	    (error = vm_pageout_start()) != 0)
		return (error);
	return (0);
}

void
vm_stop(void)
{
	vm_pageout_stop();
}

void
vm_fini(void)
{
	vm_pageout_fini();
	vm_fault_fini();
	vm_object_fini();
	vm_pagequeue_fini();
	vm_swap_fini();
	vm_pgcache_fini();
	vm_reserv_fini();
	vm_page_shutdown();
}
