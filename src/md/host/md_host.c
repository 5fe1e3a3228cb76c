/*
 * md_host.c: the host backend's CPUs.
 *
 * Each CPU is a pthread running the kernel's cpu_main(cpu).  Its
 * initial-exec TLS holds the CPU number (read by md_curcpu()).  Idle CPUs
 * sleep on a futex word (mhc_wake) and are woken by md_cpu_wake(), which
 * enqueuers and IPI senders call.  IPIs are requests pushed on a per-CPU
 * lock-free stack (mhc_ipi_head) and run by md_ipi_poll() on the target.
 *
 * Locking key:
 *	(c) constant after md_init()
 *	(a) atomic
 *	(x) touched only by the owning CPU
 *	(e) md_ext_mtx
 */
#include "md/host/md_host.h"

#include "md/md.h"
#include "md/md_atomic.h"

#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

struct md_ipi_req {
	struct md_ipi_req *ir_next;
	void (*ir_fn)(void *);
	void *ir_arg;
	uint32_t *ir_remaining; /* sender's count, or NULL: free this */
};

struct md_host_cpu {
	uintptr_t mhc_ipi_head; /* (a) pending struct md_ipi_req list */
	uint32_t mhc_wake; /* (a) wake token (futex word) */
	uint32_t mhc_sleeping; /* (a) CPU is (about to be) in futex wait */
	int mhc_intr_nest; /* (x) md_intr_disable() depth */
	uint64_t mhc_ipis; /* (x) IPIs handled */
	pthread_t mhc_thread; /* (c) */
	int mhc_cpu; /* (c) */
} __attribute__((aligned(MD_CACHE_LINE)));

static __thread int md_host_cpu_tls __attribute__((tls_model("initial-exec"))) =
    -1;

intptr_t md_tls_cpu_off;
bool md_sim_enabled;
int md_sim_curcpu;

static struct md_config md_cfg; /* (c) */
static struct md_host_cpu *md_cpus; /* (c) */
static void (*md_cpu_main)(int); /* (c) */
static uint32_t md_halt_flag; /* (a) */
static pthread_mutex_t md_ext_mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t md_ext_cv = PTHREAD_COND_INITIALIZER;
static pthread_mutex_t md_print_mtx = PTHREAD_MUTEX_INITIALIZER;

void
md_sync_slow(const void *addr, int kind)
{
	/* Only the sim backend enables sync hooks; see md_inline.h. */
	(void)addr;
	(void)kind;
}

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

int
md_init(const struct md_config *cfg)
{
	int error;

	if (cfg->mc_backend != MD_BACKEND_HOST)
		return (ENOTSUP);
	if (cfg->mc_ncpus < 1 || cfg->mc_ncpus > MD_MAXCPU ||
	    cfg->mc_ndomains < 1 || cfg->mc_ndomains > MD_MAXDOMAIN ||
	    cfg->mc_ndomains > cfg->mc_ncpus)
		return (EINVAL);
	md_cfg = *cfg;
	md_tls_init();
	error = md_phys_init(cfg->mc_physmem);
	if (error != 0)
		return (error);
	md_cpus = calloc((size_t)cfg->mc_ncpus, sizeof(*md_cpus));
	if (md_cpus == NULL) {
		md_phys_fini();
		return (ENOMEM);
	}
	atomic_store_int(&md_halt_flag, 0);
	for (int i = 0; i < cfg->mc_ncpus; i++)
		md_cpus[i].mhc_cpu = i;
	return (0);
}

int
md_start(void (*cpu_main)(int))
{
	int error, i;

	md_cpu_main = cpu_main;
	for (i = 0; i < md_cfg.mc_ncpus; i++) {
		error = pthread_create(&md_cpus[i].mhc_thread, NULL,
		    md_host_cpu_start, &md_cpus[i]);
		if (error != 0)
			md_panic("md_start: cannot create CPU %d: %s", i,
			    strerror(error));
	}
	return (0);
}

void
md_halt(void)
{
	int i;

	atomic_store_rel_int(&md_halt_flag, 1);
	for (i = 0; i < md_cfg.mc_ncpus; i++)
		md_cpu_wake(i);
}

bool
md_halting(void)
{
	return (atomic_load_acq_int(&md_halt_flag) != 0);
}

void
md_join(void)
{
	int i;

	for (i = 0; i < md_cfg.mc_ncpus; i++)
		pthread_join(md_cpus[i].mhc_thread, NULL);
}

void
md_shutdown(void)
{
	free(md_cpus);
	md_cpus = NULL;
	md_ctx_fini();
	md_phys_fini();
}

const struct md_config *
md_config(void)
{
	return (&md_cfg);
}

void
md_external_wait(const int *flag)
{
	pthread_mutex_lock(&md_ext_mtx);
	while (__atomic_load_n(flag, __ATOMIC_ACQUIRE) == 0)
		pthread_cond_wait(&md_ext_cv, &md_ext_mtx);
	pthread_mutex_unlock(&md_ext_mtx);
}

void
md_external_notify(void)
{
	pthread_mutex_lock(&md_ext_mtx);
	pthread_cond_broadcast(&md_ext_cv);
	pthread_mutex_unlock(&md_ext_mtx);
}

int
md_ncpus(void)
{
	return (md_cfg.mc_ncpus);
}

int
md_ndomains(void)
{
	return (md_cfg.mc_ndomains);
}

/* CPUs are split into domains in contiguous, nearly equal ranges. */
int
md_cpu_domain(int cpu)
{
	return ((int)((int64_t)cpu * md_cfg.mc_ndomains / md_cfg.mc_ncpus));
}

int
md_host_online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return (n < 1 ? 1 : (int)n);
}

uint64_t
md_nanotime(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec);
}

void
md_cost(uint64_t ns)
{
	(void)ns;
}

void
md_intr_disable(void)
{
	int cpu = md_curcpu();

	if (cpu >= 0)
		md_cpus[cpu].mhc_intr_nest++;
}

void
md_intr_enable(void)
{
	struct md_host_cpu *c;
	int cpu = md_curcpu();

	if (cpu < 0)
		return;
	c = &md_cpus[cpu];
	if (c->mhc_intr_nest <= 0)
		md_panic("md_intr_enable: not disabled on CPU %d", c->mhc_cpu);
	c->mhc_intr_nest--;
}

int
md_intr_nesting(void)
{
	int cpu = md_curcpu();

	return (cpu < 0 ? 0 : md_cpus[cpu].mhc_intr_nest);
}

static long
md_futex(uint32_t *uaddr, int op, uint32_t val, const struct timespec *ts)
{
	return (syscall(SYS_futex, uaddr, op, val, ts, NULL, 0));
}

void
md_cpu_idle(uint64_t deadline)
{
	struct md_host_cpu *c = &md_cpus[md_curcpu()];
	struct timespec ts, *tsp = NULL;
	uint64_t now;

	atomic_store_int(&c->mhc_sleeping, 1);
	/*
	 * Order the store to mhc_sleeping before the check of the token: a
	 * waker sets the token and then reads mhc_sleeping (fence in
	 * md_cpu_wake), so one of us sees the other.
	 */
	atomic_thread_fence_seq_cst();
	if (atomic_swap_int(&c->mhc_wake, 0) == 0 &&
	    atomic_load_ptr(&c->mhc_ipi_head) == 0) {
		if (deadline != 0) {
			now = md_nanotime();
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

void
md_cpu_wake(int cpu)
{
	struct md_host_cpu *c = &md_cpus[cpu];

	if (atomic_load_int(&c->mhc_wake) != 0 ||
	    atomic_swap_int(&c->mhc_wake, 1) != 0)
		return;
	/* Pairs with the fence in md_cpu_idle(): token before sleeping. */
	atomic_thread_fence_seq_cst();
	if (atomic_load_int(&c->mhc_sleeping) != 0)
		(void)md_futex(&c->mhc_wake, FUTEX_WAKE_PRIVATE, 1, NULL);
}

void
md_spin_wait(const void *addr)
{
	(void)addr;
	md_cpu_relax();
	md_ipi_poll();
}

void
md_ipi_poll(void)
{
	struct md_host_cpu *c;
	struct md_ipi_req *r, *next, *fifo;
	int cpu;

	cpu = md_curcpu();
	if (cpu < 0)
		return;
	c = &md_cpus[cpu];
	if (atomic_load_ptr(&c->mhc_ipi_head) == 0 || c->mhc_intr_nest != 0)
		return;
	/* Acquire: the requests' contents were written before the push. */
	r = (struct md_ipi_req *)atomic_swap_ptr(&c->mhc_ipi_head, 0);
	atomic_thread_fence_acq();
	/* The stack is LIFO; reverse it so requests run in send order. */
	for (fifo = NULL; r != NULL; r = next) {
		next = r->ir_next;
		r->ir_next = fifo;
		fifo = r;
	}
	for (r = fifo; r != NULL; r = next) {
		next = r->ir_next;
		pcpu_add_64(&c->mhc_ipis, 1);
		r->ir_fn(r->ir_arg);
		if (r->ir_remaining != NULL) {
			/*
			 * Release: the handler's effects are visible to the
			 * sender once it sees the count drop.  The request
			 * belongs to the sender after this store.
			 */
			(void)atomic_fetchadd_int(
			    r->ir_remaining, (uint32_t)-1);
		} else
			free(r);
	}
}

static void
md_ipi_push(int cpu, struct md_ipi_req *r)
{
	struct md_host_cpu *c = &md_cpus[cpu];
	uintptr_t head;

	head = atomic_load_ptr(&c->mhc_ipi_head);
	do {
		r->ir_next = (struct md_ipi_req *)head;
		/* Release: publish the request's fields with the push. */
	} while (
	    !atomic_fcmpset_rel_ptr(&c->mhc_ipi_head, &head, (uintptr_t)r));
	md_cpu_wake(cpu);
}

void
md_ipi_send(const bool *set, void (*fn)(void *), void *arg, bool wait)
{
	struct md_ipi_req *reqs = NULL, *r;
	uint32_t remaining = 0;
	int cpu, self, n = 0;

	self = md_curcpu();
	if (wait && self >= 0 && md_cpus[self].mhc_intr_nest != 0)
		md_panic("md_ipi_send: waiting IPI with interrupts disabled");
	for (cpu = 0; cpu < md_cfg.mc_ncpus; cpu++)
		if (set[cpu] && cpu != self)
			n++;
	if (wait && n > 0) {
		reqs = calloc((size_t)n, sizeof(*reqs));
		if (reqs == NULL)
			md_panic("md_ipi_send: out of memory");
		remaining = (uint32_t)n;
	}
	n = 0;
	for (cpu = 0; cpu < md_cfg.mc_ncpus; cpu++) {
		if (!set[cpu] || cpu == self)
			continue;
		if (wait)
			r = &reqs[n++];
		else if ((r = calloc(1, sizeof(*r))) == NULL)
			md_panic("md_ipi_send: out of memory");
		r->ir_fn = fn;
		r->ir_arg = arg;
		r->ir_remaining = wait ? &remaining : NULL;
		md_ipi_push(cpu, r);
	}
	if (self >= 0 && set[self])
		fn(arg);
	if (wait) {
		/* Acquire: see the handlers' effects (pairs with fetchadd). */
		while (atomic_load_acq_int(&remaining) != 0)
			md_spin_wait(&remaining);
		free(reqs);
	}
}

void
md_ipi_send_one(int cpu, void (*fn)(void *), void *arg, bool wait)
{
	bool set[MD_MAXCPU];

	memset(set, 0, sizeof(bool) * (size_t)md_cfg.mc_ncpus);
	set[cpu] = true;
	md_ipi_send(set, fn, arg, wait);
}

uint64_t
md_ipi_count(void)
{
	uint64_t n = 0;
	int i;

	for (i = 0; i < md_cfg.mc_ncpus; i++)
		n += __atomic_load_n(&md_cpus[i].mhc_ipis, __ATOMIC_RELAXED);
	return (n);
}

void
md_panic(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	va_start(ap, fmt);
	fprintf(stderr, "vmlab: panic: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	abort();
}

void
md_printf(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&md_print_mtx);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&md_print_mtx);
}
