/*
 * explore.h: schedule exploration on the simulated machine.
 *
 * explore() runs body(arg) in a kernel thread of a fresh simulated
 * machine, once per seed, each run in a forked child of the test process
 * (so every seed starts from the same process image and a rerun of one
 * seed alone repeats it exactly).  A run fails when a CHECK fails, the
 * child panics, its machine stalls, or the machine cannot shut down
 * cleanly; after the body returns, check(arg) (if not NULL) verifies the
 * invariants.  A stall (a lost wake-up or a deadlock: no thread can run
 * and nothing pending will change that) ends the child at once with exit
 * status VMLAB_EXIT_STALL and a report on stderr of every thread's wait
 * channel and locks (kern/stall.h), instead of a hang.
 *
 * Seeds: test_seed() + 0 .. nseeds - 1, where nseeds is eo_seeds, or
 * VMLAB_EXPLORE_SEEDS from the environment (or eo_seeds divided by
 * VMLAB_EXPLORE_DIV); VMLAB_EXPLORE_SEED=S runs
 * seed S only.  Every failing seed is printed with the command that
 * reproduces it.
 */
#ifndef VMLAB_TEST_EXPLORE_H
#define VMLAB_TEST_EXPLORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EXPLORE_TIME 0 /* virtual-time order with jitter */
#define EXPLORE_PCT 1  /* PCT priorities */

struct explore_opts {
	const char *eo_name; /* test case name, for the rerun command */
	int eo_ncpus;
	int eo_seeds;	    /* default number of seeds */
	int eo_mode;	    /* EXPLORE_TIME or EXPLORE_PCT */
	int eo_jitter;	    /* ns, time mode */
	int eo_pct_depth;   /* change points, pct mode */
	int eo_pct_steps;   /* sync points the change points spread over */
	bool eo_quiet;	    /* silence children (expected failures) */
	bool eo_stop_first; /* stop at the first failing seed */
	bool eo_fixed;	    /* exactly eo_seeds seeds from eo_seed_base */
	uint64_t eo_seed_base;
	uint64_t eo_physmem;		/* bytes of memory (0: default) */
	const char *const *eo_tunables; /* more tunables, NULL-terminated */
	/*
	 * If not NULL: the children's stderr is captured, and that of the
	 * first failing run (or of the last run if none failed) is copied
	 * here, NUL-terminated and truncated to eo_errlen - 1 bytes.
	 */
	char *eo_errbuf;
	size_t eo_errlen;
};

struct explore_result {
	int er_runs;
	int er_failed;
	uint64_t er_first_failed; /* seed, valid if er_failed > 0 */
	int er_first_status;	  /* its exit status (1: a check, 2: boot,
				     3: shutdown, VMLAB_EXIT_STALL), -signal */
	int er_stalled;		  /* runs that ended in a stall */
	uint64_t er_hash;	  /* trace hash of the last run (1 seed) */
};

void explore(const struct explore_opts *o, void (*body)(void *),
    void (*check)(void *), void *arg, struct explore_result *res);
/* Number of seeds to use given a default (environment, sanitizers). */
int explore_nseeds(int def);

#endif /* !VMLAB_TEST_EXPLORE_H */
