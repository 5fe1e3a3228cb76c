/*
 * md_host.c: the host backend's CPUs.
 *
 * Each CPU is a pthread running the kernel's cpu_main(cpu).  Its
 * initial-exec TLS holds the CPU number (read by md_curcpu()).  Idle CPUs
 * sleep on a futex word (mhc_wake) and are woken by md_cpu_wake(), which
 * enqueuers and IPI senders call.
 *
 * Locking key:
 *	(c) constant after md_init()
 *	(a) atomic
 *	(e) md_ext_mtx
 */
#include "md/md.h"
#include "md/md_atomic.h"
#include "md/md_backend.h"

#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

struct md_host_cpu {
	uint32_t mhc_wake;     /* (a) wake token (futex word) */
	uint32_t mhc_sleeping; /* (a) CPU is (about to be) in futex wait */
	pthread_t mhc_thread;  /* (c) */
	int mhc_cpu;	       /* (c) */
} __attribute__((aligned(MD_CACHE_LINE)));

static __thread int md_host_cpu_tls __attribute__((tls_model("initial-exec"))) =
    -1;

intptr_t md_tls_cpu_off;

static struct md_host_cpu *md_hcpus; /* (c) */
static void (*md_cpu_main)(int);     /* (c) */
static pthread_mutex_t md_ext_mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t md_ext_cv = PTHREAD_COND_INITIALIZER;

/*
 * Runs at load time, so md_curcpu() answers -1 in external threads even
 * before the first md_init().
 */
__attribute__((constructor)) static void
md_tls_init(void)
{
	md_tls_cpu_off = (char *)&md_host_cpu_tls - md_thread_pointer();
}

static void *
md_host_cpu_start(void *arg)
{
	struct md_host_cpu *c = arg;
	cpu_set_t set;

	md_host_cpu_tls = c->mhc_cpu;
	if (md_cfg.mc_pin) {
		CPU_ZERO(&set);
		CPU_SET(c->mhc_cpu % md_host_online_cpus(), &set);
		(void)pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	}
	md_cpu_main(c->mhc_cpu);
	return (NULL);
}

static int
md_host_init(const struct md_config *cfg)
{
	int i;

	md_hcpus = aligned_alloc(
	    MD_CACHE_LINE, (size_t)cfg->mc_ncpus * sizeof(*md_hcpus));
	if (md_hcpus == NULL)
		return (ENOMEM);
	memset(md_hcpus, 0, (size_t)cfg->mc_ncpus * sizeof(*md_hcpus));
	for (i = 0; i < cfg->mc_ncpus; i++)
		md_hcpus[i].mhc_cpu = i;
	return (0);
}

static int
md_host_start(void (*cpu_main)(int))
{
	int error, i;

	md_cpu_main = cpu_main;
	for (i = 0; i < md_cfg.mc_ncpus; i++) {
		error = pthread_create(&md_hcpus[i].mhc_thread, NULL,
		    md_host_cpu_start, &md_hcpus[i]);
		if (error != 0)
			md_panic("md_start: cannot create CPU %d: %s", i,
			    strerror(error));
	}
	return (0);
}

static void
md_host_halt(void)
{
	int i;

	for (i = 0; i < md_cfg.mc_ncpus; i++)
		md_cpu_wake(i);
}

static void
md_host_join(void)
{
	int i;

	for (i = 0; i < md_cfg.mc_ncpus; i++)
		pthread_join(md_hcpus[i].mhc_thread, NULL);
}

static void
md_host_shutdown(void)
{
	free(md_hcpus);
	md_hcpus = NULL;
}

static void
md_host_external_wait(const int *flag)
{
	pthread_mutex_lock(&md_ext_mtx);
	while (__atomic_load_n(flag, __ATOMIC_ACQUIRE) == 0)
		pthread_cond_wait(&md_ext_cv, &md_ext_mtx);
	pthread_mutex_unlock(&md_ext_mtx);
}

static void
md_host_external_notify(void)
{
	pthread_mutex_lock(&md_ext_mtx);
	pthread_cond_broadcast(&md_ext_cv);
	pthread_mutex_unlock(&md_ext_mtx);
}

static uint64_t
md_host_nanotime(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec);
}

static void
md_host_cost(uint64_t ns)
{
	(void)ns;
}

static long
md_futex(uint32_t *uaddr, int op, uint32_t val, const struct timespec *ts)
{
	return (syscall(SYS_futex, uaddr, op, val, ts, NULL, 0));
}

static void
md_host_cpu_idle(uint64_t deadline)
{
	struct md_host_cpu *c = &md_hcpus[md_curcpu()];
	struct timespec ts, *tsp = NULL;
	uint64_t now;

	atomic_store_int(&c->mhc_sleeping, 1);
	/*
	 * Order the store to mhc_sleeping before the check of the token: a
	 * waker sets the token and then reads mhc_sleeping (fence in
	 * md_host_cpu_wake), so one of us sees the other.
	 */
	atomic_thread_fence_seq_cst();
	if (atomic_swap_int(&c->mhc_wake, 0) == 0 &&
	    !md_ipi_pending(c->mhc_cpu)) {
		if (deadline != 0) {
			now = md_host_nanotime();
			if (deadline <= now)
				goto out;
			ts.tv_sec = (time_t)((deadline - now) / 1000000000ull);
			ts.tv_nsec = (long)((deadline - now) % 1000000000ull);
			tsp = &ts;
		}
		(void)md_futex(&c->mhc_wake, FUTEX_WAIT_PRIVATE, 0, tsp);
		(void)atomic_swap_int(&c->mhc_wake, 0);
	}
out:
	atomic_store_int(&c->mhc_sleeping, 0);
}

static void
md_host_cpu_wake(int cpu)
{
	struct md_host_cpu *c = &md_hcpus[cpu];

	if (atomic_load_int(&c->mhc_wake) != 0 ||
	    atomic_swap_int(&c->mhc_wake, 1) != 0)
		return;
	/* Pairs with the fence in md_host_cpu_idle(): token, then sleeping. */
	atomic_thread_fence_seq_cst();
	if (atomic_load_int(&c->mhc_sleeping) != 0)
		(void)md_futex(&c->mhc_wake, FUTEX_WAKE_PRIVATE, 1, NULL);
}

static void
md_host_spin_wait(const void *addr)
{
	(void)addr;
	md_cpu_relax();
	md_ipi_poll();
}

static void
md_host_spin_delay(uint64_t ns)
{
	uint64_t end = md_host_nanotime() + ns;

	do {
		md_cpu_relax();
		md_ipi_poll();
	} while (md_host_nanotime() < end);
}

static void
md_host_ctx_switched(struct md_ctx *to)
{
	(void)to;
}

static void
md_host_ipi_cost(bool send)
{
	(void)send;
}

const struct md_backend md_host_backend = {
	.mb_name = "host",
	.mb_init = md_host_init,
	.mb_start = md_host_start,
	.mb_halt = md_host_halt,
	.mb_join = md_host_join,
	.mb_shutdown = md_host_shutdown,
	.mb_external_wait = md_host_external_wait,
	.mb_external_notify = md_host_external_notify,
	.mb_nanotime = md_host_nanotime,
	.mb_cost = md_host_cost,
	.mb_cpu_idle = md_host_cpu_idle,
	.mb_cpu_wake = md_host_cpu_wake,
	.mb_spin_wait = md_host_spin_wait,
	.mb_spin_delay = md_host_spin_delay,
	.mb_ctx_switched = md_host_ctx_switched,
	.mb_ctx_self = md_ctx_self_host,
	.mb_ipi_cost = md_host_ipi_cost,
};
