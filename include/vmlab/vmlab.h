/*
 * vmlab.h: the public interface of libvmlab.
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
 * Functions return 0 or a positive errno value; `err' receives a one-line
 * message naming the offending word.
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

void vmlab_config_default(struct vmlab_config *cfg);
int vmlab_boot(const struct vmlab_config *cfg, char *err, size_t errlen);
/* Runs fn(arg) in a new kernel thread and waits until it has exited. */
int vmlab_run(void (*fn)(void *), void *arg);
/* Halts the machine; EBUSY (and nothing done) if kernel threads remain. */
int vmlab_shutdown(void);
bool vmlab_booted(void);

/* Tunables (usable before boot). */
int vmlab_tunables_init(void);
int vmlab_tunable_check(const char *assignment, char *err, size_t errlen);
int vmlab_tunable_register_enum(const char *name, int64_t *ptr, int64_t def,
    const char *const *names, int nnames, const char *descr);
int vmlab_tunable_register_int(const char *name, int64_t *ptr, int64_t def,
    int64_t min, int64_t max, const char *descr);
/* Parses "123", "64m", "2g" (powers of 1024). */
int vmlab_parse_size(const char *s, uint64_t *vp);
int vmlab_host_cpus(void);
/* Bytes of the host's RAM (0: unknown): the most physmem may be. */
uint64_t vmlab_host_physmem(void);
/*
 * The simulated machine.  vmlab_sim_exec_norandom() re-executes the
 * program (argv) with address-space randomisation off unless it already
 * is, so that sim runs repeat byte for byte across processes; call it
 * first thing in main().  The trace hash digests the schedule (every
 * dispatch of a virtual CPU and its clock); events counts sync points.
 */
void vmlab_sim_exec_norandom(char **argv);
uint64_t vmlab_sim_trace_hash(void);
uint64_t vmlab_sim_events(void);
const char *vmlab_version(void);

#endif /* !VMLAB_VMLAB_H */
