/*
 * vmlab.h: the public interface of libvmlab (the umbrella header: it
 * includes vmlab_page.h and vmlab_sysctl.h; include only this one).
 *
 * Boot a machine from a configuration, run functions in its kernel
 * threads, shut it down.  One machine at a time per process.
 *
 *	struct vmlab_config cfg;
 *	char err[256];
 *
 *	vmlab_config_default(&cfg);
 *	cfg.ncpus = 4;
 *	if (vmlab_boot(&cfg, err, sizeof(err)) != 0)
 *		errx(2, "%s", err);
 *	vmlab_run(work, arg);		// work(arg) in a kernel thread
 *	vmlab_shutdown();
 *
 * Conventions of the whole API, stated once:
 *	- Functions returning int return 0 or a positive errno value
 *	  (<errno.h>).  Their results go through out-parameters, which are
 *	  written only on success.  errno is never set: kernel threads move
 *	  between host threads, and errno belongs to the host thread.
 *	  Functions that take `err' write a one-line message there naming
 *	  the offending word (truncated to errlen; err may be NULL if errlen
 *	  is 0).
 *	- Accessors returning a pointer, an address or a number
 *	  (vmlab_page_addr(), vmlab_paddr_to_page(), vmlab_ndomains(), ...)
 *	  return NULL, VMLAB_PADDR_NONE, -1 or 0 as their comment says for
 *	  input that names nothing, and cannot fail otherwise.
 *	- Bad input is refused, never a crash: a NULL pointer where an
 *	  object is needed, a domain out of range, a zero count, unknown
 *	  flag bits, or a handle that names no page of the machine are
 *	  EINVAL; a call that needs a booted machine when there is none is
 *	  ENXIO; a call from the wrong context is EPERM.  (Some misuse is
 *	  invisible: a page freed twice is caught only until someone
 *	  allocates it again.)
 *	- Each function's comment ends with the context it may be called
 *	  from:
 *	  "Any thread": any host thread, or a kernel thread;
 *	  "Host thread": a thread of the process that is not a kernel thread
 *	  of the machine (the one that boots it, typically main());
 *	  "Kernel thread, no lock held": a function that vmlab_run() runs on
 *	  the booted machine, holding no lock of any kind (the API has no
 *	  locks; a host mutex held across a call that sleeps can deadlock
 *	  the kernel threads that share the CPU).  Such calls never sleep
 *	  unless their comment says so.
 *	  Calls that drive the machine (vmlab_boot(), vmlab_run(),
 *	  vmlab_shutdown(), vmlab_tunable_set()) are made by one host thread
 *	  at a time.
 *
 * vmlab_boot() refuses, with EINVAL unless said otherwise: a backend,
 * CPU or domain count out of range; a negative tunable count; a bad
 * tunable assignment (ENOENT for an unknown name); physmem above the
 * host's RAM (ENOMEM, vmlab_host_physmem()) or too small to give each
 * domain its free-page reserves; a swap device that is not a regular
 * file, or an existing file that is not a vmlab swap device (EEXIST,
 * unless vm.swap.force=1); and any step of the boot that fails (its
 * errno).  A failed boot undoes what it did: the process may boot again.
 */
#ifndef VMLAB_VMLAB_H
#define VMLAB_VMLAB_H

#include "vmlab/vmlab_export.h"
#include "vmlab/vmlab_page.h"
#include "vmlab/vmlab_sysctl.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VMLAB_BACKEND_HOST 0
#define VMLAB_BACKEND_SIM 1

/*
 * Exit status of a process whose simulated machine stalled: no CPU could
 * run and nothing pending could end the wait of vmlab_run() (a lost
 * wake-up, a deadlock).  The run ends at once with a report on stderr of
 * every thread's wait channel and locks, and the seed to reproduce it.
 */
#define VMLAB_EXIT_STALL 86

struct vmlab_config {
	int backend;		     /* VMLAB_BACKEND_* */
	int ncpus;		     /* 1..1024; 0: host CPUs online */
	int ndomains;		     /* 1..8, at most ncpus */
	uint64_t physmem;	     /* bytes of physical memory: see below */
	uint64_t seed;		     /* schedule seed (sim) */
	bool pin;		     /* host: pin CPU threads */
	const char *const *tunables; /* "name=value" strings */
	int ntunables;
};

/* Fills *cfg with the defaults (NULL: nothing).  Any thread. */
VMLAB_EXPORT void vmlab_config_default(struct vmlab_config *cfg);
/*
 * Boots a machine (see above); EBUSY if one is booted.  Host thread, no
 * machine booted.
 */
VMLAB_EXPORT int vmlab_boot(
    const struct vmlab_config *cfg, char *err, size_t errlen);
/*
 * Runs fn(arg) in a new kernel thread and waits until it has exited.
 * Host thread (EPERM from a kernel thread); ENXIO if no machine is booted.
 */
VMLAB_EXPORT int vmlab_run(void (*fn)(void *), void *arg);
/*
 * Halts the machine; EBUSY (and nothing done) if kernel threads remain.
 * Host thread (EPERM from a kernel thread).
 */
VMLAB_EXPORT int vmlab_shutdown(void);
/* Whether a machine is booted.  Any thread. */
VMLAB_EXPORT bool vmlab_booted(void);

/*
 * Tunables (usable before boot; vmlab_sysctl.h reads and sets them).
 * vmlab_tunable_check() checks an assignment "name=value" without setting
 * it; the register functions add a knob of the embedder's own, whose
 * value lives in *ptr.  Host thread.
 */
VMLAB_EXPORT int vmlab_tunables_init(void);
VMLAB_EXPORT int vmlab_tunable_check(
    const char *assignment, char *err, size_t errlen);
VMLAB_EXPORT int vmlab_tunable_register_enum(const char *name, int64_t *ptr,
    int64_t def, const char *const *names, int nnames, const char *descr);
VMLAB_EXPORT int vmlab_tunable_register_int(const char *name, int64_t *ptr,
    int64_t def, int64_t min, int64_t max, const char *descr);
/* Parses "123", "64m", "2g" (powers of 1024).  Any thread. */
VMLAB_EXPORT int vmlab_parse_size(const char *s, uint64_t *vp);
/* Host CPUs online.  Any thread. */
VMLAB_EXPORT int vmlab_host_cpus(void);
/* Bytes of the host's RAM (0: unknown): the most physmem may be. */
VMLAB_EXPORT uint64_t vmlab_host_physmem(void);
/*
 * The simulated machine.  vmlab_sim_exec_norandom() re-executes the
 * program (argv) with address-space randomisation off unless it already
 * is, so that sim runs repeat byte for byte across processes; call it
 * first thing in main().  The trace hash digests the schedule (every
 * dispatch of a virtual CPU and its clock); events counts sync points.
 */
VMLAB_EXPORT void vmlab_sim_exec_norandom(char **argv);
VMLAB_EXPORT uint64_t vmlab_sim_trace_hash(void);
VMLAB_EXPORT uint64_t vmlab_sim_events(void);
/* The library's version, "MAJOR.MINOR.PATCH".  Any thread. */
VMLAB_EXPORT const char *vmlab_version(void);

#endif /* !VMLAB_VMLAB_H */
