/*
 * vm_boot.c: boot and shutdown of the VM layer, in module order.
 *
 * vm_init(): the domains and the physical allocator with its page array
 * (vm_page_startup), superpage reservations, the MMU (pmap), the per-CPU
 * page caches, the zone allocator (uma), the swap device, the page queues, objects, maps (lock
 * ranks and counters), the touch path's counters
 * (vm_fault), and last the page daemons (they
 * start running when the CPUs do).  vm_stop() stops the daemons from a
 * kernel thread before the CPUs halt; vm_fini() undoes the rest in
 * reverse.  Everything is freed, including the page array, which is
 * "never freed" only while the machine runs.  The steps form a table of
 * init/fini pairs (kern/boot.h): a failed step unwinds the steps before
 * it, so a failed vm_init() leaves nothing behind.
 */
#include "vm/vm_boot.h"

#include "kern/boot.h"
#include "kern/kassert.h"
#include "pmap/pmap.h"
#include "vm/uma.h"
#include "vm/vm_fault.h"
#include "vm/vm_kern.h"
#include "vm/vm_map.h"
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
	    (error = vm_pageout_tunables()) != 0 ||
	    (error = pmap_tunables()) != 0 ||
	    (error = vm_kern_tunables()) != 0 || (error = uma_tunables()) != 0)
		return (error);
	return (0);
}

/*
 * The VM's boot steps (boot.h), in order.  Page daemons made by
 * vm_pageout_start() before a failure never run; the scheduler frees
 * them when the boot unwinds.
 */
static const struct boot_step vm_boot_steps[] = {
	{ "vm_page", vm_page_startup, vm_page_shutdown, NULL },
	{ "vm_reserv", vm_reserv_init, vm_reserv_fini, NULL },
	{ "pmap", pmap_init, pmap_fini, NULL },
	{ "vm_pgcache", vm_pgcache_init, vm_pgcache_fini, NULL },
	{ "uma", uma_startup, uma_shutdown, uma_stop },
	{ "vm_swap", vm_swap_init, vm_swap_fini, NULL },
	{ "vm_pagequeue", vm_pagequeue_init, vm_pagequeue_fini, NULL },
	{ "vm_object", vm_object_init, vm_object_fini, NULL },
	{ "vm_map", vm_map_init_boot, vm_map_fini_boot, NULL },
	{ "vm_kern", vm_kern_init, vm_kern_fini, vm_kern_stop },
	{ "vm_fault", vm_fault_init, vm_fault_fini, NULL },
	{ "vm_pageout", vm_pageout_init, vm_pageout_fini, NULL },
	{ "vm_pageout_daemons", vm_pageout_start, NULL, vm_pageout_stop },
};

int
vm_init(void)
{
	return (boot_steps_init(vm_boot_steps, nitems(vm_boot_steps)));
}

void
vm_stop(void)
{
	boot_steps_stop(vm_boot_steps, nitems(vm_boot_steps));
}

void
vm_fini(void)
{
	boot_steps_fini(vm_boot_steps, nitems(vm_boot_steps));
}
