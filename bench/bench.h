/*
 * bench.h: what the page-allocation benchmarks share.
 *
 * The pattern, for every implementation: allocate a batch of
 * BENCH_BATCH objects, free them all, repeat.  A measurement calibrates
 * the number of rounds so that one run lasts about BENCH_RUN_NS, does one
 * warm-up run and BENCH_RUNS timed runs, and reports the median, minimum
 * and maximum of ns per operation.  With several threads, every thread
 * does the same rounds at the same time, and a run's figure is the
 * slowest thread's time per operation (ns per op per thread: perfect
 * scaling keeps it equal to the one-thread figure).
 *
 * Clock.  By default each thread's own CPU time (CLOCK_THREAD_CPUTIME_ID,
 * user and system), so that other jobs sharing the machine do not charge
 * their preemptions to the thread measured; `wall' uses CLOCK_MONOTONIC.
 * Spinning on a lock counts as CPU time; sleeping in a futex does not
 * (which flatters allocators that sleep under contention, not vmlab,
 * whose locks spin).
 *
 * A result line, printed by the peer programs and parsed by pagealloc:
 *	RESULT <impl> <op> <threads> <median> <min> <max>
 */
#ifndef VMLAB_BENCH_H
#define VMLAB_BENCH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BENCH_BATCH 64
#define BENCH_RUNS 9
#define BENCH_RUN_NS 40000000ull /* 40 ms */
#define BENCH_MAXTHREADS 2

struct bench_result {
	char br_impl[16];
	char br_op[16];
	int br_threads;
	double br_median, br_min, br_max;
};

static bool bench_wall_clock; /* set by bench_parse_clock() */

/* Parses "cpu" or "wall"; false if neither. */
static inline bool
bench_parse_clock(const char *s)
{
	if (strcmp(s, "wall") != 0 && strcmp(s, "cpu") != 0)
		return (false);
	bench_wall_clock = strcmp(s, "wall") == 0;
	return (true);
}

/*
 * The benchmarks' command line: [--clock cpu|wall] [--json PATH].  Sets
 * *jsonp (NULL: no JSON); on a bad word prints the usage and returns
 * false (exit status 2).
 */
static inline bool
bench_parse_args(int argc, char **argv, const char **jsonp)
{
	int i;

	*jsonp = NULL;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0 && i + 1 < argc)
			*jsonp = argv[++i];
		else if (strcmp(argv[i], "--clock") == 0 && i + 1 < argc &&
		    bench_parse_clock(argv[i + 1]))
			i++;
		else {
			fprintf(stderr,
			    "usage: %s [--clock cpu|wall] [--json PATH]\n",
			    argv[0]);
			return (false);
		}
	}
	return (true);
}

/* Now, in ns, on the chosen clock (the calling thread's CPU time). */
static inline uint64_t
bench_clock_ns(void)
{
	struct timespec ts;

	clock_gettime(
	    bench_wall_clock ? CLOCK_MONOTONIC : CLOCK_THREAD_CPUTIME_ID, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec);
}

static inline int
bench_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x < y ? -1 : x > y);
}

/*
 * Measures `run' (which does `rounds' rounds on `threads' threads and
 * returns the slowest thread's elapsed ns) and fills r.
 */
static inline void
bench_measure(struct bench_result *r, int threads, uint64_t ops_per_round,
    uint64_t (*run)(void *arg, int threads, uint64_t rounds), void *arg)
{
	double v[BENCH_RUNS];
	uint64_t rounds = 1, ns;
	int i;

	/* Calibration: double the rounds until a run is long enough. */
	while ((ns = run(arg, threads, rounds)) < BENCH_RUN_NS / 4 &&
	    rounds < (1ull << 40))
		rounds *= 2;
	rounds = rounds * BENCH_RUN_NS / (ns > 0 ? ns : 1);
	if (rounds == 0)
		rounds = 1;
	(void)run(arg, threads, rounds);
	for (i = 0; i < BENCH_RUNS; i++)
		v[i] = (double)run(arg, threads, rounds) /
		    (double)(rounds * ops_per_round);
	qsort(v, BENCH_RUNS, sizeof(v[0]), bench_cmp);
	r->br_threads = threads;
	r->br_median = v[BENCH_RUNS / 2];
	r->br_min = v[0];
	r->br_max = v[BENCH_RUNS - 1];
}

static inline void
bench_print_result(FILE *f, const struct bench_result *r)
{
	fprintf(f, "RESULT %s %s %d %.3f %.3f %.3f\n", r->br_impl, r->br_op,
	    r->br_threads, r->br_median, r->br_min, r->br_max);
	fflush(f);
}

/*
 * Writes r[0..n) to `path' as a JSON array of objects: br_impl under the
 * key `impl_key', the thread count only if `threads'.  Returns 0, or 1
 * after printing why.
 */
static inline int
bench_json_results(const char *path, const struct bench_result *r, int n,
    const char *impl_key, bool threads)
{
	FILE *f = fopen(path, "w");
	int i;

	if (f == NULL) {
		perror(path);
		return (1);
	}
	fprintf(f, "[\n");
	for (i = 0; i < n; i++) {
		fprintf(f, "  {\"%s\": \"%s\", \"op\": \"%s\", ", impl_key,
		    r[i].br_impl, r[i].br_op);
		if (threads)
			fprintf(f, "\"threads\": %d, ", r[i].br_threads);
		fprintf(f,
		    "\"ns_per_op\": %.3f, \"min\": %.3f, \"max\": %.3f, "
		    "\"clock\": \"%s\"}%s\n",
		    r[i].br_median, r[i].br_min, r[i].br_max,
		    bench_wall_clock ? "wall" : "cpu", i + 1 < n ? "," : "");
	}
	fprintf(f, "]\n");
	return (fclose(f) != 0);
}

#endif /* !VMLAB_BENCH_H */
