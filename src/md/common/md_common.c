/*
 * md_common.c: the backend-independent half of the machine contract.
 *
 * Configuration, IPI mailboxes, interrupt nesting and the console live
 * here; everything that depends on how CPUs are made (pthreads or virtual
 * CPUs) is forwarded to the active backend (md_backend.h).
 *
 * IPIs are requests pushed on a per-CPU lock-free stack (mc_ipi_head) and
 * run by md_ipi_poll() on the target, which the kernel calls from every
 * spin loop, every switch and the idle loop.
 *
 * Locking key:
 *	(c) constant after md_init()
 *	(a) atomic
 *	(x) touched only by the owning CPU
 */
#include "md/md.h"
#include "md/md_atomic.h"
#include "md/md_backend.h"
#include "md/sim/md_sim.h"

#include <errno.h>
#include <execinfo.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

struct md_ipi_req {
	struct md_ipi_req *ir_next;
	void (*ir_fn)(void *);
	void *ir_arg;
	uint32_t *ir_remaining; /* sender's count, or NULL: free this */
	uint64_t ir_due;	/* sim: taken from this virtual time on */
};

struct md_cpu {
	uintptr_t mc_ipi_head; /* (a) pending struct md_ipi_req list */
	int mc_intr_nest;      /* (x) md_intr_disable() depth */
	uint64_t mc_ipis;      /* (x) IPIs handled */
} __attribute__((aligned(MD_CACHE_LINE)));
/* md_ipi_check() reads mc_ipi_head at cpu * MD_CACHE_LINE. */
_Static_assert(sizeof(struct md_cpu) == MD_CACHE_LINE &&
	offsetof(struct md_cpu, mc_ipi_head) == 0,
    "struct md_cpu is one line opening with its mailbox");

struct md_config md_cfg;				/* (c) */
const struct md_backend *md_backend = &md_host_backend; /* (c) */
bool md_sim_enabled;					/* (c) */
uint64_t md_fence_word; /* (a) fences of TSan builds */
int md_sim_curcpu = -1;
static struct md_cpu *md_cpus; /* (c) */
char *md_ipi_mailboxes;	       /* (c) md_cpus, for md_ipi_check() */
static uint32_t md_halt_flag;  /* (a) */

const struct md_stall_hooks *md_stall_hooks; /* (c) md_stall_hooks_set() */

int
md_common_init(int ncpus)
{
	/* Cache-line aligned: calloc() guarantees only 16 bytes. */
	md_cpus =
	    aligned_alloc(MD_CACHE_LINE, (size_t)ncpus * sizeof(*md_cpus));
	if (md_cpus == NULL)
		return (ENOMEM);
	memset(md_cpus, 0, (size_t)ncpus * sizeof(*md_cpus));
	md_ipi_mailboxes = (char *)md_cpus;
	atomic_store_int(&md_halt_flag, 0);
	return (0);
}

void
md_common_fini(void)
{
	free(md_cpus);
	md_cpus = NULL;
	md_ipi_mailboxes = NULL;
}

int
md_init(const struct md_config *cfg)
{
	const struct md_backend *b;
	int error;

	b = cfg->mc_backend == MD_BACKEND_SIM ? &md_sim_backend
					      : &md_host_backend;
	if (cfg->mc_ncpus < 1 || cfg->mc_ncpus > MD_MAXCPU ||
	    cfg->mc_ndomains < 1 || cfg->mc_ndomains > MD_MAXDOMAIN ||
	    cfg->mc_ndomains > cfg->mc_ncpus)
		return (EINVAL);
	md_cfg = *cfg;
	md_backend = b;
	if ((error = md_common_init(cfg->mc_ncpus)) != 0)
		goto fail;
	error = md_phys_init(cfg->mc_physmem);
	if (error == 0)
		error = b->mb_init(cfg);
	if (error != 0) {
		md_phys_fini();
		md_common_fini();
		goto fail;
	}
	return (0);
fail:
	md_backend = &md_host_backend;
	return (error);
}

int
md_start(void (*cpu_main)(int))
{
	return (md_backend->mb_start(cpu_main));
}

void
md_halt(void)
{
	atomic_store_rel_int(&md_halt_flag, 1);
	md_backend->mb_halt();
}

bool
md_halting(void)
{
	return (atomic_load_acq_int(&md_halt_flag) != 0);
}

void
md_join(void)
{
	md_backend->mb_join();
}

void
md_shutdown(void)
{
	md_stall_hooks = NULL;
	md_backend->mb_shutdown();
	md_common_fini();
	md_ctx_fini();
	md_phys_fini();
	md_backend = &md_host_backend;
}

const struct md_config *
md_config(void)
{
	return (&md_cfg);
}

void
md_external_wait(const int *flag)
{
	md_backend->mb_external_wait(flag);
}

void
md_external_notify(void)
{
	md_backend->mb_external_notify();
}

void
md_stall_hooks_set(const struct md_stall_hooks *hooks)
{
	md_stall_hooks = hooks;
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

uint64_t
md_nanotime(void)
{
	return (md_backend->mb_nanotime());
}

void
md_sync_slow(const void *addr, int kind)
{
	md_backend->mb_sync(addr, kind);
}

void
md_cost(uint64_t ns)
{
	md_backend->mb_cost(ns);
}

/* The simulator's parameter `param' (0 on other backends). */
static int64_t
md_sim_param(int param)
{
	return (md_cfg.mc_backend == MD_BACKEND_SIM && md_cfg.mc_sim != NULL
		? md_cfg.mc_sim[param]
		: 0);
}

void
md_disk_charge(uint64_t bytes)
{
	int64_t lat = md_sim_param(MD_SIM_COST_DISK_LATENCY);
	int64_t mbps = md_sim_param(MD_SIM_COST_DISK_MBPS);

	if (lat > 0)
		md_backend->mb_cost((uint64_t)lat);
	/* MB/s is bytes per microsecond: bytes * 1000 / mbps is in ns. */
	if (mbps > 0)
		md_backend->mb_cost(bytes * 1000 / (uint64_t)mbps);
}

/* Charges `len' bytes of page work at the per-4-KiB-page cost `param'. */
static void
md_page_charge(int param, size_t len)
{
	int64_t per = md_sim_param(param);

	if (per > 0)
		md_backend->mb_cost(
		    ((uint64_t)len * (uint64_t)per + 4095) / 4096);
}

void
md_page_zero(void *dst, size_t len)
{
	memset(dst, 0, len);
	md_page_charge(MD_SIM_COST_PAGE_ZERO, len);
}

void
md_page_copy(void *dst, const void *src, size_t len)
{
	memcpy(dst, src, len);
	md_page_charge(MD_SIM_COST_PAGE_COPY, len);
}

void
md_cpu_idle(uint64_t deadline)
{
	md_backend->mb_cpu_idle(deadline);
}

void
md_cpu_wake(int cpu)
{
	md_backend->mb_cpu_wake(cpu);
}

void
md_spin_wait(const void *addr)
{
	md_backend->mb_spin_wait(addr);
}

void
md_spin_delay(uint64_t ns)
{
	md_backend->mb_spin_delay(ns);
}

void
md_ctx_switch(struct md_ctx *from, struct md_ctx *to, bool from_dying)
{
	if (md_sim_enabled)
		md_backend->mb_ctx_switched(to);
	md_ctx_swap_raw(from, to, from_dying);
}

void
md_ctx_self(struct md_ctx *ctx)
{
	md_backend->mb_ctx_self(ctx);
}

void
md_intr_disable(void)
{
	int cpu = md_curcpu();

	if (cpu >= 0)
		md_cpus[cpu].mc_intr_nest++;
}

void
md_intr_enable(void)
{
	struct md_cpu *c;
	int cpu = md_curcpu();

	if (cpu < 0)
		return;
	c = &md_cpus[cpu];
	if (c->mc_intr_nest <= 0)
		md_panic("md_intr_enable: not disabled on CPU %d", cpu);
	c->mc_intr_nest--;
}

int
md_intr_nesting(void)
{
	int cpu = md_curcpu();

	return (cpu < 0 ? 0 : md_cpus[cpu].mc_intr_nest);
}

/* A plain peek, not a sync point: backends call it while parking. */
bool
md_ipi_pending(int cpu)
{
	return (
	    __atomic_load_n(&md_cpus[cpu].mc_ipi_head, __ATOMIC_ACQUIRE) != 0);
}

/*
 * Sim: puts back the requests of `fifo' still in flight (one host thread
 * runs the simulated machine, so plain list surgery is safe) and returns
 * those due now, in order.
 */
static struct md_ipi_req *
md_ipi_hold_early(struct md_cpu *c, struct md_ipi_req *fifo)
{
	struct md_ipi_req *r, *next, *due = NULL, **tail = &due, *early = NULL;
	uint64_t now = md_nanotime();

	for (r = fifo; r != NULL; r = next) {
		next = r->ir_next;
		if (r->ir_due <= now) {
			r->ir_next = NULL;
			*tail = r;
			tail = &r->ir_next;
		} else {
			/* Pushed back LIFO: the next poll reverses them. */
			r->ir_next = early;
			early = r;
		}
	}
	if (early != NULL) {
		for (r = early; r->ir_next != NULL; r = r->ir_next)
			;
		r->ir_next = (struct md_ipi_req *)c->mc_ipi_head;
		c->mc_ipi_head = (uintptr_t)early;
	}
	return (due);
}

bool
md_ipi_ready(int cpu, uint64_t now)
{
	struct md_ipi_req *r;

	for (r = (struct md_ipi_req *)md_cpus[cpu].mc_ipi_head; r != NULL;
	     r = r->ir_next)
		if (r->ir_due <= now)
			return (true);
	return (false);
}

uint64_t
md_ipi_next_due(int cpu)
{
	struct md_ipi_req *r;
	uint64_t due = 0;

	for (r = (struct md_ipi_req *)md_cpus[cpu].mc_ipi_head; r != NULL;
	     r = r->ir_next)
		if (due == 0 || r->ir_due < due)
			due = r->ir_due;
	return (due);
}

void
md_ipi_poll(void)
{
	struct md_cpu *c;
	struct md_ipi_req *r, *next, *fifo;
	int cpu;

	cpu = md_curcpu();
	if (cpu < 0)
		return;
	c = &md_cpus[cpu];
	if (atomic_load_ptr(&c->mc_ipi_head) == 0 || c->mc_intr_nest != 0)
		return;
	r = (struct md_ipi_req *)atomic_swap_ptr(&c->mc_ipi_head, 0);
	/* Acquire: the requests' contents were written before the push. */
	atomic_thread_fence_acq();
	/* The stack is LIFO; reverse it so requests run in send order. */
	for (fifo = NULL; r != NULL; r = next) {
		next = r->ir_next;
		r->ir_next = fifo;
		fifo = r;
	}
	if (md_sim_enabled)
		fifo = md_ipi_hold_early(c, fifo);
	for (r = fifo; r != NULL; r = next) {
		next = r->ir_next;
		pcpu_add_64(&c->mc_ipis, 1);
		if (md_sim_enabled)
			md_backend->mb_ipi_cost(false);
		r->ir_fn(r->ir_arg);
		if (r->ir_remaining != NULL) {
			/*
			 * Release (seq_cst RMW): the handler's effects are
			 * visible to the sender once it sees the count drop.
			 * The request belongs to the sender after this.
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
	struct md_cpu *c = &md_cpus[cpu];
	uintptr_t head;

	if (md_sim_enabled) {
		md_backend->mb_ipi_cost(true);
		r->ir_due = md_backend->mb_ipi_due != NULL
		    ? md_backend->mb_ipi_due()
		    : 0;
	}
	head = atomic_load_ptr(&c->mc_ipi_head);
	do {
		r->ir_next = (struct md_ipi_req *)head;
		/* Release: publish the request's fields with the push. */
	} while (!atomic_fcmpset_rel_ptr(&c->mc_ipi_head, &head, (uintptr_t)r));
	md_cpu_wake(cpu);
}

void
md_ipi_send(const bool *set, void (*fn)(void *), void *arg, bool wait)
{
	struct md_ipi_req *reqs = NULL, *r;
	uint32_t remaining = 0;
	int cpu, self, n = 0;

	self = md_curcpu();
	if (wait && self >= 0 && md_cpus[self].mc_intr_nest != 0)
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
	bool *set;

	set = calloc((size_t)md_cfg.mc_ncpus, sizeof(*set));
	if (set == NULL)
		md_panic("md_ipi_send_one: out of memory");
	set[cpu] = true;
	md_ipi_send(set, fn, arg, wait);
	free(set);
}

uint64_t
md_ipi_count(void)
{
	uint64_t n = 0;
	int i;

	for (i = 0; i < md_cfg.mc_ncpus; i++)
		n += pcpu_load_64(&md_cpus[i].mc_ipis);
	return (n);
}

/* Prints the call stack (symbols with -rdynamic; else addresses). */
static void
md_backtrace(void)
{
	void *frames[32];
	int n = backtrace(frames, 32);

	backtrace_symbols_fd(frames, n, 2);
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
	if (md_sim_enabled)
		fprintf(stderr, "vmlab: simulated machine, seed %llu\n",
		    (unsigned long long)md_cfg.mc_seed);
	md_backtrace();
	abort();
}

/*
 * Host queries, the same for every backend (the machine is sized by them,
 * and scenarios compare the VM with the host kernel through them).
 */
#define MD_HOST_TOUCH_PAGE 4096 /* md_host_anon_touch_ns()'s unit */

int
md_host_online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return (n < 1 ? 1 : (int)n);
}

uint64_t
md_host_physmem(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);

	if (pages < 1 || size < 1)
		return (0);
	return ((uint64_t)pages * (uint64_t)size);
}

uint64_t
md_host_anon_touch_ns(uint64_t npages)
{
	struct timespec t0, t1;
	uint64_t i, v;
	size_t len;
	uint8_t *p;

	if (npages == 0 || npages > SIZE_MAX / MD_HOST_TOUCH_PAGE)
		return (0);
	len = (size_t)npages * MD_HOST_TOUCH_PAGE;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
	    -1, 0);
	if (p == MAP_FAILED)
		return (0);
	/* Advice only: a host without THP refuses it and faults 4 KiB anyway. */
	(void)madvise(p, len, MADV_NOHUGEPAGE);
	for (i = 0; i < npages; i++) {
		v = i + 1;
		memcpy(p + i * MD_HOST_TOUCH_PAGE, &v, sizeof(v));
	}
	/* munmap() may read the pages: the stores above are not dead. */
	(void)munmap(p, len);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return ((uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000ull +
	    (uint64_t)t1.tv_nsec - (uint64_t)t0.tv_nsec);
}

void
md_printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

/*
 * The kernel's malloc.  md_mem_fail_at is the value of md_mem_count at
 * which an allocation fails (0: none); counts are process-wide atomics,
 * not sync points (the simulator need not see them: no kernel code
 * synchronises through them).
 */
static uint64_t md_mem_count, md_mem_fail_at, md_mem_failed;

/* Counts one allocation; true if it is the one to fail. */
static bool
md_mem_inject(void)
{
	uint64_t n = __atomic_add_fetch(&md_mem_count, 1, __ATOMIC_RELAXED);
	uint64_t at = __atomic_load_n(&md_mem_fail_at, __ATOMIC_RELAXED);

	if (at == 0 || n != at)
		return (false);
	__atomic_add_fetch(&md_mem_failed, 1, __ATOMIC_RELAXED);
	/* Where it failed, for whoever debugs an unreported failure. */
	if (getenv("VMLAB_MALLOC_FAIL_TRACE") != NULL) {
		fprintf(stderr, "md_malloc: allocation %llu fails here:\n",
		    (unsigned long long)n);
		md_backtrace();
	}
	return (true);
}

void *
md_malloc(size_t size)
{
	return (md_mem_inject() ? NULL : malloc(size));
}

void *
md_calloc(size_t nmemb, size_t size)
{
	return (md_mem_inject() ? NULL : calloc(nmemb, size));
}

void *
md_realloc(void *p, size_t size)
{
	return (md_mem_inject() ? NULL : realloc(p, size));
}

void *
md_aligned_alloc(size_t align, size_t size)
{
	/* aligned_alloc() wants a multiple of the alignment. */
	size = (size + align - 1) / align * align;
	return (md_mem_inject() ? NULL : aligned_alloc(align, size));
}

void
md_free(void *p)
{
	free(p);
}

void
md_malloc_fail_nth(uint64_t n)
{
	uint64_t now = __atomic_load_n(&md_mem_count, __ATOMIC_RELAXED);

	__atomic_store_n(
	    &md_mem_fail_at, n == 0 ? 0 : now + n, __ATOMIC_RELAXED);
}

uint64_t
md_malloc_count(void)
{
	return (__atomic_load_n(&md_mem_count, __ATOMIC_RELAXED));
}

uint64_t
md_malloc_failed(void)
{
	return (__atomic_load_n(&md_mem_failed, __ATOMIC_RELAXED));
}
