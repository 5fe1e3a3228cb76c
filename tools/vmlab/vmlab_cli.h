/*
 * vmlab_cli.h: the laboratory CLI's internal interfaces.
 *
 * A scenario is a workload with options.  The CLI boots a machine per run
 * (one per CPU count given with --cpus), runs the scenario's run() in a
 * kernel thread, and reports what the scenario recorded with
 * report_result() plus the lock profile and the counters.
 */
#ifndef VMLAB_CLI_H
#define VMLAB_CLI_H

#include "vm/uma.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define SCEN_MAXOPTS 10
#define REPORT_MAXRESULTS 128

/*
 * A scenario option `--name VALUE': an integer with optional suffix, or,
 * when so_words is set, one of those words (its value is the word's
 * index; so_min and so_max are unused).
 */
struct scen_opt {
	const char *so_name;
	const char *so_help;
	const char *so_default; /* textual default (may be a list) */
	int64_t so_min, so_max;
	bool so_list;		     /* accepts a comma-separated list */
	const char *const *so_words; /* NULL-terminated, or NULL */
};

struct scen_ctx;

/*
 * A tunable that a scenario sets itself while it runs (to compare its
 * values side by side), and the scenario option that chooses them (NULL:
 * the scenario measures a fixed set).  The CLI refuses `-o' of it for that
 * scenario, saying why, rather than silently running other values.
 */
struct scen_knob {
	const char *sk_tunable;
	const char *sk_option;
};

#define SCEN_MAXKNOBS 4

struct scenario {
	const char *sc_name;
	const char *sc_descr;
	struct scen_opt sc_opts[SCEN_MAXOPTS];
	int sc_nopts;
	/* Registers the scenario's tunables (before option parsing). */
	void (*sc_tunables)(void);
	/*
	 * Checks the parsed options against limits that depend on the host
	 * (NULL: none); 0, or non-0 with a one-line message in err.
	 */
	int (*sc_check)(const struct scen_ctx *ctx, char *err, size_t errlen);
	/*
	 * The physical memory the run needs with these options (bytes; NULL
	 * or 0: the default is enough).  Without --mem the machine gets
	 * that much; with a smaller --mem the scenario says so itself.
	 */
	uint64_t (*sc_physmem)(const struct scen_ctx *ctx);
	/* Runs in a kernel thread of the booted machine. */
	void (*sc_run)(struct scen_ctx *ctx);
	struct scen_knob sc_knobs[SCEN_MAXKNOBS]; /* ends at a NULL name */
	/*
	 * Variants that each need a machine of their own (they differ in
	 * boot-time tunables).  NULL: one machine per CPU count.  Otherwise
	 * the CLI boots sc_nvariants() machines per CPU count, the tunables
	 * of -o first, then the `max' at most that sc_variant_tunables()
	 * stores in tun ("name=value"; it returns their count); it runs
	 * sc_run() in each with sx_variant set, in order, all sharing one
	 * ctx, and prints the run's JSON object once, after the last.
	 */
	int (*sc_nvariants)(const struct scen_ctx *ctx);
	int (*sc_variant_tunables)(
	    const struct scen_ctx *ctx, int v, const char **tun, int max);
};

/* One zone's row of the `vmstat -z' table (uma_zone_stats). */
/* One recorded figure. */
struct report_result {
	char rr_key[64];
	double rr_value;
	char rr_unit[16];
};

/*
 * A row of a scenario's table: named fields, each a number, a string or
 * raw JSON text (a nested list).  The rows go to the JSON results as the
 * list sx_rows_name ("rows" unless the scenario names it).
 */
#define REPORT_ROWFIELDS 32
struct report_field {
	char rf_key[32];
	double rf_num;
	char *rf_text; /* NULL: a number */
	bool rf_json;  /* rf_text is JSON, not a string */
};
struct report_row {
	struct report_field rw_fields[REPORT_ROWFIELDS];
	int rw_n;
};

struct scen_ctx {
	const struct scenario *sx_scen;
	int64_t sx_optval[SCEN_MAXOPTS][32]; /* parsed option values */
	int sx_optcount[SCEN_MAXOPTS];
	bool sx_json;
	const char *sx_plot; /* --plot FILE.png, or NULL */
	uint64_t sx_mem;     /* --mem in bytes, 0 if not given */
	FILE *sx_out;	     /* human output (stderr with --json) */
	int sx_ncpus;
	bool sx_sim;	  /* the simulated machine (md_nanotime() is virtual) */
	uint64_t sx_seed; /* --seed: of the schedule (sim) and the workload */
	struct report_result sx_results[REPORT_MAXRESULTS];
	int sx_nresults;
	int sx_failed;		    /* the scenario detected an error */
	struct report_row *sx_rows; /* the scenario's table (report_row_*) */
	int sx_nrows;
	const char *sx_rows_name; /* its JSON name; NULL: "rows" */
	/* The progress line (scen_progress(): its callers, one at a time). */
	bool sx_progress;	 /* stderr is a terminal (constant) */
	uint64_t sx_progress_ns; /* host time of the last line */
	int sx_progress_len;	 /* characters on screen, 0: none */
	/* The zones at the end of the run (report_zones_snapshot()). */
	struct uma_zone_stats *sx_zones; /* the zones at the end of the run */
	int sx_nzones;
	/* The machine of this variant (sc_nvariants), 0 without variants. */
	int sx_variant;
	int sx_nvariants;
};

extern const struct scenario scen_micro;
extern const struct scenario scen_lockstorm;
extern const struct scenario scen_scaling;
extern const struct scenario scen_superpage;
extern const struct scenario scen_pressure;
extern const struct scenario scen_fault;
extern const struct scenario scen_pipechain;
extern const struct scenario scen_build;
/* Page-queue lock wait (ns) and contentions so far, from the profile. */
void pqstat_lock_wait(uint64_t *waitp, uint64_t *contp);

/*
 * The page allocator's rows of the micro scenario (scen_micro_vm.c):
 * page alloc+free with per-CPU caches on and off, bulk, 2 MiB blocks.
 */
void micro_vm_rows(struct scen_ctx *ctx, uint64_t iters);
/* The process rows (scen_micro_proc.c): a pipe byte, fork+exit+wait. */
void micro_proc_rows(struct scen_ctx *ctx, uint64_t iters);
/* The page-queue rows (scen_micro_pq.c): requeue, batch sizes 0-63. */
void micro_pq_rows(struct scen_ctx *ctx, uint64_t iters);

/* The micro scenario's helpers (scen_micro.c). */
#define MICRO_MAXCPUS 64
/* The median of v[0..n) (sorts v). */
double micro_median(double *v, int n);
/*
 * Runs fn(args[i]) in a thread bound to CPU i, for i < ncpus (at most
 * MICRO_MAXCPUS), all released at once; returns the longest time one of
 * them spent in fn, in ns, or 0 if a thread could not be started.
 */
uint64_t micro_on_cpus(void (*fn)(void *), void *const *args, int ncpus);

/*
 * Changes a tunable of the running machine through its set handler
 * (sysctl_set); on refusal prints the message, marks the run failed and
 * returns false.  scen_knob_get(): its value now.
 */
bool scen_knob_set(struct scen_ctx *ctx, const char *name, int64_t value);
int64_t scen_knob_get(const char *name);
/* A statistic's (or tunable's) value now, 0 if there is none. */
static inline uint64_t
scen_stat(const char *name)
{
	return ((uint64_t)scen_knob_get(name));
}

/*
 * The scenarios' generator (splitmix64): the next number of the stream
 * whose state is *s, seeded from --seed.
 */
uint64_t scen_rand(uint64_t *s);

/* Value i of option `name' (the default when not given). */
int64_t scen_opt(const struct scen_ctx *ctx, const char *name, int i);
int scen_opt_count(const struct scen_ctx *ctx, const char *name);
/* The word of option `name' (one with so_words), value i. */
const char *scen_opt_word(const struct scen_ctx *ctx, const char *name, int i);

/*
 * A long scenario's progress, for a person watching: one line on stderr,
 * "SCENARIO: WHAT, P% (DONE of TOTAL UNIT)", rewritten in place at most
 * four times a second (host time), and only when stderr is a terminal
 * (sx_progress): never in tests, pipes or files, never on stdout.
 * scen_progress_end() erases it; call it before printing anything else
 * (rows go to the same terminal).  Calls must not overlap: make them from
 * the scenario's controlling thread, or under a lock that the callers
 * hold.  The calls make no sync point, so on the simulated machine a
 * run's schedule and results are the same on a terminal and off it (on
 * the host a line shown costs a write to the terminal).
 */
void scen_progress(struct scen_ctx *ctx, const char *what, uint64_t done,
    uint64_t total, const char *unit);
void scen_progress_end(struct scen_ctx *ctx);

void report_result(
    struct scen_ctx *ctx, const char *key, double value, const char *unit);
/*
 * The table: report_row_add() starts a row and returns its index (-1 out
 * of memory); the others set one field of row i (a number, a string, raw
 * JSON).  report_rows_free(): at the end of the run.
 */
int report_row_add(struct scen_ctx *ctx);
void report_row_num(struct scen_ctx *ctx, int i, const char *key, double v);
void report_row_str(
    struct scen_ctx *ctx, int i, const char *key, const char *s);
void report_row_json(
    struct scen_ctx *ctx, int i, const char *key, const char *json);
void report_rows_free(struct scen_ctx *ctx);
const struct report_result *report_find(
    const struct scen_ctx *ctx, const char *key);
/* A lock's figures from the profile. */
struct scen_lockrow {
	char name[48];
	char cls[16];
	uint64_t wait_ns, acq, cont;
};
/*
 * report_top_locks(): the locks that waited, most total wait first, at
 * most `max' (the count); report_lock_sum(): every profile row named
 * `name' added up (class of the last).  Both since lock_prof_reset().
 */
int report_top_locks(struct scen_lockrow *out, int max);
void report_lock_sum(const char *name, struct scen_lockrow *sum);
/* Prints the lock profile table (top `max' rows) to `out'. */
void report_lockstat(FILE *out, int max);
/* Prints one JSON object for the run on stdout. */
void report_json(
    const struct scen_ctx *ctx, const char *backend, uint64_t seed);
/*
 * Zones.  report_zones_snapshot() records every zone's statistics in
 * ctx (a kernel thread of the booted machine, at the end of the run);
 * report_zones() prints them as a `vmstat -z' table (ITEM SIZE LIMIT
 * USED FREE REQ FAIL SLEEP XDOMAIN PAGES), or with json the elements of
 * the JSON "zones" array.  report_zones_free() frees the snapshot.
 */
void report_zones_snapshot(struct scen_ctx *ctx);
void report_zones(FILE *out, const struct scen_ctx *ctx, bool json);
void report_zones_free(struct scen_ctx *ctx);
/*
 * Plots: report_gnuplot_found(): whether gnuplot can be run;
 * report_gnuplot_run(): runs the gnuplot command line `cmd', which draws
 * `png' from `data', and says so on `out' (false if it failed);
 * report_plot_fallback(): says on `out' why `png' is not drawn and that a
 * text plot follows.
 */
bool report_gnuplot_found(void);
bool report_gnuplot_run(
    FILE *out, const char *cmd, const char *png, const char *data);
void report_plot_fallback(FILE *out, const char *png);
/* Prints the non-zero statistics (vmstat-like). */
void report_counters(FILE *out);
/* Prints tunables and statistics (all, or those named); 0 or 2. */
int report_sysctl(FILE *out, const char *const *names, int n);

#endif /* !VMLAB_CLI_H */
