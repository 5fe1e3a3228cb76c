/*
 * test_sim_vm.c: objects, page queues, the page daemon and the swap pager
 * explored under many schedules on the simulated machine.
 *
 * Each seed boots a machine of 4 MiB (1,024 pages) and runs three threads
 * over two anonymous objects of 1,024 pages each (twice memory): first
 * each writes its own third of the pages (so the daemon must launder and
 * free while they run), then each does random reads and writes over all
 * of them; between the phases one thread checks that the queues'
 * logical and physical states differ for a bounded number of pages
 * (vm_pagequeue_check(!quiesced)).  Pages carry (object, index, generation) words; a read must
 * see the newest generation written.  After the threads end: the page
 * queues are drained and must agree exactly with the pages' queue state
 * (vm_pagequeue_check(quiesced)), the page accounting holds, and freeing
 * the objects returns every swap block.  Batch size 7 with trylock makes
 * batches turn over often, so the interleavings of batched and immediate
 * queue operations with scans and frees are many.
 * Seeds: 200 in virtual-time order with jitter and 100 with PCT on 4 CPUs,
 * 10 on 16 CPUs (VMLAB_EXPLORE_SEEDS scales the first).
 */
#include "explore.h"
#include "harness.h"
#include "kern/thread.h"
#include "vm/vm_fault.h"
#include "vm/vm_object.h"
#include "vm/vm_page.h"
#include "vm/vm_pageout.h"
#include "vm/vm_pagequeue.h"
#include "vm/vm_swap.h"
#include "vmlab/vmlab.h"

#include <stdlib.h>
#include <string.h>

#define SV_THREADS 3
#define SV_PAGES 1024 /* per object */
#define SV_RANDOM 300 /* random touches per thread */

struct sv {
	struct vm_object *s_obj[2];
	uint64_t s_gen[2][SV_PAGES]; /* (a) newest generation written */
	uint64_t s_bad;		     /* (a) */
	uint64_t s_errors;	     /* (a) */
};

struct sv_touch {
	struct sv *t_sv;
	int t_o;
	uint64_t t_min;
	bool t_write, t_bad;
};

static uint64_t
sv_word(int o, vm_pindex_t i, uint64_t gen)
{
	uint64_t x = ((uint64_t)o << 60) ^ (i << 24) ^ gen;

	return (x * 0x9e3779b97f4a7c15ull + 1);
}

/* Words 0 and 511 carry the identity; 0 everywhere: never written. */
static void
sv_fn(uint8_t *data, vm_pindex_t i, void *arg)
{
	struct sv_touch *t = arg;
	uint64_t *w = (uint64_t *)data, gen;

	if (w[0] == 0 && w[511] == 0 && w[1] == 0)
		gen = 0;
	else if (w[0] != w[511] || w[1] >= (1ull << 32) ||
	    w[0] != sv_word(t->t_o, i, w[1])) {
		t->t_bad = true;
		return;
	} else
		gen = w[1];
	if (gen < t->t_min) {
		t->t_bad = true;
		return;
	}
	if (t->t_write) {
		w[1] = gen + 1;
		w[0] = w[511] = sv_word(t->t_o, i, gen + 1);
		atomic_store_64(&t->t_sv->s_gen[t->t_o][i], gen + 1);
	}
}

static void
sv_touch(struct sv *s, int o, vm_pindex_t i, bool write)
{
	struct sv_touch t = { .t_sv = s, .t_o = o, .t_write = write };
	int error;

	t.t_min = atomic_load_64(&s->s_gen[o][i]);
	error = vm_fault_touch(
	    s->s_obj[o], i, write ? VM_TOUCH_WRITE : VM_TOUCH_READ, sv_fn, &t);
	if (error != 0)
		atomic_add_64(&s->s_errors, 1);
	else if (t.t_bad)
		atomic_add_64(&s->s_bad, 1);
}

struct sv_thread {
	struct sv *st_sv;
	int st_id;
};

static void
sv_thread_main(void *arg)
{
	struct sv_thread *st = arg;
	struct sv *s = st->st_sv;
	uint64_t rs = test_seed() + (uint64_t)st->st_id, r;
	vm_pindex_t i;
	int k;

	for (i = (vm_pindex_t)st->st_id; i < 2 * SV_PAGES; i += SV_THREADS)
		sv_touch(s, (int)(i % 2), i / 2, true);
	/* While the others run: logical and physical state differ boundedly. */
	if (st->st_id == 0)
		CHECK(vm_pagequeue_check(false) == 0);
	for (k = 0; k < SV_RANDOM; k++) {
		r = test_rand(&rs);
		sv_touch(
		    s, (int)(r & 1), (r >> 1) % SV_PAGES, (r >> 40) % 3 == 0);
	}
}

static void
sv_body(void *arg)
{
	struct sv *s = arg;
	struct sv_thread st[SV_THREADS];
	struct thread *td[SV_THREADS];
	int i;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < 2; i++) {
		s->s_obj[i] = vm_object_allocate(OBJT_DEFAULT, SV_PAGES);
		CHECK(s->s_obj[i] != NULL);
	}
	for (i = 0; i < SV_THREADS; i++) {
		st[i].st_sv = s;
		st[i].st_id = i;
		CHECK(kthread_create(sv_thread_main, &st[i], i % md_ncpus(),
			  KTHR_JOINABLE, &td[i], "sv%d", i) == 0);
	}
	for (i = 0; i < SV_THREADS; i++)
		kthread_join(td[i]);
	CHECKF(s->s_bad == 0, "%llu touches saw a wrong or stale page",
	    (unsigned long long)s->s_bad);
	CHECKF(s->s_errors == 0, "%llu touches failed",
	    (unsigned long long)s->s_errors);
	vm_pageout_pause();
	vm_pagequeue_drain_all();
	CHECK(vm_pagequeue_check(true) == 0);
	vm_pageout_resume();
	for (i = 0; i < 2; i++) {
		CHECK(vm_object_check(s->s_obj[i]) == 0);
		vm_object_deallocate(s->s_obj[i]);
	}
	CHECKF(vm_swap_used() == 0, "%llu swap blocks leaked",
	    (unsigned long long)vm_swap_used());
	vm_pageout_pause();
	vm_pagequeue_drain_all();
	CHECK(vm_pagequeue_check(true) == 0);
	CHECK(vm_page_check() == 0);
	CHECK(vm_swap_check() == 0);
	vm_pageout_resume();
}

static void
test_pressure_explored(void)
{
	static const char *const tun[] = { "vm.batchqueue.size=7",
		"vm.batchqueue.trylock=1", "vm.swap.size=16m", NULL };
	struct explore_opts o = { .eo_name = "test_pressure_explored",
		.eo_jitter = 15,
		.eo_pct_depth = 3,
		.eo_pct_steps = 20000,
		.eo_physmem = 4 << 20,
		.eo_tunables = tun };
	struct explore_result r;
	struct sv *s = malloc(sizeof(*s));

	CHECK(s != NULL);
	if (s == NULL)
		return;
	o.eo_ncpus = 4;
	o.eo_seeds = 200;
	o.eo_mode = EXPLORE_TIME;
	explore(&o, sv_body, NULL, s, &r);
	CHECKF(r.er_failed == 0, "4 CPUs: %d of %d seeds failed", r.er_failed,
	    r.er_runs);
	o.eo_seeds = 100;
	o.eo_mode = EXPLORE_PCT;
	explore(&o, sv_body, NULL, s, &r);
	CHECKF(r.er_failed == 0, "4 CPUs, pct: %d of %d seeds failed",
	    r.er_failed, r.er_runs);
	o.eo_ncpus = 16;
	o.eo_seeds = 10;
	o.eo_mode = EXPLORE_TIME;
	explore(&o, sv_body, NULL, s, &r);
	CHECKF(r.er_failed == 0, "16 CPUs: %d of %d seeds failed", r.er_failed,
	    r.er_runs);
	free(s);
}

static const struct test_case cases[] = {
	TEST_CASE(test_pressure_explored),
};

int
main(int argc, char **argv)
{
	vmlab_sim_exec_norandom(argv);
	return (test_main(argc, argv, cases, TEST_NCASES(cases)));
}
