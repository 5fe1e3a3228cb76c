/*
 * vm_pgcache.c: per-domain per-CPU page caches (see vm_pgcache.h).
 *
 * Memory layout: vm_pgcache_array holds one cache line per (CPU, domain,
 * pool), CPU-major, so each CPU's caches are adjacent and no two CPUs
 * share a line; vm_pgcache_block_array likewise one per (CPU, domain) for
 * the block caches.  Their stacks are slices of one array of pointers,
 * each a whole number of cache lines.
 *
 * Invariants (checked by vm_page_check()):
 *	pc_count <= pc_high, and pc_high <= the domain's effective high;
 *	every cached page belongs to the cache's domain and pool, has
 *	PG_FREE | PG_PCPU_CACHE set and no object; every cached block is
 *	a free-able block of order VM_PGCACHE_BLOCK_ORDER of the cache's
 *	domain whose first page has the same flags and no object;
 *	cached pages and blocks are not in the free count (see vm_page.h).
 */
#include "vm/vm_pgcache.h"

#include "kern/counter.h"
#include "kern/kassert.h"
#include "kern/sysctl.h"
#include "kern/thread.h"
#include "vm/vm_domain.h"
#include "vm/vm_page.h"
#include "vm/vm_phys.h"
#include "vm/vm_reserv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define VM_PGCACHE_BATCH_MAX 256
/* Stack slots of a cache of capacity h: whole cache lines, unshared. */
#define VM_PGCACHE_SLICE(h)                                                    \
	roundup2((uint64_t)(h), MD_CACHE_LINE / sizeof(struct vm_page *))

struct vm_pgcache *vm_pgcache_array;
int vm_pgcache_ndomains;
struct vm_pgcache *vm_pgcache_cpu[MD_MAXCPU];
struct vm_pgcache *vm_pgcache_local[MD_MAXCPU];
struct vm_pgcache *vm_pgcache_block_cpu[MD_MAXCPU];

static struct vm_pgcache *vm_pgcache_block_array;   /* (c) [cpu][domain] */
static struct vm_page **vm_pgcache_slots;	    /* (c) all stacks */
static bool *vm_pgcache_allcpus;		    /* (c) IPI set: every CPU */
static uint32_t vm_pgcache_dom_high[MD_MAXDOMAIN];  /* (c) */
static uint32_t vm_pgcache_dom_batch[MD_MAXDOMAIN]; /* (c) */
static uint32_t vm_pgcache_dom_bhigh[MD_MAXDOMAIN]; /* (c) block caches */
static uint32_t vm_pgcache_dom_bbatch[MD_MAXDOMAIN]; /* (c) block caches */
static uint32_t vm_pgcache_on;			     /* (a) */
static int64_t vm_pgcache_enable_tun, vm_pgcache_batch_tun, vm_pgcache_high_tun;
static int64_t vm_pgcache_bhigh_tun, vm_pgcache_bbatch_tun;
static counter_u64_t vm_pgcache_shortage_drains;

/* Argument of the IPI handlers. */
struct vm_pgcache_ipi {
	int pi_enable;	     /* -1: leave pc_high, 0: disable, 1: enable */
	bool pi_drain;	     /* drain the CPU's caches */
	uint64_t pi_drained; /* (a) pages drained */
	uint32_t pi_wake;    /* (a) domains whose sleepers need a wakeup */
	void (*pi_fn)(struct vm_page *, int, int, void *); /* foreach */
	void *pi_arg;
};

static sysctl_set_fn vm_pgcache_enable_set;

int
vm_pgcache_tunables(void)
{
	int error;

	if ((error = tunable_int_register("vm.pgcache.enable",
		 &vm_pgcache_enable_tun, 1, 0, 1,
		 "per-CPU page caches in front of the buddy allocator")) != 0 ||
	    (error = tunable_set_handler(
		 "vm.pgcache.enable", vm_pgcache_enable_set, NULL)) != 0)
		return (error);
	if ((error = tunable_int_register("vm.pgcache.batch",
		 &vm_pgcache_batch_tun, 32, 1, VM_PGCACHE_BATCH_MAX,
		 "pages moved per refill or drain of a per-CPU cache")) != 0)
		return (error);
	if ((error = tunable_int_register("vm.pgcache.high",
		 &vm_pgcache_high_tun, 256, 0, 8192,
		 "capacity of a per-CPU cache in pages (capped so that all "
		 "caches hold at most 1/16 of a domain)")) != 0)
		return (error);
	if ((error = tunable_int_register("vm.pgcache.batch_2m",
		 &vm_pgcache_bbatch_tun, 4, 1, VM_PGCACHE_BATCH_MAX,
		 "2 MiB blocks moved per refill or drain of a per-CPU block "
		 "cache")) != 0)
		return (error);
	return (tunable_int_register("vm.pgcache.high_2m",
	    &vm_pgcache_bhigh_tun, 8, 0, 1024,
	    "capacity of a per-CPU cache of 2 MiB blocks, in blocks (capped "
	    "so that all block caches hold at most 1/32 of a domain; 0: "
	    "none)"));
}

int
vm_pgcache_refill_locked(struct vm_pgcache *pc, int domain, int pool)
{
	struct vm_domain *vmd = VM_DOMAIN(domain);
	int got, i, n = (int)pc->pc_batch;

	vm_domain_free_assert_locked(vmd);
	if (pc->pc_high == 0 || pcpu_load_64(&pc->pc_count) != 0 ||
	    vm_domain_free_count(vmd) < vmd->vmd_free_min + (uint64_t)n)
		return (0);
	got = vm_phys_alloc_npages(domain, pool, n, pc->pc_pages);
	while (got < n && vm_reserv_reclaim_inactive(domain))
		got += vm_phys_alloc_npages(
		    domain, pool, n - got, &pc->pc_pages[got]);
	for (i = 0; i < got; i++)
		pc->pc_pages[i]->flags = PG_PCPU_CACHE | PG_FREE;
	/* Cached pages leave the free count; we stay above free_min. */
	vm_domain_freecnt_dec_locked(vmd, (uint64_t)got);
	pcpu_store_64(&pc->pc_count, (uint64_t)got);
	pcpu_add_64(&pc->pc_in, (uint64_t)got);
	pcpu_add_64(&pc->pc_refills, 1);
	return (got);
}

int
vm_pgcache_block_refill_locked(struct vm_pgcache *pc, int domain)
{
	struct vm_domain *vmd = VM_DOMAIN(domain);
	struct vm_page *m;
	uint64_t got, n = pc->pc_batch;

	vm_domain_free_assert_locked(vmd);
	if (pc->pc_high == 0 || pcpu_load_64(&pc->pc_count) != 0 ||
	    vm_domain_free_count(vmd) <
		vmd->vmd_free_min + (n << VM_PGCACHE_BLOCK_ORDER))
		return (0);
	/* No reservation breaking: it cannot free a whole 2 MiB frame. */
	for (got = 0; got < n; got++) {
		m = vm_phys_alloc_pages(
		    domain, VM_FREEPOOL_DEFAULT, VM_PGCACHE_BLOCK_ORDER);
		if (m == NULL)
			break;
		m->flags = PG_PCPU_CACHE | PG_FREE;
		pc->pc_pages[got] = m;
	}
	/* Cached blocks leave the free count; we stay above free_min. */
	vm_domain_freecnt_dec_locked(vmd, got << VM_PGCACHE_BLOCK_ORDER);
	pcpu_store_64(&pc->pc_count, got);
	pcpu_add_64(&pc->pc_in, got);
	pcpu_add_64(&pc->pc_refills, 1);
	return ((int)got);
}

/* Frees n cached blocks of 2^order pages of one domain to the buddy. */
static bool
vm_pgcache_release(int domain, struct vm_page **ma, uint64_t n, int order)
{
	struct vm_domain *vmd = VM_DOMAIN(domain);
	uint64_t i;
	bool wake;

	vm_domain_free_lock(vmd);
	for (i = 0; i < n; i++)
		vm_phys_free_pages(ma[i], order);
	wake = vm_domain_freecnt_inc_locked(vmd, n << order);
	vm_domain_free_unlock(vmd);
	return (wake);
}

/* A batch of the oldest entries (blocks of 2^order pages) goes back. */
static void
vm_pgcache_drain_batch_order(struct vm_pgcache *pc, int domain, int order)
{
	struct vm_page *batch[VM_PGCACHE_BATCH_MAX];
	uint64_t count = pcpu_load_64(&pc->pc_count), n = pc->pc_batch;

	VM_ASSERT(count >= n && n > 0,
	    ("%s: cache holds %llu pages, batch %llu", __func__,
		(unsigned long long)count, (unsigned long long)n));
	/*
	 * The oldest pages go: the most recently freed are the likeliest to
	 * be in the CPU cache for the next allocation.  The cache is left
	 * consistent before the free lock is taken.
	 */
	memcpy(batch, pc->pc_pages, n * sizeof(batch[0]));
	memmove(pc->pc_pages, &pc->pc_pages[n], (count - n) * sizeof(batch[0]));
	pcpu_store_64(&pc->pc_count, count - n);
	pcpu_add_64(&pc->pc_out, n);
	pcpu_add_64(&pc->pc_drains, 1);
	if (vm_pgcache_release(domain, batch, n, order))
		vm_domain_wakeup(VM_DOMAIN(domain));
}

void
vm_pgcache_drain_batch(struct vm_pgcache *pc, int domain)
{
	vm_pgcache_drain_batch_order(pc, domain, 0);
}

void
vm_pgcache_block_drain_batch(struct vm_pgcache *pc, int domain)
{
	vm_pgcache_drain_batch_order(pc, domain, VM_PGCACHE_BLOCK_ORDER);
}

/*
 * Empties one cache of the current CPU whose entries are blocks of
 * 2^order pages; returns the pages drained and sets the domain's bit in
 * *wakep if its sleepers need a wakeup.
 */
static uint64_t
vm_pgcache_drain_one(
    struct vm_pgcache *pc, int domain, int order, uint32_t *wakep)
{
	uint64_t n = pcpu_load_64(&pc->pc_count);

	if (n == 0)
		return (0);
	pcpu_store_64(&pc->pc_count, 0);
	pcpu_add_64(&pc->pc_out, n);
	pcpu_add_64(&pc->pc_drains, 1);
	if (vm_pgcache_release(domain, pc->pc_pages, n, order))
		*wakep |= 1u << domain;
	return (n << order);
}

/*
 * Drains all caches of the current CPU; returns pages drained and sets the
 * bits of domains whose sleepers need a wakeup.  Runs on `cpu' itself
 * (an IPI handler or the sender), so it may not sleep: wakeups are left to
 * the caller.
 */
static uint64_t
vm_pgcache_drain_cpu(int cpu, uint32_t *wakep)
{
	uint64_t total = 0;
	int d, p;

	for (d = 0; d < vm_pgcache_ndomains; d++) {
		for (p = 0; p < VM_NFREEPOOL; p++)
			total += vm_pgcache_drain_one(
			    vm_pgcache_get(cpu, d, p), d, 0, wakep);
		total += vm_pgcache_drain_one(vm_pgcache_block_get(cpu, d), d,
		    VM_PGCACHE_BLOCK_ORDER, wakep);
	}
	return (total);
}

static void
vm_pgcache_ipi_handler(void *arg)
{
	struct vm_pgcache_ipi *pi = arg;
	uint32_t wake = 0;
	int cpu = curcpu, d, p;

	if (pi->pi_enable >= 0)
		for (d = 0; d < vm_pgcache_ndomains; d++) {
			for (p = 0; p < VM_NFREEPOOL; p++)
				vm_pgcache_get(cpu, d, p)->pc_high =
				    pi->pi_enable != 0 ? vm_pgcache_dom_high[d]
						       : 0;
			vm_pgcache_block_get(cpu, d)->pc_high =
			    pi->pi_enable != 0 ? vm_pgcache_dom_bhigh[d] : 0;
		}
	if (pi->pi_drain) {
		atomic_add_64(
		    &pi->pi_drained, vm_pgcache_drain_cpu(cpu, &wake));
		if (wake != 0)
			atomic_set_int(&pi->pi_wake, wake);
	}
}

/* Runs the handler on every CPU and does the wakeups it asked for. */
static uint64_t
vm_pgcache_broadcast(struct vm_pgcache_ipi *pi)
{
	uint32_t wake;
	int d;

	VM_ASSERT(md_intr_nesting() == 0,
	    ("%s: called with a spin lock held", __func__));
	md_ipi_send(vm_pgcache_allcpus, vm_pgcache_ipi_handler, pi, true);
	/* The waited IPI ordered the handlers' stores before this point. */
	wake = atomic_load_int(&pi->pi_wake);
	for (d = 0; d < vm_pgcache_ndomains; d++)
		if ((wake & (1u << d)) != 0)
			vm_domain_wakeup(VM_DOMAIN(d));
	return (atomic_load_64(&pi->pi_drained));
}

uint64_t
vm_pgcache_drain_all(void)
{
	struct vm_pgcache_ipi pi = { .pi_enable = -1, .pi_drain = true };
	int d;

	for (d = 0; d < vm_pgcache_ndomains; d++)
		if (vm_pgcache_count(d) != 0)
			break;
	if (d == vm_pgcache_ndomains)
		return (0);
	counter_u64_add(vm_pgcache_shortage_drains, 1);
	return (vm_pgcache_broadcast(&pi));
}

/*
 * Set handler of vm.pgcache.enable: every CPU sets its caches' high
 * water (0 when off) and, when off, drains them, through a waited IPI.
 */
static int
vm_pgcache_enable_set(int64_t value, void *arg)
{
	struct vm_pgcache_ipi pi = { .pi_enable = value != 0 ? 1 : 0,
		.pi_drain = value == 0 };

	(void)arg;
	atomic_store_int(&vm_pgcache_on, value != 0 ? 1 : 0);
	(void)vm_pgcache_broadcast(&pi);
	return (0);
}

bool
vm_pgcache_enabled(void)
{
	return (atomic_load_int(&vm_pgcache_on) != 0);
}

uint64_t
vm_pgcache_count(int domain)
{
	uint64_t n = 0;
	int cpu, p;

	for (cpu = 0; cpu < md_ncpus(); cpu++)
		for (p = 0; p < VM_NFREEPOOL; p++)
			n += pcpu_load_64(
			    &vm_pgcache_get(cpu, domain, p)->pc_count);
	return (n + (vm_pgcache_block_count(domain) << VM_PGCACHE_BLOCK_ORDER));
}

uint64_t
vm_pgcache_block_count(int domain)
{
	uint64_t n = 0;
	int cpu;

	/* A domain without block caches costs no line per CPU. */
	if (vm_pgcache_dom_bhigh[domain] == 0)
		return (0);
	for (cpu = 0; cpu < md_ncpus(); cpu++)
		n += pcpu_load_64(&vm_pgcache_block_get(cpu, domain)->pc_count);
	return (n);
}

/* Pages a cache handed out, less those freed into it (see the header). */
static int64_t
vm_pgcache_net(struct vm_pgcache *pc)
{
	return ((int64_t)(pcpu_load_64(&pc->pc_in) - pcpu_load_64(&pc->pc_out) -
	    pcpu_load_64(&pc->pc_count)));
}

int64_t
vm_pgcache_net_allocs(int domain)
{
	int64_t n = 0;
	int cpu, p;

	for (cpu = 0; cpu < md_ncpus(); cpu++) {
		for (p = 0; p < VM_NFREEPOOL; p++)
			n += vm_pgcache_net(vm_pgcache_get(cpu, domain, p));
		/* Blocks to pages: a multiplication, for negative counts. */
		n += vm_pgcache_net(vm_pgcache_block_get(cpu, domain)) *
		    ((int64_t)1 << VM_PGCACHE_BLOCK_ORDER);
	}
	return (n);
}

static void
vm_pgcache_foreach_handler(void *arg)
{
	struct vm_pgcache_ipi *pi = arg;
	struct vm_pgcache *pc;
	uint64_t i, n;
	int cpu = curcpu, d, order, p;

	for (d = 0; d < vm_pgcache_ndomains; d++)
		for (p = 0; p <= VM_NFREEPOOL; p++) {
			/* Past the pools: the domain's block cache. */
			pc = p < VM_NFREEPOOL ? vm_pgcache_get(cpu, d, p)
					      : vm_pgcache_block_get(cpu, d);
			order = p < VM_NFREEPOOL ? 0 : VM_PGCACHE_BLOCK_ORDER;
			n = pcpu_load_64(&pc->pc_count);
			for (i = 0; i < n; i++)
				pi->pi_fn(
				    pc->pc_pages[i], order, cpu, pi->pi_arg);
		}
}

void
vm_pgcache_foreach(
    void (*fn)(struct vm_page *m, int order, int cpu, void *arg), void *arg)
{
	struct vm_pgcache_ipi pi = { .pi_fn = fn, .pi_arg = arg };
	int cpu;

	for (cpu = 0; cpu < md_ncpus(); cpu++)
		md_ipi_send_one(cpu, vm_pgcache_foreach_handler, &pi, true);
}

uint32_t
vm_pgcache_high(int domain)
{
	return (vm_pgcache_dom_high[domain]);
}

uint32_t
vm_pgcache_batch(int domain)
{
	return (vm_pgcache_dom_batch[domain]);
}

uint32_t
vm_pgcache_block_high(int domain)
{
	return (vm_pgcache_dom_bhigh[domain]);
}

uint32_t
vm_pgcache_block_batch(int domain)
{
	return (vm_pgcache_dom_bbatch[domain]);
}

/* The caches of one kind: single pages (block false) or blocks. */
static struct vm_pgcache *
vm_pgcache_all(bool block, size_t *np)
{
	*np = (size_t)md_ncpus() * (size_t)vm_pgcache_ndomains *
	    (block ? 1 : VM_NFREEPOOL);
	return (block ? vm_pgcache_block_array : vm_pgcache_array);
}

/* The sum of one per-cache field (offset off) over caches of a kind. */
static uint64_t
vm_pgcache_sum(bool block, size_t off)
{
	struct vm_pgcache *a;
	size_t i, n;
	uint64_t sum = 0;

	a = vm_pgcache_all(block, &n);
	for (i = 0; i < n; i++)
		sum += pcpu_load_64((uint64_t *)((char *)&a[i] + off));
	return (sum);
}

/* Statistics: vm_pgcache_sum() of the field at offset arg. */
static uint64_t
vm_pgcache_stat(void *arg)
{
	return (vm_pgcache_sum(false, (size_t)(uintptr_t)arg));
}

static uint64_t
vm_pgcache_stat_block(void *arg)
{
	return (vm_pgcache_sum(true, (size_t)(uintptr_t)arg));
}

/* Entries allocated from caches of a kind: frees plus net allocations. */
static uint64_t
vm_pgcache_allocs(bool block)
{
	struct vm_pgcache *a;
	size_t i, n;
	int64_t sum = 0;

	a = vm_pgcache_all(block, &n);
	for (i = 0; i < n; i++)
		sum += vm_pgcache_net(&a[i]) +
		    (int64_t)pcpu_load_64(&a[i].pc_frees);
	return ((uint64_t)sum);
}

static uint64_t
vm_pgcache_stat_allocs(void *arg)
{
	return (vm_pgcache_allocs(arg != NULL));
}

/* Effective sizes of domain 0: arg 0 batch, 1 high, 2 block batch, 3 high. */
static uint64_t
vm_pgcache_stat_size(void *arg)
{
	switch ((uintptr_t)arg) {
	case 0:
		return (vm_pgcache_dom_batch[0]);
	case 1:
		return (vm_pgcache_dom_high[0]);
	case 2:
		return (vm_pgcache_dom_bbatch[0]);
	default:
		return (vm_pgcache_dom_bhigh[0]);
	}
}

/* The statistics of the block caches (counted in blocks). */
static void
vm_pgcache_init_block_stats(void)
{
	(void)sysctl_stat_register("vm.stats.pgcache.cached_2m",
	    vm_pgcache_stat_block,
	    (void *)offsetof(struct vm_pgcache, pc_count),
	    "2 MiB blocks in per-CPU block caches (not counted as free)");
	(void)sysctl_stat_register("vm.stats.pgcache.alloc_hits_2m",
	    vm_pgcache_stat_allocs, (void *)1,
	    "2 MiB blocks allocated from a per-CPU block cache");
	(void)sysctl_stat_register("vm.stats.pgcache.free_hits_2m",
	    vm_pgcache_stat_block,
	    (void *)offsetof(struct vm_pgcache, pc_frees),
	    "2 MiB blocks freed into a per-CPU block cache");
	(void)sysctl_stat_register("vm.stats.pgcache.refills_2m",
	    vm_pgcache_stat_block,
	    (void *)offsetof(struct vm_pgcache, pc_refills),
	    "batches moved from the buddy allocator to a block cache");
	(void)sysctl_stat_register("vm.stats.pgcache.drains_2m",
	    vm_pgcache_stat_block,
	    (void *)offsetof(struct vm_pgcache, pc_drains),
	    "batches moved from a block cache to the buddy allocator");
	(void)sysctl_stat_register("vm.stats.pgcache.high_2m",
	    vm_pgcache_stat_size, (void *)3,
	    "effective capacity of a block cache of domain 0, in blocks");
	(void)sysctl_stat_register("vm.stats.pgcache.batch_2m",
	    vm_pgcache_stat_size, (void *)2,
	    "effective batch of a block cache of domain 0, in blocks");
}

static int
vm_pgcache_init_stats(void)
{
	vm_pgcache_shortage_drains =
	    counter_u64_alloc("vm.stats.pgcache.shortage_drains",
		"drains of every CPU's caches by an allocation short of pages");
	if (vm_pgcache_shortage_drains == NULL)
		return (ENOMEM);
	(void)sysctl_stat_register("vm.stats.pgcache.cached", vm_pgcache_stat,
	    (void *)offsetof(struct vm_pgcache, pc_count),
	    "pages in per-CPU caches (not counted as free)");
	(void)sysctl_stat_register("vm.stats.pgcache.alloc_hits",
	    vm_pgcache_stat_allocs, NULL,
	    "pages allocated from a per-CPU cache");
	(void)sysctl_stat_register("vm.stats.pgcache.free_hits",
	    vm_pgcache_stat, (void *)offsetof(struct vm_pgcache, pc_frees),
	    "pages freed into a per-CPU cache");
	(void)sysctl_stat_register("vm.stats.pgcache.refills", vm_pgcache_stat,
	    (void *)offsetof(struct vm_pgcache, pc_refills),
	    "batches moved from the buddy allocator to a cache");
	(void)sysctl_stat_register("vm.stats.pgcache.drains", vm_pgcache_stat,
	    (void *)offsetof(struct vm_pgcache, pc_drains),
	    "batches moved from a cache to the buddy allocator");
	(void)sysctl_stat_register("vm.stats.pgcache.pages_in", vm_pgcache_stat,
	    (void *)offsetof(struct vm_pgcache, pc_in),
	    "pages moved from the buddy allocator to caches");
	(void)sysctl_stat_register("vm.stats.pgcache.pages_out",
	    vm_pgcache_stat, (void *)offsetof(struct vm_pgcache, pc_out),
	    "pages moved from caches to the buddy allocator");
	(void)sysctl_stat_register("vm.stats.pgcache.high",
	    vm_pgcache_stat_size, (void *)1,
	    "effective capacity of a cache of domain 0");
	(void)sysctl_stat_register("vm.stats.pgcache.batch",
	    vm_pgcache_stat_size, NULL, "effective batch of domain 0");
	vm_pgcache_init_block_stats();
	return (0);
}

/* Effective high and batch of each domain (see vm_pgcache.h). */
static uint64_t
vm_pgcache_size_domains(void)
{
	uint64_t cap, high, batch, slots = 0;
	int d, ncpus = md_ncpus();

	for (d = 0; d < vm_pgcache_ndomains; d++) {
		high = (uint64_t)vm_pgcache_high_tun;
		cap = vm_phys_domain_pages(d) /
		    (16 * (uint64_t)ncpus * VM_NFREEPOOL);
		if (high > cap)
			high = cap;
		batch = (uint64_t)vm_pgcache_batch_tun;
		if (batch > high / 2)
			batch = high / 2;
		if (batch == 0)
			high = 0;
		vm_pgcache_dom_high[d] = (uint32_t)high;
		vm_pgcache_dom_batch[d] = (uint32_t)batch;
		slots +=
		    VM_PGCACHE_SLICE(high) * (uint64_t)ncpus * VM_NFREEPOOL;
		/* Block caches: the same rules in blocks, 1/32 of a domain. */
		high = (uint64_t)vm_pgcache_bhigh_tun;
		cap = (vm_phys_domain_pages(d) >> VM_PGCACHE_BLOCK_ORDER) /
		    (32 * (uint64_t)ncpus);
		if (high > cap)
			high = cap;
		batch = (uint64_t)vm_pgcache_bbatch_tun;
		if (batch > high / 2)
			batch = high / 2;
		if (batch == 0)
			high = 0;
		vm_pgcache_dom_bhigh[d] = (uint32_t)high;
		vm_pgcache_dom_bbatch[d] = (uint32_t)batch;
		slots += VM_PGCACHE_SLICE(high) * (uint64_t)ncpus;
	}
	return (slots);
}

/* Runs at boot after vm_phys_init(), before the CPUs start. */
int
vm_pgcache_init(void)
{
	struct vm_pgcache *pc;
	struct vm_page **next;
	size_t n, nb;
	int cpu, d, p, ncpus = md_ncpus();

	vm_pgcache_ndomains = vm_ndomains;
	n = (size_t)ncpus * (size_t)vm_ndomains * VM_NFREEPOOL;
	vm_pgcache_array = md_aligned_alloc(MD_CACHE_LINE, n * sizeof(*pc));
	nb = (size_t)ncpus * (size_t)vm_ndomains;
	vm_pgcache_block_array =
	    md_aligned_alloc(MD_CACHE_LINE, nb * sizeof(*pc));
	n = (size_t)vm_pgcache_size_domains() + MD_CACHE_LINE / sizeof(*next);
	vm_pgcache_slots = md_aligned_alloc(MD_CACHE_LINE, n * sizeof(*next));
	vm_pgcache_allcpus = md_calloc((size_t)ncpus, sizeof(bool));
	if (vm_pgcache_array == NULL || vm_pgcache_block_array == NULL ||
	    vm_pgcache_slots == NULL || vm_pgcache_allcpus == NULL) {
		vm_pgcache_fini();
		return (ENOMEM);
	}
	memset(vm_pgcache_slots, 0, n * sizeof(*next));
	n = (size_t)ncpus * (size_t)vm_ndomains * VM_NFREEPOOL;
	memset(vm_pgcache_array, 0, n * sizeof(*pc));
	memset(vm_pgcache_block_array, 0, nb * sizeof(*pc));
	atomic_store_int(&vm_pgcache_on, vm_pgcache_enable_tun != 0);
	next = vm_pgcache_slots;
	for (cpu = 0; cpu < ncpus; cpu++) {
		vm_pgcache_allcpus[cpu] = true;
		vm_pgcache_cpu[cpu] = &vm_pgcache_array[(size_t)cpu *
		    (size_t)vm_ndomains * VM_NFREEPOOL];
		vm_pgcache_local[cpu] =
		    vm_pgcache_get(cpu, md_cpu_domain(cpu), VM_FREEPOOL_DIRECT);
		vm_pgcache_block_cpu[cpu] =
		    &vm_pgcache_block_array[(size_t)cpu * (size_t)vm_ndomains];
		for (d = 0; d < vm_ndomains; d++) {
			for (p = 0; p < VM_NFREEPOOL; p++) {
				pc = vm_pgcache_get(cpu, d, p);
				pc->pc_pages = next;
				next +=
				    VM_PGCACHE_SLICE(vm_pgcache_dom_high[d]);
				pc->pc_batch = vm_pgcache_dom_batch[d];
				pc->pc_high = vm_pgcache_enabled()
				    ? vm_pgcache_dom_high[d]
				    : 0;
			}
			pc = vm_pgcache_block_get(cpu, d);
			pc->pc_pages = next;
			next += VM_PGCACHE_SLICE(vm_pgcache_dom_bhigh[d]);
			pc->pc_batch = vm_pgcache_dom_bbatch[d];
			pc->pc_high =
			    vm_pgcache_enabled() ? vm_pgcache_dom_bhigh[d] : 0;
		}
	}
	if (vm_pgcache_init_stats() != 0) {
		vm_pgcache_fini();
		return (ENOMEM);
	}
	return (0);
}

void
vm_pgcache_fini(void)
{
	if (vm_pgcache_shortage_drains != NULL)
		counter_u64_free(vm_pgcache_shortage_drains);
	vm_pgcache_shortage_drains = NULL;
	md_free(vm_pgcache_array);
	md_free(vm_pgcache_block_array);
	md_free(vm_pgcache_slots);
	md_free(vm_pgcache_allcpus);
	vm_pgcache_array = NULL;
	vm_pgcache_block_array = NULL;
	vm_pgcache_slots = NULL;
	vm_pgcache_allcpus = NULL;
}
