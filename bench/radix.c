/*
 * radix.c: the page trie (vm_radix), lookups, inserts and removes.
 *
 *	radix [--clock cpu|wall] [--json PATH]
 *
 * Key sets (pages are an array of struct vm_page with only pindex set):
 *	dense:  1M keys 0 .. 2^20 - 1;
 *	sparse: 100k random 64-bit keys.
 * Rows, in ns per operation (statistics and clock in bench.h; one kernel
 * thread, bound to CPU 0 of a pinned 2-CPU machine):
 *	dense-seq, dense-rand, sparse-rand: lookups of every resident key,
 *	    in increasing key order (seq) or a random permutation (rand):
 *	    lookup        vm_radix_lookup() (the writer's, locked);
 *	    unlocked      vm_radix_lookup_unlocked(), 64 lookups per epoch
 *	                  section;
 *	    unlocked+ep   vm_radix_lookup_unlocked() in a section of its own
 *	                  (epoch_enter() and epoch_exit() around each);
 *	    insert        every key into an empty trie, in that order;
 *	    remove        every key from the full trie, in that order (node
 *	                  frees go through epoch_call(), whose cost counts).
 * Every lookup finds its page and reads its pindex: with pages of 128
 * bytes, the dense set's pages span 128 MiB, so a random lookup misses
 * the caches on the page as well as on the leaf's slot.  The table gives
 * each lookup variant as a multiple of `lookup' on the same keys, and the
 * size of each trie; --json writes every row as an array of {case, op,
 * ns_per_op, min, max, clock}.  The three lookup rows of a key set are
 * measured interleaved (run i of each, in turn, starting with a different
 * one each time), so that a burst of load from other jobs on the machine
 * falls on all three alike and their ratios stay meaningful, and over
 * RB_RUNS runs rather than BENCH_RUNS, for steadier medians.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime() in bench.h */

#include "bench.h"
#include "kern/epoch.h"
#include "kern/thread.h"
#include "vm/vm_page.h"
#include "vm/vm_radix.h"
#include "vmlab/vmlab.h"

#define RB_NDENSE (1ull << 20)
#define RB_NSPARSE 100000ull
#define RB_SECTION 64
#define RB_MAXRESULTS 32
#define RB_RUNS (3 * BENCH_RUNS) /* interleaved runs of the lookup rows */

enum rb_op { RB_LOOKUP, RB_UNLOCKED, RB_UNLOCKED_EP, RB_INSERT, RB_REMOVE };

static const char *const rb_opnames[] = { "lookup", "unlocked", "unlocked+ep",
	"insert", "remove" };

/* A key set, the trie holding it, and an order to visit its keys in. */
struct rb_set {
	const char *rs_name;
	struct vm_page *rs_pages;
	struct vm_page **rs_order; /* pages in visiting order */
	vm_pindex_t *rs_keys;	   /* their keys, in the same order */
	uint64_t rs_n;
	uint64_t rs_nodes; /* nodes of the full trie */
	struct vm_radix rs_rt;
	enum rb_op rs_op; /* what the current measurement does */
};

static struct bench_result rb_results[RB_MAXRESULTS];
static int rb_nresults;
static uint64_t rb_sink;     /* keeps the lookups' results alive */
static char rb_sizes[3][80]; /* the tries' sizes, for the table */
static int rb_nsizes;

static uint64_t
rb_rand(uint64_t *state)
{
	/* splitmix64 */
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return (z ^ (z >> 31));
}

static void
rb_shuffle(struct vm_page **a, uint64_t n, uint64_t *rs)
{
	struct vm_page *t;
	uint64_t i, j;

	for (i = n - 1; i > 0; i--) {
		j = rb_rand(rs) % (i + 1);
		t = a[i];
		a[i] = a[j];
		a[j] = t;
	}
}

/*
 * Builds a set of n pages: keys 0 .. n - 1, or random (sparse), visited
 * in that order, or shuffled.
 */
static void
rb_set_init(struct rb_set *s, const char *name, uint64_t n, bool sparse,
    bool shuffle, uint64_t seed)
{
	uint64_t i, rs = seed;

	s->rs_name = name;
	s->rs_n = n;
	s->rs_pages = aligned_alloc(MD_CACHE_LINE, n * sizeof(struct vm_page));
	s->rs_order = malloc(n * sizeof(*s->rs_order));
	s->rs_keys = malloc(n * sizeof(*s->rs_keys));
	if (s->rs_pages == NULL || s->rs_order == NULL || s->rs_keys == NULL)
		abort();
	memset(s->rs_pages, 0, n * sizeof(struct vm_page));
	for (i = 0; i < n; i++) {
		s->rs_pages[i].pindex = sparse ? rb_rand(&rs) : i;
		s->rs_order[i] = &s->rs_pages[i];
	}
	/* Sparse keys are distinct (a duplicate of 64 random bits: never). */
	if (shuffle)
		rb_shuffle(s->rs_order, n, &rs);
	/* A lookup reads its key from here, not from the page it finds. */
	for (i = 0; i < n; i++)
		s->rs_keys[i] = s->rs_order[i]->pindex;
	vm_radix_init(&s->rs_rt);
}

static void
rb_fill(struct rb_set *s)
{
	uint64_t i;

	for (i = 0; i < s->rs_n; i++)
		if (vm_radix_insert(&s->rs_rt, &s->rs_pages[i]) != 0)
			abort();
}

/* Lookups of every key in order; returns the elapsed ns. */
static uint64_t
rb_lookups(struct rb_set *s)
{
	const vm_pindex_t *keys = s->rs_keys;
	struct vm_page *m;
	uint64_t end, i, j, n = s->rs_n, sum = 0, misses = 0, t0;

	t0 = bench_clock_ns();
	switch (s->rs_op) {
	case RB_LOOKUP:
		for (i = 0; i < n; i++) {
			m = vm_radix_lookup(&s->rs_rt, keys[i]);
			sum += (uintptr_t)m;
			misses += m == NULL;
		}
		break;
	case RB_UNLOCKED:
		for (i = 0; i < n; i += RB_SECTION) {
			/* One bound per lookup, as in the loop above. */
			end = n - i > RB_SECTION ? i + RB_SECTION : n;
			epoch_enter();
			for (j = i; j < end; j++) {
				m = vm_radix_lookup_unlocked(
				    &s->rs_rt, keys[j]);
				sum += (uintptr_t)m;
				misses += m == NULL;
			}
			epoch_exit();
		}
		break;
	case RB_UNLOCKED_EP:
		for (i = 0; i < n; i++) {
			epoch_enter();
			m = vm_radix_lookup_unlocked(&s->rs_rt, keys[i]);
			epoch_exit();
			sum += (uintptr_t)m;
			misses += m == NULL;
		}
		break;
	default:
		abort();
	}
	t0 = bench_clock_ns() - t0;
	if (misses != 0) {
		fprintf(stderr, "radix: %s: %llu resident keys not found\n",
		    s->rs_name, (unsigned long long)misses);
		abort();
	}
	rb_sink += sum;
	return (t0);
}

/* Inserts (or removes) every key in order; only that is timed. */
static uint64_t
rb_update(struct rb_set *s)
{
	struct vm_page **order = s->rs_order;
	uint64_t i, n = s->rs_n, t0;

	if (s->rs_op == RB_INSERT) {
		t0 = bench_clock_ns();
		for (i = 0; i < n; i++)
			if (vm_radix_insert(&s->rs_rt, order[i]) != 0)
				abort();
		t0 = bench_clock_ns() - t0;
		vm_radix_reclaim_allnodes(&s->rs_rt);
		return (t0);
	}
	for (i = 0; i < n; i++)
		if (vm_radix_insert(&s->rs_rt, order[i]) != 0)
			abort();
	t0 = bench_clock_ns();
	for (i = 0; i < n; i++)
		if (vm_radix_remove(&s->rs_rt, s->rs_keys[i]) != order[i])
			abort();
	return (bench_clock_ns() - t0);
}

/* bench_measure()'s run: `rounds' passes over every key, one thread. */
static uint64_t
rb_run(void *arg, int threads, uint64_t rounds)
{
	struct rb_set *s = arg;
	uint64_t r, ns = 0;

	(void)threads;
	for (r = 0; r < rounds; r++)
		ns += s->rs_op >= RB_INSERT ? rb_update(s) : rb_lookups(s);
	return (ns);
}

static void
rb_measure(struct rb_set *s, enum rb_op op)
{
	struct bench_result *r = &rb_results[rb_nresults++];

	snprintf(r->br_impl, sizeof(r->br_impl), "%s", s->rs_name);
	snprintf(r->br_op, sizeof(r->br_op), "%s", rb_opnames[op]);
	s->rs_op = op;
	bench_measure(r, 1, s->rs_n, rb_run, s);
	bench_print_result(stderr, r);
}

/* One timed run of `rounds' passes with op; ns per lookup. */
static double
rb_run_op(struct rb_set *s, enum rb_op op, uint64_t rounds)
{
	s->rs_op = op;
	return ((double)rb_run(s, 1, rounds) / (double)(rounds * s->rs_n));
}

/*
 * The lookup rows, interleaved: bench_measure()'s calibration and
 * warm-up for each, then RB_RUNS runs of each taken in turn.
 */
static void
rb_measure_lookups(struct rb_set *s)
{
	enum { NOPS = RB_UNLOCKED_EP - RB_LOOKUP + 1 };
	double v[NOPS][RB_RUNS];
	uint64_t rounds[NOPS], ns;
	struct bench_result *r;
	int i, k, op;

	for (op = 0; op < NOPS; op++) {
		s->rs_op = (enum rb_op)(RB_LOOKUP + op);
		rounds[op] = 1;
		while ((ns = rb_run(s, 1, rounds[op])) < BENCH_RUN_NS / 4 &&
		    rounds[op] < (1ull << 40))
			rounds[op] *= 2;
		rounds[op] = rounds[op] * BENCH_RUN_NS / (ns > 0 ? ns : 1);
		if (rounds[op] == 0)
			rounds[op] = 1;
		(void)rb_run(s, 1, rounds[op]);
	}
	for (i = 0; i < RB_RUNS; i++)
		for (k = 0; k < NOPS; k++) {
			op = (i + k) % NOPS;
			v[op][i] = rb_run_op(
			    s, (enum rb_op)(RB_LOOKUP + op), rounds[op]);
		}
	for (op = 0; op < NOPS; op++) {
		r = &rb_results[rb_nresults++];
		snprintf(r->br_impl, sizeof(r->br_impl), "%s", s->rs_name);
		snprintf(r->br_op, sizeof(r->br_op), "%s",
		    rb_opnames[RB_LOOKUP + op]);
		qsort(v[op], RB_RUNS, sizeof(v[op][0]), bench_cmp);
		r->br_threads = 1;
		r->br_median = v[op][RB_RUNS / 2];
		r->br_min = v[op][0];
		r->br_max = v[op][RB_RUNS - 1];
		bench_print_result(stderr, r);
	}
}

/* Every row of one key set visited in one order. */
static void
rb_case(struct rb_set *s)
{
	enum rb_op op;

	rb_fill(s);
	s->rs_nodes = vm_radix_nodes_allocated();
	rb_measure_lookups(s);
	vm_radix_reclaim_allnodes(&s->rs_rt);
	for (op = RB_INSERT; op <= RB_REMOVE; op++)
		rb_measure(s, op);
	vm_radix_reclaim_allnodes(&s->rs_rt);
	/* The removes' deferred frees, before the next set's count. */
	epoch_wait();
	epoch_poll();
	snprintf(rb_sizes[rb_nsizes++], sizeof(rb_sizes[0]),
	    "%s: %llu keys, %llu nodes", s->rs_name,
	    (unsigned long long)s->rs_n, (unsigned long long)s->rs_nodes);
}

static void
rb_set_fini(struct rb_set *s)
{
	free(s->rs_pages);
	free(s->rs_order);
	free(s->rs_keys);
}

static void
rb_thread(void *arg)
{
	struct rb_set s;

	(void)arg;
	rb_set_init(&s, "dense-seq", RB_NDENSE, false, false, 1);
	rb_case(&s);
	rb_set_fini(&s);
	rb_set_init(&s, "dense-rand", RB_NDENSE, false, true, 2);
	rb_case(&s);
	rb_set_fini(&s);
	rb_set_init(&s, "sparse-rand", RB_NSPARSE, true, true, 3);
	rb_case(&s);
	rb_set_fini(&s);
}

static void
rb_main(void *arg)
{
	struct thread *td;

	(void)arg;
	/* Bound: the thread stays on CPU 0's host thread, whose clock runs. */
	if (kthread_create(rb_thread, NULL, 0, KTHR_BOUND | KTHR_JOINABLE, &td,
		"radix") != 0)
		abort();
	kthread_join(td);
}

static const struct bench_result *
rb_find(const char *set, const char *op)
{
	int i;

	for (i = 0; i < rb_nresults; i++)
		if (strcmp(rb_results[i].br_impl, set) == 0 &&
		    strcmp(rb_results[i].br_op, op) == 0)
			return (&rb_results[i]);
	return (NULL);
}

static void
rb_table(void)
{
	const struct bench_result *r, *base;
	char ratio[32];
	int i;

	printf("\nvm_radix: ns per operation (%s time), one thread\n",
	    bench_wall_clock ? "wall-clock" : "thread CPU");
	printf("%-12s %-12s %12s %10s %10s %10s\n", "keys", "op", "ns/op(med)",
	    "min", "max", "x lookup");
	for (i = 0; i < rb_nresults; i++) {
		r = &rb_results[i];
		base = rb_find(r->br_impl, "lookup");
		if (base == NULL || base == r ||
		    strncmp(r->br_op, "unlocked", 8) != 0)
			snprintf(ratio, sizeof(ratio), "-");
		else
			snprintf(ratio, sizeof(ratio), "%.2fx",
			    r->br_median / base->br_median);
		printf("%-12s %-12s %12.1f %10.1f %10.1f %10s\n", r->br_impl,
		    r->br_op, r->br_median, r->br_min, r->br_max, ratio);
	}
	for (i = 0; i < rb_nsizes; i++)
		printf("%s\n", rb_sizes[i]);
}

int
main(int argc, char **argv)
{
	struct vmlab_config cfg;
	const char *json;
	char err[256];

	if (!bench_parse_args(argc, argv, &json))
		return (2);
	vmlab_config_default(&cfg);
	cfg.ncpus = 2;
	cfg.pin = true;
	if (vmlab_boot(&cfg, err, sizeof(err)) != 0 ||
	    vmlab_run(rb_main, NULL) != 0 || vmlab_shutdown() != 0) {
		fprintf(stderr, "radix: vmlab: %s\n", err);
		return (1);
	}
	rb_table();
	return (json != NULL ? bench_json_results(
				   json, rb_results, rb_nresults, "case", false)
			     : 0);
}
