/*
 * pagealloc_kernel.c: the host kernel's page path, the last peer of
 * pagealloc.c: mmap an anonymous 4 KiB or 2 MiB region, touch one byte
 * per 4 KiB page (the page faults are the allocation), munmap; batches of
 * BENCH_BATCH, on 1 and 2 pthreads pinned to host CPUs 0 and 1.
 */
#include "bench.h"

#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <time.h>

int pagealloc_kernel_rows(struct bench_result *rows, int max, bool wall);

/* The host kernel: mmap, touch every 4 KiB page once, munmap. */
struct pa_k_arg {
	size_t ka_size;
	uint64_t ka_rounds;
	int ka_cpu;
	pthread_barrier_t *ka_barrier;
	uint64_t ka_ns;
};

static void *
pa_k_thread(void *arg)
{
	struct pa_k_arg *ka = arg;
	volatile char *p[BENCH_BATCH];
	cpu_set_t set;
	uint64_t r, t0;
	size_t off;
	int i;

	CPU_ZERO(&set);
	CPU_SET(ka->ka_cpu, &set);
	(void)pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	pthread_barrier_wait(ka->ka_barrier);
	t0 = bench_clock_ns();
	for (r = 0; r < ka->ka_rounds; r++) {
		for (i = 0; i < BENCH_BATCH; i++) {
			p[i] = mmap(NULL, ka->ka_size, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (p[i] == MAP_FAILED)
				abort();
			for (off = 0; off < ka->ka_size; off += 4096)
				p[i][off] = 1;
		}
		for (i = 0; i < BENCH_BATCH; i++)
			munmap((void *)p[i], ka->ka_size);
	}
	ka->ka_ns = bench_clock_ns() - t0;
	return (NULL);
}

static uint64_t
pa_k_run(void *arg, int threads, uint64_t rounds)
{
	struct pa_k_arg ka[BENCH_MAXTHREADS];
	pthread_t td[BENCH_MAXTHREADS];
	pthread_barrier_t barrier;
	uint64_t ns = 0;
	int i;

	pthread_barrier_init(&barrier, NULL, (unsigned)threads);
	for (i = 0; i < threads; i++) {
		ka[i].ka_size = *(size_t *)arg;
		ka[i].ka_rounds = rounds;
		ka[i].ka_cpu = i;
		ka[i].ka_barrier = &barrier;
		pthread_create(&td[i], NULL, pa_k_thread, &ka[i]);
	}
	for (i = 0; i < threads; i++) {
		pthread_join(td[i], NULL);
		if (ka[i].ka_ns > ns)
			ns = ka[i].ka_ns;
	}
	pthread_barrier_destroy(&barrier);
	return (ns);
}

int
pagealloc_kernel_rows(struct bench_result *rows, int max, bool wall)
{
	struct bench_result *r;
	size_t size;
	int i, t, n = 0;

	bench_wall_clock = wall;
	for (i = 0; i < 2; i++)
		for (t = 1; t <= BENCH_MAXTHREADS && n < max; t++) {
			r = &rows[n++];
			snprintf(r->br_impl, sizeof(r->br_impl), "kernel");
			snprintf(
			    r->br_op, sizeof(r->br_op), i == 0 ? "4k" : "2m");
			size = i == 0 ? 4096 : 2u << 20;
			bench_measure(r, t, BENCH_BATCH, pa_k_run, &size);
			bench_print_result(stderr, r);
		}
	return (n);
}
