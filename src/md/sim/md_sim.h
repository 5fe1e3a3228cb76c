/*
 * md_sim.h: the simulated machine's own interface, beside the machine
 * contract (md.h), which knows no simulator.  The front door includes it
 * to name the simulator's parameters as tunables and to report its run
 * statistics; md's own files use it to charge costs.
 */
#ifndef VMLAB_MD_SIM_H
#define VMLAB_MD_SIM_H

#include "md/md.h"

#include <stdbool.h>
#include <stdint.h>

/*
 * Parameters of the simulated machine: costs in nanoseconds and schedule
 * exploration settings.  md_sim_params[] names them (the front door registers
 * each as the tunable "sim.<name>") and gives defaults with their source.
 */
#define MD_SIM_COST_ATOMIC 0
#define MD_SIM_COST_LOAD 1
#define MD_SIM_COST_STORE 2
#define MD_SIM_COST_TRANSFER 3
#define MD_SIM_COST_FENCE 4
#define MD_SIM_COST_SWITCH 5
#define MD_SIM_COST_IPI_SEND 6
#define MD_SIM_COST_IPI_HANDLE 7
#define MD_SIM_COST_WAKE 8
#define MD_SIM_COST_SPIN 9
#define MD_SIM_COST_PAGE_ZERO 10
#define MD_SIM_COST_PAGE_COPY 11
#define MD_SIM_COST_DISK_LATENCY 12
#define MD_SIM_COST_DISK_MBPS 13
#define MD_SIM_SCHED 14	    /* 0: virtual time, 1: PCT */
#define MD_SIM_JITTER 15    /* max random ns added per sync point */
#define MD_SIM_PCT_DEPTH 16 /* PCT priority change points */
#define MD_SIM_PCT_STEPS 17 /* sync points the change points spread over */
#define MD_SIM_SPIN_MAX 18  /* longest a spinner waits for its line */
#define MD_SIM_QUANTUM 19   /* ns a CPU may run ahead of the next one */
#define MD_SIM_COST_IPI_LATENCY 20 /* ns an IPI is in flight */
#define MD_SIM_NPARAMS 21

struct md_sim_param {
	const char *sp_name;
	const char *sp_descr;
	int64_t sp_default, sp_min, sp_max;
	const char *const *sp_enum; /* names of values, or NULL */
};
extern const struct md_sim_param md_sim_params[MD_SIM_NPARAMS];

/*
 * Sim run statistics: a hash of the schedule (every dispatch of a virtual
 * CPU and its clock) and the number of sync points, since md_init().
 */
uint64_t md_sim_trace_hash(void);
uint64_t md_sim_events(void);
/*
 * Makes addresses repeatable for the sim: re-executes the program (argv)
 * with address-space randomisation off, unless it already is.  Returns
 * only if no re-exec was needed or possible.
 */
void md_sim_exec_norandom(char **argv);

#endif /* !VMLAB_MD_SIM_H */
