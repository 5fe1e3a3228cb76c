/*
 * kern_boot.c: the kernel services as one boot step of the front door
 * (src/vmlab/vmlab.c): per-CPU data and run queues, counters, the kernel's
 * statistics, sleep queues, epochs and the list of vmem arenas, in that order (boot.h).  A failed
 * step unwinds the ones before it; kern_fini() undoes them in reverse
 * once the CPUs have stopped, lock profiles last (after every lock is
 * destroyed).  Nothing here knows what runs above the kernel.
 */
#include "kern/kern_boot.h"

#include "kern/boot.h"
#include "kern/counter.h"
#include "kern/epoch.h"
#include "kern/lock.h"
#include "kern/sleepq.h"
#include "kern/sysctl.h"
#include "kern/thread.h"
#include "kern/vmem.h"

static uint64_t
kern_stat_ncpus(void *arg)
{
	(void)arg;
	return ((uint64_t)md_ncpus());
}

static uint64_t
kern_stat_switches(void *arg)
{
	(void)arg;
	return (sched_switches());
}

static uint64_t
kern_stat_ipis(void *arg)
{
	(void)arg;
	return (md_ipi_count());
}

static uint64_t
kern_stat_physmem(void *arg)
{
	(void)arg;
	return (md_phys_size());
}

static int
kern_stats_init(void)
{
	(void)sysctl_stat_register(
	    "hw.ncpu", kern_stat_ncpus, NULL, "number of CPUs");
	(void)sysctl_stat_register(
	    "hw.physmem", kern_stat_physmem, NULL, "bytes of physical memory");
	(void)sysctl_stat_register("kern.sched.switches", kern_stat_switches,
	    NULL, "context switches");
	(void)sysctl_stat_register(
	    "kern.ipi.delivered", kern_stat_ipis, NULL, "IPIs handled by CPUs");
	return (0);
}

static const struct boot_step kern_boot_steps[] = {
	{ "lock_prof", NULL, lock_prof_fini, NULL },
	{ "sched", sched_init, sched_fini, NULL },
	{ "counter", counter_init, counter_fini, NULL },
	{ "kern_stats", kern_stats_init, sysctl_stat_unregister_all, NULL },
	{ "sleepq", sleepq_init, sleepq_fini, NULL },
	{ "epoch", epoch_init, epoch_fini, NULL },
	{ "vmem", vmem_init, vmem_fini, NULL },
};

int
kern_tunables(void)
{
	return (boot_tunables());
}

int
kern_init(void)
{
	return (boot_steps_init(kern_boot_steps, nitems(kern_boot_steps)));
}

void
kern_fini(void)
{
	boot_steps_fini(kern_boot_steps, nitems(kern_boot_steps));
}
