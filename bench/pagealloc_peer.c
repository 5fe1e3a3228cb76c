/*
 * pagealloc_peer.c: the allocators users would otherwise reach for, on
 * the page-allocation pattern of bench.h.
 *
 * Built once per allocator (bench/CMakeLists.txt): pagealloc_peer_glibc
 * with the C library's malloc, and pagealloc_peer_jemalloc, _mimalloc and
 * _tcmalloc linked against those libraries, which replace malloc and
 * aligned_alloc.  Run as `pagealloc_peer_<impl> <impl> <clock>': it says on
 * stderr which library aligned_alloc() resolved to (so a build that fell
 * back to glibc cannot pass for a peer) and prints RESULT lines (clock
 * `cpu' or `wall', see bench.h) for
 *	4k: aligned_alloc(4096, 4096) + free, per pair;
 *	2m: aligned_alloc(2 MiB, 2 MiB) + free, per pair;
 * each on 1 and 2 threads pinned to host CPUs 0 and 1.
 */
#include "bench.h"

#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>

struct peer_arg {
	size_t pa_size;
	uint64_t pa_rounds;
	int pa_cpu;
	pthread_barrier_t *pa_barrier;
	uint64_t pa_ns;
};

static void *
peer_thread(void *arg)
{
	struct peer_arg *pa = arg;
	void *p[BENCH_BATCH];
	cpu_set_t set;
	uint64_t r, t0;
	int i;

	CPU_ZERO(&set);
	CPU_SET(pa->pa_cpu, &set);
	(void)pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	pthread_barrier_wait(pa->pa_barrier);
	t0 = bench_clock_ns();
	for (r = 0; r < pa->pa_rounds; r++) {
		for (i = 0; i < BENCH_BATCH; i++) {
			p[i] = aligned_alloc(pa->pa_size, pa->pa_size);
			if (p[i] == NULL) {
				fprintf(stderr, "aligned_alloc failed\n");
				exit(1);
			}
		}
		/* Keep the compiler from eliding the pairs. */
		__asm__ volatile("" : : "r"(p) : "memory");
		for (i = 0; i < BENCH_BATCH; i++)
			free(p[i]);
	}
	pa->pa_ns = bench_clock_ns() - t0;
	return (NULL);
}

static uint64_t
peer_run(void *arg, int threads, uint64_t rounds)
{
	struct peer_arg pa[BENCH_MAXTHREADS];
	pthread_t td[BENCH_MAXTHREADS];
	pthread_barrier_t barrier;
	uint64_t ns = 0;
	int i;

	pthread_barrier_init(&barrier, NULL, (unsigned)threads);
	for (i = 0; i < threads; i++) {
		pa[i].pa_size = *(size_t *)arg;
		pa[i].pa_rounds = rounds;
		pa[i].pa_cpu = i;
		pa[i].pa_barrier = &barrier;
		pthread_create(&td[i], NULL, peer_thread, &pa[i]);
	}
	for (i = 0; i < threads; i++) {
		pthread_join(td[i], NULL);
		if (pa[i].pa_ns > ns)
			ns = pa[i].pa_ns;
	}
	pthread_barrier_destroy(&barrier);
	return (ns);
}

int
main(int argc, char **argv)
{
	static const struct {
		const char *op;
		size_t size;
	} ops[] = { { "4k", 4096 }, { "2m", 2u << 20 } };
	struct bench_result r;
	Dl_info info;
	size_t size;
	int i, t;

	if (argc != 3 || !bench_parse_clock(argv[2])) {
		fprintf(stderr, "usage: %s IMPL cpu|wall\n", argv[0]);
		return (2);
	}
	if (dladdr((void *)aligned_alloc, &info) != 0)
		fprintf(stderr, "%s: aligned_alloc from %s\n", argv[1],
		    info.dli_fname);
	memset(&r, 0, sizeof(r));
	snprintf(r.br_impl, sizeof(r.br_impl), "%s", argv[1]);
	for (i = 0; i < 2; i++)
		for (t = 1; t <= BENCH_MAXTHREADS; t++) {
			size = ops[i].size;
			snprintf(r.br_op, sizeof(r.br_op), "%s", ops[i].op);
			bench_measure(&r, t, BENCH_BATCH, peer_run, &size);
			bench_print_result(stdout, &r);
		}
	return (0);
}
