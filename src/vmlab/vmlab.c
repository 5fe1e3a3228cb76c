/*
 * vmlab.c: the front door (include/vmlab/vmlab.h): boot and shutdown of a
 * machine, running work in it, tunables.  It is the top of the library:
 * the only file that names the layers (md, the kernel services, the VM)
 * and the backend's parameters; nothing below knows it.  Its neighbours
 * give embedders pages (vmlab_page.c) and the registry of statistics and
 * tunables (vmlab_sysctl.c).
 *
 * Boot, in steps:
 *	1. Register every tunable (once per process), check the
 *	   configuration and apply its assignments, rejecting the first bad
 *	   word with a message naming it.
 *	2. Run the boot steps of vmlab_boot_steps[] (kern/boot.h):
 *	   md_init() (the CPUs and physical memory exist but do not run),
 *	   the kernel services (kern_init()), then the VM (vm_init()).  A
 *	   step that fails unwinds the steps before it, in reverse, and the
 *	   boot returns its errno and one-line message: the process can boot
 *	   again.
 *	3. md_start(): every CPU enters its idle loop.
 * Shutdown stops the steps' daemons in a kernel thread, halts the CPUs and
 * runs the steps' finis in reverse.
 */
#include "vmlab/vmlab.h"

#include "kern/boot.h"
#include "kern/kern_boot.h"
#include "kern/sysctl.h"
#include "kern/thread.h"
#include "md/md.h"
#include "md/sim/md_sim.h"
#include "proc/proc.h"
#include "vm/vm_boot.h"
#include "vmlab_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool vmlab_is_booted;
static bool vmlab_tunables_done;
static int64_t vmlab_sim_params[MD_SIM_NPARAMS]; /* sim.* tunables */
static struct md_config vmlab_mc;		 /* the machine being booted */

static int vmlab_md_init(void);

/*
 * The layers, in initialisation order (see kern/boot.h): each registers
 * its own steps inside its init.  Shutdown runs the finis in reverse.
 */
static const struct boot_step vmlab_boot_steps[] = {
	{ "md", vmlab_md_init, md_shutdown, NULL },
	{ "kern", kern_init, kern_fini, NULL },
	{ "vm", vm_init, vm_fini, vm_stop },
	{ "proc", proc_init, proc_fini, proc_stop },
};

struct vmlab_runarg {
	void (*vr_fn)(void *);
	void *vr_arg;
	int vr_done;
};

void
vmlab_config_default(struct vmlab_config *cfg)
{
	if (cfg == NULL)
		return;
	memset(cfg, 0, sizeof(*cfg));
	cfg->backend = VMLAB_BACKEND_HOST;
	cfg->ncpus = 0;
	cfg->ndomains = 1;
	cfg->physmem = 256ull << 20;
	cfg->seed = 1;
}

/* The simulated machine's parameters, as tunables "sim.<name>". */
static int
vmlab_sim_tunables(void)
{
	const struct md_sim_param *sp;
	char *name;
	int error, i, n;

	for (i = 0; i < MD_SIM_NPARAMS; i++) {
		sp = &md_sim_params[i];
		/* Names live as long as the registry: for the process. */
		name = md_malloc(strlen(sp->sp_name) + 5);
		if (name == NULL)
			return (ENOMEM);
		strcpy(name, "sim.");
		strcat(name, sp->sp_name);
		if (sp->sp_enum != NULL) {
			for (n = 0; sp->sp_enum[n] != NULL; n++)
				;
			error =
			    tunable_enum_register(name, &vmlab_sim_params[i],
				sp->sp_default, sp->sp_enum, n, sp->sp_descr);
		} else
			error = tunable_int_register(name, &vmlab_sim_params[i],
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
	int error;

	if (vmlab_tunables_done)
		return (0);
	vmlab_tunables_done = true;
	if ((error = vmlab_sim_tunables()) != 0 ||
	    (error = kern_tunables()) != 0 || (error = vm_tunables()) != 0 ||
	    (error = proc_tunables()) != 0)
		return (error);
	return (0);
}

int
vmlab_tunable_check(const char *assignment, char *err, size_t errlen)
{
	char name[128], w[SYSCTL_WORDBUF];
	const char *eq;
	size_t n;

	(void)vmlab_tunables_init();
	eq = strchr(assignment, '=');
	if (eq == NULL || eq == assignment) {
		snprintf(err, errlen, "%s: expected name=value",
		    sysctl_word(w, assignment));
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
vmlab_apply_tunables(const struct vmlab_config *cfg, char *err, size_t errlen)
{
	const char *a, *eq;
	char name[128];
	int error, i;

	tunable_reset_all();
	/* Then what vmlab_tunable_set() recorded for this boot. */
	if ((error = vmlab_tunables_apply_pending(err, errlen)) != 0)
		return (error);
	for (i = 0; i < cfg->ntunables; i++) {
		a = cfg->tunables[i];
		if (a == NULL) {
			snprintf(
			    err, errlen, "tunables: assignment %d is NULL", i);
			return (EINVAL);
		}
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
vmlab_md_init(void)
{
	return (md_init(&vmlab_mc));
}

/*
 * Checks what the configuration asks for against what the machine
 * contract and the host allow, and fills *mc; 0, or EINVAL (ENOMEM: more
 * memory than the host has) with a message.  The VM checks that the
 * memory is enough for its domains (vm_page_startup()).
 */
static int
vmlab_config_check(const struct vmlab_config *cfg, struct md_config *mc,
    char *err, size_t errlen)
{
	uint64_t host = md_host_physmem();
	int hostcpus = md_host_online_cpus();
	char a[32], b[32];

	memset(mc, 0, sizeof(*mc));
	if (cfg->backend != VMLAB_BACKEND_HOST &&
	    cfg->backend != VMLAB_BACKEND_SIM) {
		snprintf(err, errlen,
		    "backend: %d is not a backend (%d: host, %d: sim)",
		    cfg->backend, VMLAB_BACKEND_HOST, VMLAB_BACKEND_SIM);
		return (EINVAL);
	}
	mc->mc_backend = cfg->backend == VMLAB_BACKEND_SIM ? MD_BACKEND_SIM
							   : MD_BACKEND_HOST;
	if (cfg->ncpus < 0 || cfg->ncpus > MD_MAXCPU) {
		snprintf(err, errlen,
		    "cpus: %d is out of range (1 to %d; 0: the host's CPUs)",
		    cfg->ncpus, MD_MAXCPU);
		return (EINVAL);
	}
	if (hostcpus > MD_MAXCPU)
		hostcpus = MD_MAXCPU;
	mc->mc_ncpus = cfg->ncpus > 0 ? cfg->ncpus : hostcpus;
	if (cfg->ndomains < 1 || cfg->ndomains > MD_MAXDOMAIN ||
	    cfg->ndomains > mc->mc_ncpus) {
		snprintf(err, errlen,
		    "domains: %d is out of range (1 to %d, at most the %d "
		    "CPUs)",
		    cfg->ndomains, MD_MAXDOMAIN, mc->mc_ncpus);
		return (EINVAL);
	}
	mc->mc_ndomains = cfg->ndomains;
	if (host != 0 && cfg->physmem > host) {
		snprintf(err, errlen,
		    "physmem: %llu bytes (%s) is more than the host's RAM, "
		    "%llu bytes (%s)",
		    (unsigned long long)cfg->physmem,
		    sysctl_fmt_size(a, sizeof(a), cfg->physmem),
		    (unsigned long long)host,
		    sysctl_fmt_size(b, sizeof(b), host));
		return (ENOMEM);
	}
	mc->mc_physmem = cfg->physmem;
	if (cfg->ntunables < 0 ||
	    (cfg->ntunables > 0 && cfg->tunables == NULL)) {
		snprintf(err, errlen,
		    "tunables: %d assignments%s (0 or more, in an array)",
		    cfg->ntunables, cfg->ntunables > 0 ? " in no array" : "");
		return (EINVAL);
	}
	mc->mc_seed = cfg->seed;
	mc->mc_pin = cfg->pin;
	return (0);
}

int
vmlab_boot(const struct vmlab_config *cfg, char *err, size_t errlen)
{
	int error;

	if (errlen > 0)
		err[0] = '\0';
	if (vmlab_is_booted) {
		snprintf(
		    err, errlen, "vmlab_boot: a machine is already booted");
		return (EBUSY);
	}
	if (cfg == NULL) {
		snprintf(err, errlen, "vmlab_boot: no configuration");
		return (EINVAL);
	}
	(void)vmlab_tunables_init();
	/* Step 1. */
	if ((error = vmlab_config_check(cfg, &vmlab_mc, err, errlen)) != 0 ||
	    (error = vmlab_apply_tunables(cfg, err, errlen)) != 0)
		return (error);
	vmlab_mc.mc_sim = vmlab_sim_params;
	/* Step 2. */
	boot_msg_begin(err, errlen);
	error = boot_steps_init(vmlab_boot_steps, nitems(vmlab_boot_steps));
	boot_msg_end();
	if (error != 0)
		return (error);
	/* Step 3. */
	vmlab_is_booted = true;
	return (md_start(sched_cpu_main));
}

bool
vmlab_booted(void)
{
	return (vmlab_is_booted);
}

static void
vmlab_run_thread(void *arg)
{
	struct vmlab_runarg *vr = arg;

	vr->vr_fn(vr->vr_arg);
}

static void
vmlab_stop_steps(void *arg)
{
	(void)arg;
	boot_steps_stop(vmlab_boot_steps, nitems(vmlab_boot_steps));
}

int
vmlab_run(void (*fn)(void *), void *arg)
{
	struct vmlab_runarg vr = { .vr_fn = fn, .vr_arg = arg, .vr_done = 0 };
	int error;

	if (!vmlab_is_booted)
		return (ENXIO);
	/* A kernel thread cannot wait as the host thread does. */
	if (md_curcpu() >= 0)
		return (EPERM);
	if (fn == NULL)
		return (EINVAL);
	error =
	    kthread_create_notify(vmlab_run_thread, &vr, &vr.vr_done, "run");
	if (error != 0)
		return (error);
	md_external_wait(&vr.vr_done);
	return (0);
}

int
vmlab_shutdown(void)
{
	if (!vmlab_is_booted)
		return (ENXIO);
	if (md_curcpu() >= 0)
		return (EPERM);
	if (kthread_live() != 0)
		return (EBUSY);
	/* Daemons (KTHR_SYSTEM threads) end before the CPUs halt. */
	(void)vmlab_run(vmlab_stop_steps, NULL);
	md_halt();
	md_join();
	boot_steps_fini(vmlab_boot_steps, nitems(vmlab_boot_steps));
	vmlab_is_booted = false;
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

uint64_t
vmlab_host_physmem(void)
{
	return (md_host_physmem());
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
