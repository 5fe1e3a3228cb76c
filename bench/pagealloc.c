/*
 * pagealloc.c: page allocation, vmlab against its peers, in one run.
 *
 *	pagealloc [--clock cpu|wall] [--json PATH]
 *
 * Rows (pattern and statistics in bench.h), each on 1 and 2 threads:
 *	vmlab 4k:     vm_page_alloc_noobj() + vm_page_free(), through the
 *	              per-CPU page cache;
 *	vmlab bulk4k: vm_page_alloc_bulk(64) + vm_page_free_bulk(), per page;
 *	vmlab 2m:     vm_page_alloc_block(order 9) + vm_page_free_block();
 *	glibc, jemalloc, mimalloc, tcmalloc 4k and 2m: aligned_alloc(size,
 *	              size) + free(), from the pagealloc_peer_<impl> programs
 *	              built next to this one (those not built are skipped);
 *	kernel 4k, 2m: the host kernel's own page path: mmap, touch one byte
 *	              per 4 KiB page, munmap.
 * vmlab runs on a machine of 2 CPUs (pinned) and 1 GiB; its threads are
 * kernel threads bound to CPUs 0 and 1; the others are pthreads pinned to
 * host CPUs 0 and 1.  The kernel rows live in pagealloc_kernel.c, apart,
 * because the file must not mix kernel and host scheduling headers.  The
 * table gives each peer's time as a multiple of
 * vmlab's on the same row; --json writes every row as an array of
 * {impl, op, threads, ns_per_op, min, max, clock}.  The clock (bench.h)
 * is each thread's CPU time unless --clock wall.
 */
#include "bench.h"
#include "kern/thread.h"
#include "vm/vm_page.h"
#include "vmlab/vmlab.h"

#include <limits.h>
#include <string.h>
#include <unistd.h>

#define PA_MAXRESULTS 64

static struct bench_result pa_results[PA_MAXRESULTS];
static int pa_nresults;

/* pagealloc_kernel.c: the kernel rows, 4k and 2m on 1 and 2 threads. */
int pagealloc_kernel_rows(struct bench_result *rows, int max, bool wall);

enum pa_vm_op { PA_4K, PA_BULK, PA_2M };

struct pa_vm_arg {
	enum pa_vm_op va_op;
	uint64_t va_rounds;
	uint32_t *va_go; /* (a) */
	uint64_t va_ns;
};

static void
pa_vm_thread(void *arg)
{
	struct pa_vm_arg *va = arg;
	struct vm_page *ma[BENCH_BATCH];
	uint64_t r, t0;
	int i, n;

	while (atomic_load_acq_int(va->va_go) == 0)
		md_spin_wait(va->va_go);
	/* The thread stays on its CPU's host thread: it never sleeps here. */
	t0 = bench_clock_ns();
	for (r = 0; r < va->va_rounds; r++) {
		switch (va->va_op) {
		case PA_4K:
			for (i = 0; i < BENCH_BATCH; i++)
				ma[i] = vm_page_alloc_noobj(0);
			for (i = 0; i < BENCH_BATCH; i++)
				vm_page_free(ma[i]);
			break;
		case PA_BULK:
			n = vm_page_alloc_bulk(0, ma, BENCH_BATCH);
			vm_page_free_bulk(ma, n);
			break;
		case PA_2M:
			for (i = 0; i < BENCH_BATCH; i++)
				ma[i] =
				    vm_page_alloc_block(0, VM_LEVEL_0_ORDER);
			for (i = 0; i < BENCH_BATCH; i++)
				vm_page_free_block(ma[i], VM_LEVEL_0_ORDER);
			break;
		}
	}
	va->va_ns = bench_clock_ns() - t0;
}

/* One run on `threads' kernel threads (called in a kernel thread). */
static uint64_t
pa_vm_run(void *arg, int threads, uint64_t rounds)
{
	struct pa_vm_arg va[BENCH_MAXTHREADS];
	struct thread *td[BENCH_MAXTHREADS];
	uint32_t go = 0;
	uint64_t ns = 0;
	int i;

	for (i = 0; i < threads; i++) {
		va[i].va_op = *(enum pa_vm_op *)arg;
		va[i].va_rounds = rounds;
		va[i].va_go = &go;
		if (kthread_create(pa_vm_thread, &va[i], i,
			KTHR_BOUND | KTHR_JOINABLE, &td[i], "bench%d", i) != 0)
			abort();
	}
	atomic_store_rel_int(&go, 1);
	for (i = 0; i < threads; i++) {
		kthread_join(td[i]);
		if (va[i].va_ns > ns)
			ns = va[i].va_ns;
	}
	return (ns);
}

static void
pa_vm_main(void *arg)
{
	static const char *const names[] = { "4k", "bulk4k", "2m" };
	struct bench_result *r;
	enum pa_vm_op op;
	int t;

	(void)arg;
	for (op = PA_4K; op <= PA_2M; op++)
		for (t = 1; t <= BENCH_MAXTHREADS; t++) {
			r = &pa_results[pa_nresults++];
			snprintf(r->br_impl, sizeof(r->br_impl), "vmlab");
			snprintf(r->br_op, sizeof(r->br_op), "%s", names[op]);
			bench_measure(r, t, BENCH_BATCH, pa_vm_run, &op);
			bench_print_result(stderr, r);
		}
}

static void
pa_vmlab(void)
{
	struct vmlab_config cfg;
	char err[256];

	vmlab_config_default(&cfg);
	cfg.ncpus = 2;
	cfg.physmem = 1ull << 30;
	cfg.pin = true;
	if (vmlab_boot(&cfg, err, sizeof(err)) != 0 ||
	    vmlab_run(pa_vm_main, NULL) != 0 || vmlab_shutdown() != 0) {
		fprintf(stderr, "pagealloc: vmlab: %s\n", err);
		exit(1);
	}
}

/* Runs dir/pagealloc_peer_<impl> and collects its RESULT lines. */
static void
pa_peer(const char *dir, const char *impl)
{
	char path[PATH_MAX + 64], cmd[2 * PATH_MAX], line[256];
	struct bench_result *r;
	FILE *f;

	snprintf(path, sizeof(path), "%s/pagealloc_peer_%s", dir, impl);
	if (access(path, X_OK) != 0) {
		fprintf(stderr, "pagealloc: %s not built: %s skipped\n", path,
		    impl);
		return;
	}
	snprintf(cmd, sizeof(cmd), "'%s' %s %s", path, impl,
	    bench_wall_clock ? "wall" : "cpu");
	if ((f = popen(cmd, "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL &&
	    pa_nresults < PA_MAXRESULTS) {
		r = &pa_results[pa_nresults];
		if (sscanf(line, "RESULT %15s %15s %d %lf %lf %lf", r->br_impl,
			r->br_op, &r->br_threads, &r->br_median, &r->br_min,
			&r->br_max) == 6) {
			bench_print_result(stderr, r);
			pa_nresults++;
		}
	}
	if (pclose(f) != 0)
		fprintf(stderr, "pagealloc: %s failed\n", path);
}

static const struct bench_result *
pa_find(const char *impl, const char *op, int threads)
{
	int i;

	for (i = 0; i < pa_nresults; i++)
		if (strcmp(pa_results[i].br_impl, impl) == 0 &&
		    strcmp(pa_results[i].br_op, op) == 0 &&
		    pa_results[i].br_threads == threads)
			return (&pa_results[i]);
	return (NULL);
}

/* The table: one row per result, with its ratio to vmlab's row. */
static void
pa_table(void)
{
	const struct bench_result *r, *v;
	char ratio[32];
	int i;

	printf("\nns per operation per thread (%s time), batches of %d\n",
	    bench_wall_clock ? "wall-clock" : "thread CPU", BENCH_BATCH);
	printf("%-9s %-7s %7s %12s %10s %10s %12s\n", "impl", "op", "threads",
	    "ns/op(med)", "min", "max", "x vmlab");
	for (i = 0; i < pa_nresults; i++) {
		r = &pa_results[i];
		v = pa_find("vmlab", r->br_op, r->br_threads);
		if (strcmp(r->br_impl, "vmlab") == 0 || v == NULL)
			snprintf(ratio, sizeof(ratio), "-");
		else
			snprintf(ratio, sizeof(ratio), "%.1fx",
			    r->br_median / v->br_median);
		printf("%-9s %-7s %7d %12.1f %10.1f %10.1f %12s\n", r->br_impl,
		    r->br_op, r->br_threads, r->br_median, r->br_min, r->br_max,
		    ratio);
	}
}

int
main(int argc, char **argv)
{
	static const char *const peers[] = { "glibc", "jemalloc", "mimalloc",
		"tcmalloc" };
	char dir[PATH_MAX];
	const char *json, *slash;
	size_t i;

	if (!bench_parse_args(argc, argv, &json))
		return (2);
	slash = strrchr(argv[0], '/');
	snprintf(dir, sizeof(dir), "%.*s",
	    slash != NULL ? (int)(slash - argv[0]) : 1,
	    slash != NULL ? argv[0] : ".");
	pa_vmlab();
	for (i = 0; i < sizeof(peers) / sizeof(peers[0]); i++)
		pa_peer(dir, peers[i]);
	pa_nresults += pagealloc_kernel_rows(&pa_results[pa_nresults],
	    PA_MAXRESULTS - pa_nresults, bench_wall_clock);
	pa_table();
	return (json != NULL ? bench_json_results(
				   json, pa_results, pa_nresults, "impl", true)
			     : 0);
}
