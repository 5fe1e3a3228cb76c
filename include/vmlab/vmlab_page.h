/*
 * vmlab_page.h: physical pages for an embedder (included by vmlab.h; the
 * conventions on errors and calling contexts are stated there once).
 *
 * The booted machine's physical memory (vmlab_config.physmem bytes) is cut
 * into vmlab_ndomains() memory domains of pages of vmlab_page_size() bytes
 * (4 KiB).  A page is named by an opaque handle, struct vmlab_page *, valid
 * while the machine is booted; its bytes are reached through the direct
 * map, which maps all physical memory at once: vmlab_page_addr(page) is
 * the direct-map base plus vmlab_page_paddr(page), so a contiguous run of
 * pages is also contiguous in the direct map.  Physical addresses convert
 * back with vmlab_paddr_to_page().
 *
 *	struct vmlab_page *p;
 *
 *	if (vmlab_page_alloc(VMLAB_DOMAIN_ANY, VMLAB_ALLOC_ZERO, &p) == 0) {
 *		memset(vmlab_page_addr(p), 0xa5, vmlab_page_size());
 *		(void)vmlab_page_free(p);
 *	}
 *
 * Allocation is the VM's page allocator: a page comes from the current
 * CPU's page cache when it has one (no lock taken), else from the buddy
 * allocator of the domain; VMLAB_DOMAIN_ANY prefers the current CPU's
 * domain and falls back to the others in order.  Allocations stop short
 * of each domain's free-page reserve (vm.stats.page.free_reserved), which
 * the kernel keeps for itself.  Pages allocated here belong to the caller
 * until freed: the page daemon never takes them back.  Pages still
 * allocated at vmlab_shutdown() go with the machine's memory.
 *
 * Flags (an OR of):
 *	VMLAB_ALLOC_NOWAIT	(0, the default) fail with ENOMEM at once when
 *				no page is free;
 *	VMLAB_ALLOC_WAIT	wait for the page daemon to free pages and
 *				retry; fail with ENOMEM only when the daemon
 *				has declared out-of-memory (no page could be
 *				freed for vm.pageout.oom_seq passes).  A
 *				contiguous run waits only while its domains
 *				are below their free_min threshold: a run
 *				that is missing although enough pages are
 *				free fails at once (waiting would not make
 *				it appear);
 *	VMLAB_ALLOC_ZERO	return zero-filled pages.
 */
#ifndef VMLAB_VMLAB_PAGE_H
#define VMLAB_VMLAB_PAGE_H

#include "vmlab/vmlab_export.h"

#include <stddef.h>
#include <stdint.h>

/* A page of the booted machine; never dereferenced by the embedder. */
struct vmlab_page;

#define VMLAB_DOMAIN_ANY (-1)
#define VMLAB_PADDR_NONE UINT64_MAX

#define VMLAB_ALLOC_NOWAIT 0x0
#define VMLAB_ALLOC_WAIT 0x1
#define VMLAB_ALLOC_ZERO 0x2

/*
 * One page of `domain' (0 .. vmlab_ndomains() - 1, or VMLAB_DOMAIN_ANY)
 * into *pagep.  EINVAL: bad domain or flags, pagep NULL; ENOMEM: no page
 * (see the flags).  Kernel thread, no lock held; sleeps only with
 * VMLAB_ALLOC_WAIT.
 */
VMLAB_EXPORT int vmlab_page_alloc(
    int domain, int flags, struct vmlab_page **pagep);

/*
 * Frees a page from vmlab_page_alloc() or one page of a run from
 * vmlab_page_alloc_contig().  EINVAL: not a page of the machine, or not
 * one that is allocated outside the VM's own objects (a page freed twice,
 * a page of an object).  Kernel thread, no lock held; never sleeps.
 */
VMLAB_EXPORT int vmlab_page_free(struct vmlab_page *page);

/*
 * `npages' physically contiguous pages of `domain' (or of any domain,
 * the current CPU's first) into *pagep, the handle of the first page:
 *	- the run lies in [low, high): low is rounded up and high down to
 *	  pages, and high may exceed memory (UINT64_MAX: no limit);
 *	- its first page is aligned to `alignment', a power of two (0 or
 *	  less than a page: page alignment);
 *	- it does not cross a multiple of `boundary', 0 (none) or a power of
 *	  two of at least npages pages.
 * Page i of the run is vmlab_paddr_to_page(vmlab_page_paddr(first) +
 * i * vmlab_page_size()).  EINVAL: bad domain or flags, npages 0, low >=
 * high, bad alignment or boundary, pagep NULL; ENOMEM: no such run (see
 * the flags), or more pages than the machine has.  Kernel thread, no
 * lock held; sleeps only with VMLAB_ALLOC_WAIT.
 */
VMLAB_EXPORT int vmlab_page_alloc_contig(int domain, int flags, uint64_t npages,
    uint64_t low, uint64_t high, uint64_t alignment, uint64_t boundary,
    struct vmlab_page **pagep);

/*
 * Frees `npages' contiguous allocated pages starting at `page' (a run
 * from vmlab_page_alloc_contig(), or part of one).  EINVAL as
 * vmlab_page_free() for any of them, npages 0, or a range that leaves the
 * memory segment of `page'; nothing is freed then.  Kernel thread, no
 * lock held; never sleeps.
 */
VMLAB_EXPORT int vmlab_page_free_contig(
    struct vmlab_page *page, uint64_t npages);

/*
 * The page's bytes through the direct map (vmlab_page_size() of them),
 * or NULL if `page' names no page of the booted machine.  The caller
 * reads and writes only pages it has allocated.  Any thread.
 */
VMLAB_EXPORT void *vmlab_page_addr(const struct vmlab_page *page);

/*
 * The page's physical address (a multiple of the page size, from 0), or
 * VMLAB_PADDR_NONE if `page' names no page of the booted machine.  Any
 * thread.
 */
VMLAB_EXPORT uint64_t vmlab_page_paddr(const struct vmlab_page *page);

/*
 * The page holding physical address `paddr' (any byte of it), or NULL
 * if no memory is there (beyond memory, in a hole between segments) or
 * no machine is booted.  Any thread.
 */
VMLAB_EXPORT struct vmlab_page *vmlab_paddr_to_page(uint64_t paddr);

/* The page's memory domain, or -1 if `page' names no page.  Any thread. */
VMLAB_EXPORT int vmlab_page_domain(const struct vmlab_page *page);

/*
 * The booted machine's memory domains and CPUs; 0 when no machine is
 * booted.  Any thread.
 */
VMLAB_EXPORT int vmlab_ndomains(void);
VMLAB_EXPORT int vmlab_ncpus(void);

/* Bytes in a page: 4096, booted or not.  Any thread. */
VMLAB_EXPORT size_t vmlab_page_size(void);

#endif /* !VMLAB_VMLAB_PAGE_H */
