/*
 * tlb.c: the software TLB's hit path (pmap_tlb_lookup()).
 *
 *	tlb [--clock cpu|wall] [--json PATH]
 *
 * One kernel thread on a pinned 2-CPU machine maps 64 pages of an
 * anonymous object in a user pmap, fills the TLB with each, then times
 * lookups cycling over them (every one a hit, 4 KiB entries).  Rows, in
 * ns per lookup (statistics and clock in bench.h):
 *	read        pmap_tlb_lookup(va, VM_PROT_READ);
 *	write       pmap_tlb_lookup(va, VM_PROT_WRITE) (entries filled by
 *	            writes, so the dirty bit is cached);
 *	poll+read   md_ipi_poll() (the out-of-line poll) then the read
 *	            lookup: what the hit would cost if it called the poll
 *	            instead of md_ipi_check()'s inline test.
 * The ratio column is each row over `read'.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime() in bench.h */

#include "bench.h"
#include "pmap/pmap.h"
#include "vm/vm_object.h"
#include "vm/vm_page.h"
#include "vmlab/vmlab.h"

#define TB_NPAGES 64
#define TB_VA ((vm_offset_t)0x40000000)

enum { TB_READ, TB_WRITE, TB_POLL, TB_NROWS };
static const char *const tb_names[] = { "read", "write", "poll+read" };
static struct bench_result tb_results[TB_NROWS];
static uint64_t tb_sink;

struct tb_arg {
	int ta_row;
};

static uint64_t
tb_run(void *arg, int threads, uint64_t rounds)
{
	struct tb_arg *ta = arg;
	vm_prot_t access =
	    ta->ta_row == TB_WRITE ? VM_PROT_WRITE : VM_PROT_READ;
	uint64_t r, t0, sum = 0;
	int i;

	(void)threads;
	t0 = bench_clock_ns();
	for (r = 0; r < rounds; r++) {
		for (i = 0; i < TB_NPAGES; i++) {
			if (ta->ta_row == TB_POLL)
				md_ipi_poll();
			sum += (uintptr_t)pmap_tlb_lookup(
			    TB_VA + ((vm_offset_t)i << PAGE_SHIFT), access);
		}
	}
	tb_sink += sum;
	return (bench_clock_ns() - t0);
}

static void
tb_main(void *arg)
{
	struct vm_object *obj = vm_object_allocate(OBJT_DEFAULT, TB_NPAGES);
	struct vm_page *m;
	struct pmap pm;
	struct tb_arg ta;
	int i, error;

	(void)arg;
	if (pmap_pinit(&pm) != 0)
		return;
	vm_object_lock(obj);
	for (i = 0; i < TB_NPAGES; i++) {
		m = vm_page_alloc_obj(obj, (vm_pindex_t)i, &error);
		if (m == NULL)
			break;
		m->valid = VM_PAGE_BITS_ALL;
		vm_page_xunbusy(m);
		(void)pmap_enter(&pm, TB_VA + ((vm_offset_t)i << PAGE_SHIFT), m,
		    VM_PROT_RW, 0, 0);
	}
	vm_object_unlock(obj);
	for (i = 0; i < TB_NPAGES; i++)
		(void)pmap_tlb_fill(
		    &pm, TB_VA + ((vm_offset_t)i << PAGE_SHIFT), VM_PROT_WRITE);
	for (ta.ta_row = 0; ta.ta_row < TB_NROWS; ta.ta_row++) {
		snprintf(tb_results[ta.ta_row].br_impl,
		    sizeof(tb_results[0].br_impl), "vmlab");
		snprintf(tb_results[ta.ta_row].br_op,
		    sizeof(tb_results[0].br_op), "%s", tb_names[ta.ta_row]);
		bench_measure(
		    &tb_results[ta.ta_row], 1, TB_NPAGES, tb_run, &ta);
	}
	pmap_remove(&pm, TB_VA, TB_VA + ((vm_offset_t)TB_NPAGES << PAGE_SHIFT));
	pmap_release(&pm);
	vm_object_deallocate(obj);
}

int
main(int argc, char **argv)
{
	struct vmlab_config cfg;
	const char *json;
	char err[256];
	int i;

	if (!bench_parse_args(argc, argv, &json))
		return (2);
	vmlab_config_default(&cfg);
	cfg.ncpus = 2;
	cfg.pin = true;
	if (vmlab_boot(&cfg, err, sizeof(err)) != 0 ||
	    vmlab_run(tb_main, NULL) != 0 || vmlab_shutdown() != 0) {
		fprintf(stderr, "tlb: vmlab: %s\n", err);
		return (1);
	}
	printf("%-10s %10s %10s %10s %7s\n", "lookup", "ns/op", "min", "max",
	    "ratio");
	for (i = 0; i < TB_NROWS; i++)
		printf("%-10s %10.3f %10.3f %10.3f %7.2f\n", tb_names[i],
		    tb_results[i].br_median, tb_results[i].br_min,
		    tb_results[i].br_max,
		    tb_results[i].br_median / tb_results[TB_READ].br_median);
	return (json != NULL
		? bench_json_results(json, tb_results, TB_NROWS, "impl", false)
		: 0);
}
