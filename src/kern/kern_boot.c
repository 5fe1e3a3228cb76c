/*
 * kern_boot.c: boot and shutdown of a machine (include/vmlab/vmlab.h).
 *
 * Boot, in steps:
 *	1. Register every tunable (once per process) and apply the
 *	   configuration's assignments, rejecting the first bad one.
 *	2. md_init(): the CPUs and physical memory exist but do not run.
 *	3. Kernel services: per-CPU data and run queues, counters, sleep
 *	   queues, epochs.
 *	4. md_start(): every CPU enters its idle loop.
 * Shutdown undoes them in reverse once no kernel thread is left.
 */
#include "kern/counter.h"
#include "kern/epoch.h"
#include "kern/sleepq.h"
#include "kern/sysctl.h"
#include "kern/thread.h"
#include "vm/vm_boot.h"
#include "vmlab/vmlab.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool kern_booted;
static bool kern_tunables_done;
static int64_t kern_sim_params[MD_SIM_NPARAMS]; /* sim.* tunables */

/*
 * Subsystems above the kernel services, in initialisation order.  This
 * table is the one place where boot names the layers above it: each entry
 * registers its tunables once per process, initialises after the kernel
 * services at boot (from the booting thread, before the CPUs start) and
 * tears down at shutdown, in reverse order, after the CPUs stopped.
 */
struct kern_subsystem {
	const char *ks_name;
	int (*ks_tunables)(void);
	int (*ks_init)(void);
	void (*ks_fini)(void);
	void (*ks_stop)(void); /* in a kernel thread: stops its daemons */
};

static const struct kern_subsystem kern_subsystems[] = {
	{ "vm", vm_tunables, vm_init, vm_fini, vm_stop },
};

struct kern_run {
	void (*kr_fn)(void *);
	void *kr_arg;
	int kr_done;
};

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

void
vmlab_config_default(struct vmlab_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->backend = VMLAB_BACKEND_HOST;
	cfg->ncpus = 0;
	cfg->ndomains = 1;
	cfg->physmem = 256ull << 20;
	cfg->seed = 1;
}

/* The simulated machine's parameters, as tunables "sim.<name>". */
static int
kern_sim_tunables(void)
{
	const struct md_sim_param *sp;
	char *name;
	int error, i, n;

	for (i = 0; i < MD_SIM_NPARAMS; i++) {
		sp = &md_sim_params[i];
		/* Names live as long as the registry: for the process. */
		name = malloc(strlen(sp->sp_name) + 5);
		if (name == NULL)
			return (ENOMEM);
		strcpy(name, "sim.");
		strcat(name, sp->sp_name);
		if (sp->sp_enum != NULL) {
			for (n = 0; sp->sp_enum[n] != NULL; n++)
				;
			error = tunable_enum_register(name, &kern_sim_params[i],
			    sp->sp_default, sp->sp_enum, n, sp->sp_descr);
		} else
			error = tunable_int_register(name, &kern_sim_params[i],
			    sp->sp_default, sp->sp_min, sp->sp_max,
			    sp->sp_descr);
		if (error != 0)
			return (error);
	}
	return (0);
}

int
vmlab_tunables_init(void)
{
	if (kern_tunables_done)
		return (0);
	size_t i;
	int error;

	kern_tunables_done = true;
	if ((error = kern_sim_tunables()) != 0)
		return (error);
	for (i = 0; i < nitems(kern_subsystems); i++)
		if ((error = kern_subsystems[i].ks_tunables()) != 0)
			return (error);
	return (0);
}

int
vmlab_tunable_check(const char *assignment, char *err, size_t errlen)
{
	char name[128];
	const char *eq;
	size_t n;

	(void)vmlab_tunables_init();
	eq = strchr(assignment, '=');
	if (eq == NULL || eq == assignment) {
		snprintf(err, errlen, "%s: expected name=value", assignment);
		return (EINVAL);
	}
	n = (size_t)(eq - assignment);
	if (n >= sizeof(name)) {
		snprintf(err, errlen, "%.40s...: name too long", assignment);
		return (EINVAL);
	}
	memcpy(name, assignment, n);
	name[n] = '\0';
	return (tunable_set(name, eq + 1, true, err, errlen));
}

static int
kern_apply_tunables(const struct vmlab_config *cfg, char *err, size_t errlen)
{
	const char *a, *eq;
	char name[128];
	int error, i;

	tunable_reset_all();
	for (i = 0; i < cfg->ntunables; i++) {
		a = cfg->tunables[i];
		error = vmlab_tunable_check(a, err, errlen);
		if (error != 0)
			return (error);
		eq = strchr(a, '=');
		memcpy(name, a, (size_t)(eq - a));
		name[eq - a] = '\0';
		(void)tunable_set(name, eq + 1, false, err, errlen);
	}
	return (0);
}

static int
kern_init_services(void)
{
	size_t i;
	int error;

	if ((error = sched_init()) != 0 || (error = counter_init()) != 0 ||
	    (error = sleepq_init()) != 0 || (error = epoch_init()) != 0)
		return (error);
	(void)sysctl_stat_register(
	    "hw.ncpu", kern_stat_ncpus, NULL, "number of CPUs");
	(void)sysctl_stat_register(
	    "hw.physmem", kern_stat_physmem, NULL, "bytes of physical memory");
	(void)sysctl_stat_register("kern.sched.switches", kern_stat_switches,
	    NULL, "context switches");
	(void)sysctl_stat_register(
	    "kern.ipi.delivered", kern_stat_ipis, NULL, "IPIs handled by CPUs");
	for (i = 0; i < nitems(kern_subsystems); i++)
		if ((error = kern_subsystems[i].ks_init()) != 0)
			return (error);
	return (0);
}

int
vmlab_boot(const struct vmlab_config *cfg, char *err, size_t errlen)
{
	struct md_config mc;
	int error;

	if (kern_booted) {
		snprintf(
		    err, errlen, "vmlab_boot: a machine is already booted");
		return (EBUSY);
	}
	(void)vmlab_tunables_init();
	/* Step 1. */
	error = kern_apply_tunables(cfg, err, errlen);
	if (error != 0)
		return (error);
	memset(&mc, 0, sizeof(mc));
	mc.mc_backend = cfg->backend == VMLAB_BACKEND_SIM ? MD_BACKEND_SIM
							  : MD_BACKEND_HOST;
	mc.mc_ncpus = cfg->ncpus > 0 ? cfg->ncpus : md_host_online_cpus();
	mc.mc_ndomains = cfg->ndomains > 0 ? cfg->ndomains : 1;
	mc.mc_physmem = cfg->physmem;
	mc.mc_seed = cfg->seed;
	mc.mc_pin = cfg->pin;
	memcpy(mc.mc_sim, kern_sim_params, sizeof(mc.mc_sim));
	if (mc.mc_ncpus > MD_MAXCPU) {
		snprintf(err, errlen, "cpus: %d is out of range (1 to %d)",
		    mc.mc_ncpus, MD_MAXCPU);
		return (EINVAL);
	}
	if (mc.mc_ndomains > MD_MAXDOMAIN || mc.mc_ndomains > mc.mc_ncpus) {
		snprintf(err, errlen,
		    "domains: %d is out of range (1 to %d, at most the CPUs)",
		    mc.mc_ndomains, MD_MAXDOMAIN);
		return (EINVAL);
	}
	/* Step 2. */
	error = md_init(&mc);
	if (error != 0) {
		snprintf(err, errlen, "md_init: %s", strerror(error));
		return (error);
	}
	/* Step 3. */
	error = kern_init_services();
	if (error != 0) {
		snprintf(err, errlen, "boot: %s", strerror(error));
		VM_PANIC("vmlab_boot: kernel services: %s", strerror(error));
	}
	/* Step 4. */
	kern_booted = true;
	return (md_start(sched_cpu_main));
}

bool
vmlab_booted(void)
{
	return (kern_booted);
}

static void
kern_run_thread(void *arg)
{
	struct kern_run *kr = arg;

	kr->kr_fn(kr->kr_arg);
}

static void
kern_stop_subsystems(void *arg)
{
	size_t i;

	(void)arg;
	for (i = nitems(kern_subsystems); i-- > 0;)
		if (kern_subsystems[i].ks_stop != NULL)
			kern_subsystems[i].ks_stop();
}

int
vmlab_run(void (*fn)(void *), void *arg)
{
	struct kern_run kr = { .kr_fn = fn, .kr_arg = arg, .kr_done = 0 };
	int error;

	if (!kern_booted)
		return (ENXIO);
	error = kthread_create_notify(kern_run_thread, &kr, &kr.kr_done, "run");
	if (error != 0)
		return (error);
	md_external_wait(&kr.kr_done);
	return (0);
}

int
vmlab_shutdown(void)
{
	size_t i;

	if (!kern_booted)
		return (ENXIO);
	if (kthread_live() != 0)
		return (EBUSY);
	/* Daemons (KTHR_SYSTEM threads) end before the CPUs halt. */
	(void)vmlab_run(kern_stop_subsystems, NULL);
	md_halt();
	md_join();
	for (i = nitems(kern_subsystems); i-- > 0;)
		kern_subsystems[i].ks_fini();
	epoch_fini();
	sleepq_fini();
	sysctl_stat_unregister_all();
	counter_fini();
	sched_fini();
	lock_prof_fini();
	md_shutdown();
	kern_booted = false;
	return (0);
}

int
vmlab_tunable_register_enum(const char *name, int64_t *ptr, int64_t def,
    const char *const *names, int nnames, const char *descr)
{
	return (tunable_enum_register(name, ptr, def, names, nnames, descr));
}

int
vmlab_tunable_register_int(const char *name, int64_t *ptr, int64_t def,
    int64_t min, int64_t max, const char *descr)
{
	return (tunable_int_register(name, ptr, def, min, max, descr));
}

int
vmlab_parse_size(const char *s, uint64_t *vp)
{
	int64_t v;
	int error = sysctl_parse_int(s, &v);

	if (error == 0)
		*vp = (uint64_t)v;
	return (error);
}

int
vmlab_host_cpus(void)
{
	return (md_host_online_cpus());
}

void
vmlab_sim_exec_norandom(char **argv)
{
	md_sim_exec_norandom(argv);
}

uint64_t
vmlab_sim_trace_hash(void)
{
	return (md_sim_trace_hash());
}

uint64_t
vmlab_sim_events(void)
{
	return (md_sim_events());
}

const char *
vmlab_version(void)
{
	return (VMLAB_VERSION);
}
