/*
 * embed.c: a program that embeds libvmlab, built against the installed
 * library only:
 *
 *	cc -o embed embed.c $(pkg-config --cflags --libs vmlab)
 *	./embed [--sim]
 *
 * It boots a machine of 2 CPUs, 2 memory domains and 64 MiB, and in a
 * kernel thread, for each domain: allocates single pages (zeroed) and a
 * contiguous run, writes and reads them back through the direct map,
 * checks their physical addresses and domains, prints statistics, and
 * frees everything.  It also shows that bad input is refused.  Every
 * return value is checked; the last line is "embed: ok" and the exit
 * status 0, or a line saying what failed and status 1.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vmlab/vmlab.h>

#define EMBED_NPAGES 16	  /* single pages per domain */
#define EMBED_RUN 32	  /* pages in each contiguous run */
#define EMBED_ALIGN 65536 /* alignment of the runs */

static int embed_failed;

#define EMBED_CHECK(e)                                                         \
	do {                                                                   \
		if (!(e)) {                                                    \
			printf("embed: %s:%d: %s\n", __FILE__, __LINE__, #e);  \
			embed_failed = 1;                                      \
			return;                                                \
		}                                                              \
	} while (0)

/* Fills `len' bytes with a pattern derived from `seed'. */
static void
embed_fill(unsigned char *p, size_t len, uint64_t seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (unsigned char)((seed + i) * 2654435761u >> 13);
}

static int
embed_holds(const unsigned char *p, size_t len, uint64_t seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != (unsigned char)((seed + i) * 2654435761u >> 13))
			return (0);
	return (1);
}

static void
embed_pages(int domain)
{
	struct vmlab_page *pages[EMBED_NPAGES];
	size_t psz = vmlab_page_size();
	unsigned char *p;
	uint64_t pa;
	size_t i, k;

	for (i = 0; i < EMBED_NPAGES; i++) {
		EMBED_CHECK(
		    vmlab_page_alloc(domain, VMLAB_ALLOC_ZERO, &pages[i]) == 0);
		p = vmlab_page_addr(pages[i]);
		EMBED_CHECK(p != NULL);
		for (k = 0; k < psz; k++)
			EMBED_CHECK(p[k] == 0);
		pa = vmlab_page_paddr(pages[i]);
		EMBED_CHECK(pa != VMLAB_PADDR_NONE && pa % psz == 0);
		/* Any byte of the page leads back to it. */
		EMBED_CHECK(vmlab_paddr_to_page(pa + psz - 1) == pages[i]);
		EMBED_CHECK(vmlab_page_domain(pages[i]) == domain);
		embed_fill(p, psz, pa);
	}
	for (i = 0; i < EMBED_NPAGES; i++) {
		pa = vmlab_page_paddr(pages[i]);
		EMBED_CHECK(embed_holds(vmlab_page_addr(pages[i]), psz, pa));
		EMBED_CHECK(vmlab_page_free(pages[i]) == 0);
	}
	printf("domain %d: %d pages allocated, written, read back, freed\n",
	    domain, EMBED_NPAGES);
}

static void
embed_run(int domain)
{
	struct vmlab_page *run, *m;
	size_t psz = vmlab_page_size(), i;
	unsigned char *p;
	uint64_t pa;

	EMBED_CHECK(vmlab_page_alloc_contig(domain, VMLAB_ALLOC_ZERO, EMBED_RUN,
			0, UINT64_MAX, EMBED_ALIGN, 0, &run) == 0);
	pa = vmlab_page_paddr(run);
	p = vmlab_page_addr(run);
	EMBED_CHECK(pa % EMBED_ALIGN == 0 && p != NULL);
	/* The run is contiguous in the direct map: write it as one. */
	embed_fill(p, EMBED_RUN * psz, pa);
	for (i = 0; i < EMBED_RUN; i++) {
		m = vmlab_paddr_to_page(pa + i * psz);
		EMBED_CHECK(m != NULL && vmlab_page_domain(m) == domain);
		EMBED_CHECK((unsigned char *)vmlab_page_addr(m) == p + i * psz);
	}
	EMBED_CHECK(embed_holds(p, EMBED_RUN * psz, pa));
	EMBED_CHECK(vmlab_page_free_contig(run, EMBED_RUN) == 0);
	printf("domain %d: run of %d pages at %#" PRIx64
	       " (%d KiB aligned), written, read back, freed\n",
	    domain, EMBED_RUN, pa, EMBED_ALIGN / 1024);
}

/* Bad input is an error, not a crash. */
static void
embed_refusals(void)
{
	struct vmlab_page *p;
	uint64_t v;

	EMBED_CHECK(vmlab_page_alloc(vmlab_ndomains(), 0, &p) == EINVAL);
	EMBED_CHECK(vmlab_page_alloc(VMLAB_DOMAIN_ANY, 0, NULL) == EINVAL);
	EMBED_CHECK(vmlab_page_alloc_contig(VMLAB_DOMAIN_ANY, 0, 0, 0,
			UINT64_MAX, 0, 0, &p) == EINVAL);
	EMBED_CHECK(vmlab_page_free(NULL) == EINVAL);
	EMBED_CHECK(vmlab_stat("no.such.statistic", &v) == ENOENT);
	EMBED_CHECK(
	    vmlab_tunable_set("vm.pgcache.enable", "0", NULL, 0) == EBUSY);
	printf("bad input refused with EINVAL, ENOENT, EBUSY\n");
}

static int
embed_print_stat(const char *name, uint64_t value, const char *descr, void *arg)
{
	(void)descr;
	if (strncmp(name, (const char *)arg, strlen(arg)) == 0)
		printf("  %-28s %" PRIu64 "\n", name, value);
	return (0);
}

static void
embed_work(void *arg)
{
	uint64_t contig, count;
	int64_t high, reserv;
	int d;

	(void)arg;
	printf("machine: %d CPUs, %d domains, %zu-byte pages\n", vmlab_ncpus(),
	    vmlab_ndomains(), vmlab_page_size());
	for (d = 0; d < vmlab_ndomains() && !embed_failed; d++) {
		embed_pages(d);
		if (!embed_failed)
			embed_run(d);
	}
	if (embed_failed)
		return;
	embed_refusals();
	if (embed_failed)
		return;
	EMBED_CHECK(vmlab_stat("vm.stats.page.count", &count) == 0);
	EMBED_CHECK(vmlab_stat("vm.stats.page.contig", &contig) == 0);
	EMBED_CHECK(contig == (uint64_t)vmlab_ndomains());
	EMBED_CHECK(vmlab_tunable_get("vm.pgcache.high", &high) == 0);
	/* Set before the boot with vmlab_tunable_set(). */
	EMBED_CHECK(
	    vmlab_tunable_get("vm.reserv.enable", &reserv) == 0 && reserv == 0);
	printf("statistics: %" PRIu64 " pages, %" PRIu64
	       " contiguous runs, per-CPU cache high water %" PRId64 "\n",
	    count, contig, high);
	EMBED_CHECK(
	    vmlab_stat_foreach(embed_print_stat, "vm.stats.page.") == 0);
}

int
main(int argc, char **argv)
{
	const char *tunables[] = { "vm.pgcache.high=64" };
	struct vmlab_config cfg;
	char err[256], high[32];
	int error;

	vmlab_config_default(&cfg);
	cfg.ncpus = 2;
	cfg.ndomains = 2;
	cfg.physmem = 64 << 20;
	cfg.tunables = tunables;
	cfg.ntunables = 1;
	if (argc > 1 && strcmp(argv[1], "--sim") == 0)
		cfg.backend = VMLAB_BACKEND_SIM;
	/* Set before boot: a tunable of the next machine. */
	if ((error = vmlab_tunable_set(
		 "vm.reserv.enable", "0", err, sizeof(err))) != 0) {
		printf("embed: vmlab_tunable_set: %s (%s)\n", err,
		    strerror(error));
		return (1);
	}
	if ((error = vmlab_boot(&cfg, err, sizeof(err))) != 0) {
		printf("embed: vmlab_boot: %s (%s)\n", err, strerror(error));
		return (1);
	}
	printf("vmlab %s booted\n", vmlab_version());
	if ((error = vmlab_run(embed_work, NULL)) != 0) {
		printf("embed: vmlab_run: %s\n", strerror(error));
		return (1);
	}
	if ((error = vmlab_shutdown()) != 0) {
		printf("embed: vmlab_shutdown: %s\n", strerror(error));
		return (1);
	}
	if ((error = vmlab_tunable_get_str(
		 "vm.pgcache.high", high, sizeof(high))) != 0) {
		printf("embed: vmlab_tunable_get_str: %s\n", strerror(error));
		return (1);
	}
	if (embed_failed)
		return (1);
	printf("shut down (vm.pgcache.high was %s)\nembed: ok\n", high);
	return (0);
}
