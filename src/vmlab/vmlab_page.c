/*
 * vmlab_page.c: the front door's page API (include/vmlab/vmlab_page.h).
 *
 * A struct vmlab_page * is a struct vm_page * of the page array: the
 * handle costs nothing to convert, and the array is never freed while
 * the machine runs, so a stale handle still names a page.  Every entry
 * point checks its input before the VM sees it, because the VM's own
 * contracts are assertions (panics in invariant builds, corruption
 * otherwise):
 *	1. the context: a booted machine (ENXIO), and for allocation and
 *	   freeing a kernel thread with interrupts enabled, that is holding
 *	   no spin lock (EPERM);
 *	2. the handle: a pointer to an element of the page array, at a
 *	   page with memory (not in a hole between segments);
 *	3. for frees, the page's state: allocated (PG_FREE clear), outside
 *	   any object, queue or wiring, so that the VM's free asserts hold;
 *	4. for runs, the arguments vm_phys_alloc_contig() asserts on.
 * Allocations ask the VM without waiting; VMLAB_ALLOC_WAIT is a loop here
 * that waits for the page daemon as vm_fault_touch() does, so that a
 * waiting allocation ends with ENOMEM when the daemon declares
 * out-of-memory instead of sleeping forever in vm_wait.
 */
#include "kern/kassert.h"
#include "kern/thread.h"
#include "md/md.h"
#include "vm/vm_domain.h"
#include "vm/vm_page.h"
#include "vm/vm_pageout.h"
#include "vm/vm_param.h"
#include "vm/vm_pgcache.h"
#include "vm/vm_phys.h"
#include "vmlab/vmlab.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#define VMLAB_ALLOC_FLAGS (VMLAB_ALLOC_WAIT | VMLAB_ALLOC_ZERO)

/* The arguments of a contiguous allocation, checked (step 4). */
struct vmlab_contig {
	uint64_t vc_npages;
	vm_paddr_t vc_low, vc_high;
	uint64_t vc_alignment; /* a power of two, at least PAGE_SIZE */
	vm_paddr_t vc_boundary;
};

/* Step 1 for allocations and frees: 0, ENXIO or EPERM. */
static int
vmlab_page_context(void)
{
	if (!vmlab_booted())
		return (ENXIO);
	if (md_curcpu() < 0 || md_intr_nesting() != 0)
		return (EPERM);
	return (0);
}

/* Step 2: the page `page' names, or NULL. */
static struct vm_page *
vmlab_page_lookup(const struct vmlab_page *page)
{
	uintptr_t base, p = (uintptr_t)page;
	uint64_t i;

	if (page == NULL || !vmlab_booted() || vm_page_array == NULL)
		return (NULL);
	base = (uintptr_t)vm_page_array;
	if (p < base || (p - base) % sizeof(struct vm_page) != 0)
		return (NULL);
	i = (p - base) / sizeof(struct vm_page);
	if (i >= vm_page_array_size ||
	    vm_page_array[i].segind == VM_PHYSSEG_NONE)
		return (NULL);
	return (&vm_page_array[i]);
}

/*
 * Step 3: whether m may be freed by the embedder.  The fields read are
 * the owner's (w), and the caller claims to own m; the queue state, busy
 * lock and wiring are atomic.
 */
static bool
vmlab_page_is_freeable(const struct vm_page *m)
{
	return ((m->flags & PG_FREE) == 0 && vm_page_object(m) == NULL &&
	    atomic_load_int(&m->wire_count) == 0 &&
	    atomic_load_int(&m->a.bits) == (uint32_t)PQ_NONE << 16);
}

static bool
vmlab_page_domain_is_valid(int domain)
{
	if (domain == VMLAB_DOMAIN_ANY)
		return (true);
	return (domain >= 0 && domain < vm_ndomains);
}

/* The VM's request word for `flags': never VM_ALLOC_WAITOK (see top). */
static int
vmlab_page_req(int flags)
{
	return (VM_ALLOC_NORMAL | VM_ALLOC_NOWAIT |
	    ((flags & VMLAB_ALLOC_ZERO) != 0 ? VM_ALLOC_ZERO : 0));
}

/*
 * A failed allocation with VMLAB_ALLOC_WAIT: waits for the page daemon
 * and returns 0 (try again), or ENOMEM when waiting cannot help.  A run
 * (`contig') waits only while one of its domains is below free_min.
 * Without a daemon (vm.pageout.enable=0) vm_pageout_wait_free() runs a
 * pass itself and returns: yield, so that threads which free pages run.
 */
static int
vmlab_page_wait(int domain, bool contig)
{
	bool below = false;
	int d;

	for (d = 0; d < vm_ndomains; d++)
		if (domain == VMLAB_DOMAIN_ANY || d == domain)
			below |= vm_page_count_min_domain(d);
	if ((contig && !below) || vm_pageout_oom_declared())
		return (ENOMEM);
	vm_pageout_wait_free();
	maybe_yield();
	return (0);
}

/* One attempt of an allocation: a page, a run, or NULL. */
typedef struct vm_page *vmlab_alloc_fn(int domain, int req, const void *arg);

/*
 * Attempts until one succeeds, without VMLAB_ALLOC_WAIT once, with it
 * while vmlab_page_wait() says waiting can help.
 */
static int
vmlab_page_alloc_loop(int domain, int flags, bool contig, vmlab_alloc_fn *fn,
    const void *arg, struct vmlab_page **pagep)
{
	int error, req = vmlab_page_req(flags);
	struct vm_page *m;

	while ((m = fn(domain, req, arg)) == NULL) {
		if ((flags & VMLAB_ALLOC_WAIT) == 0)
			return (ENOMEM);
		if ((error = vmlab_page_wait(domain, contig)) != 0)
			return (error);
	}
	*pagep = (struct vmlab_page *)(void *)m;
	return (0);
}

/* What every allocation checks first: context, handle, flags, domain. */
static int
vmlab_page_alloc_check(int domain, int flags, struct vmlab_page **pagep)
{
	int error;

	if ((error = vmlab_page_context()) != 0)
		return (error);
	if (pagep == NULL || (flags & ~VMLAB_ALLOC_FLAGS) != 0 ||
	    !vmlab_page_domain_is_valid(domain))
		return (EINVAL);
	return (0);
}

static struct vm_page *
vmlab_page_alloc_one(int domain, int req, const void *arg)
{
	(void)arg;
	return (domain == VMLAB_DOMAIN_ANY
		? vm_page_alloc_noobj(req)
		: vm_page_alloc_noobj_domain(domain, req));
}

int
vmlab_page_alloc(int domain, int flags, struct vmlab_page **pagep)
{
	int error;

	if ((error = vmlab_page_alloc_check(domain, flags, pagep)) != 0)
		return (error);
	return (vmlab_page_alloc_loop(
	    domain, flags, false, vmlab_page_alloc_one, NULL, pagep));
}

int
vmlab_page_free(struct vmlab_page *page)
{
	struct vm_page *m;
	int error;

	if ((error = vmlab_page_context()) != 0)
		return (error);
	if ((m = vmlab_page_lookup(page)) == NULL || !vmlab_page_is_freeable(m))
		return (EINVAL);
	vm_page_free(m);
	return (0);
}

/* Step 4: checks and normalises a run's arguments into *vc. */
static int
vmlab_contig_args(uint64_t npages, uint64_t low, uint64_t high,
    uint64_t alignment, uint64_t boundary, struct vmlab_contig *vc)
{
	if (npages == 0 || low >= high || (alignment & (alignment - 1)) != 0 ||
	    (boundary & (boundary - 1)) != 0)
		return (EINVAL);
	/* More pages than memory: ENOMEM, before ptoa() can overflow. */
	if (npages > vm_page_count_total())
		return (ENOMEM);
	if (boundary != 0 && boundary < ptoa(npages))
		return (EINVAL);
	vc->vc_npages = npages;
	vc->vc_low = low;
	vc->vc_high = high;
	vc->vc_alignment = alignment < PAGE_SIZE ? PAGE_SIZE : alignment;
	vc->vc_boundary = boundary;
	return (0);
}

/*
 * One attempt in one domain.  vm_page_alloc_contig_domain() does not
 * drain the per-CPU caches; when the free count is what stopped the run
 * and caches hold pages of the domain, drain them and try once more (as
 * vm_page_alloc_contig() does for all domains).
 */
static struct vm_page *
vmlab_contig_domain(int domain, int req, const struct vmlab_contig *vc)
{
	struct vm_domain *vmd = VM_DOMAIN(domain);
	struct vm_page *m;

	m = vm_page_alloc_contig_domain(domain, req, vc->vc_npages, vc->vc_low,
	    vc->vc_high, vc->vc_alignment, vc->vc_boundary);
	if (m == NULL &&
	    vm_domain_free_count(vmd) <
		vm_domain_floor(vmd, req) + vc->vc_npages &&
	    vm_pgcache_count(domain) != 0 && vm_pgcache_drain_all() > 0)
		m = vm_page_alloc_contig_domain(domain, req, vc->vc_npages,
		    vc->vc_low, vc->vc_high, vc->vc_alignment, vc->vc_boundary);
	return (m);
}

static struct vm_page *
vmlab_contig_alloc_one(int domain, int req, const void *arg)
{
	const struct vmlab_contig *vc = arg;

	return (domain == VMLAB_DOMAIN_ANY
		? vm_page_alloc_contig(req, vc->vc_npages, vc->vc_low,
		      vc->vc_high, vc->vc_alignment, vc->vc_boundary)
		: vmlab_contig_domain(domain, req, vc));
}

int
vmlab_page_alloc_contig(int domain, int flags, uint64_t npages, uint64_t low,
    uint64_t high, uint64_t alignment, uint64_t boundary,
    struct vmlab_page **pagep)
{
	struct vmlab_contig vc;
	int error;

	if ((error = vmlab_page_alloc_check(domain, flags, pagep)) != 0)
		return (error);
	if ((error = vmlab_contig_args(
		 npages, low, high, alignment, boundary, &vc)) != 0)
		return (error);
	return (vmlab_page_alloc_loop(
	    domain, flags, true, vmlab_contig_alloc_one, &vc, pagep));
}

int
vmlab_page_free_contig(struct vmlab_page *page, uint64_t npages)
{
	struct vm_page *m;
	uint64_t i;
	int error;

	if ((error = vmlab_page_context()) != 0)
		return (error);
	if ((m = vmlab_page_lookup(page)) == NULL || npages == 0 ||
	    npages > vm_page_array_size - (uint64_t)(m - vm_page_array))
		return (EINVAL);
	/* One segment: vm_phys_free_contig() frees within one. */
	for (i = 0; i < npages; i++)
		if (m[i].segind != m->segind || !vmlab_page_is_freeable(&m[i]))
			return (EINVAL);
	vm_page_free_contig(m, npages);
	return (0);
}

void *
vmlab_page_addr(const struct vmlab_page *page)
{
	struct vm_page *m = vmlab_page_lookup(page);

	return (m == NULL ? NULL : vm_page_dmap(m));
}

uint64_t
vmlab_page_paddr(const struct vmlab_page *page)
{
	struct vm_page *m = vmlab_page_lookup(page);

	return (m == NULL ? VMLAB_PADDR_NONE : VM_PAGE_TO_PHYS(m));
}

struct vmlab_page *
vmlab_paddr_to_page(uint64_t paddr)
{
	if (!vmlab_booted())
		return (NULL);
	return ((struct vmlab_page *)(void *)PHYS_TO_VM_PAGE(paddr));
}

int
vmlab_page_domain(const struct vmlab_page *page)
{
	struct vm_page *m = vmlab_page_lookup(page);

	return (m == NULL ? -1 : m->domain);
}

int
vmlab_ndomains(void)
{
	return (vmlab_booted() ? vm_ndomains : 0);
}

int
vmlab_ncpus(void)
{
	return (vmlab_booted() ? md_ncpus() : 0);
}

size_t
vmlab_page_size(void)
{
	return ((size_t)PAGE_SIZE);
}
