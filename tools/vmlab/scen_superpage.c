/*
 * scen_superpage.c: fragmentation over time, with superpage reservations
 * on and off side by side.
 *
 * A workload of objects of mixed lifetimes allocates and frees pages; after
 * every tick a probe asks for 2 MiB blocks, as a superpage fault or a
 * huge-page allocation would.  Reported per tick: the share of the probe's
 * 2 MiB requests that succeeded and the number of fully populated
 * reservations (those a pmap could map with one 2 MiB mapping).  The run
 * is done twice on the same machine with the same seed (--seed):
 * reservations on, then off (vm.reserv.enable, set at run time).
 *
 * The workload, per CPU (one worker each), in steps per tick:
 *	1. Free the objects and kernel pages whose lifetime ended.
 *	2. Do --ops operations, each one page: extend one of up to 8 growing
 *	   objects by its next page (objects grow in parallel, as processes
 *	   fault in parallel), or, one time in 16, allocate a kernel page
 *	   (no object) with its own lifetime.  A new object starts when
 *	   fewer than 8 grow and memory in use is below --fill percent;
 *	   growing objects stop (are truncated) once it is 1/8 above.
 * Objects are small files (4 to 64 pages, 1 to 2 ticks; not anonymous,
 * too small for a reservation), medium anonymous memory (64 to 1024
 * pages, 2 to 8 ticks) and large anonymous memory (1024 to 8192 pages,
 * 8 to 40 ticks).
 * The probe (step 3, all workers stopped) allocates --probe blocks of
 * order 9 and frees them.  At the end of each variant every page is freed
 * and the page accounting is checked.
 */
#include "kern/sysctl.h"
#include "kern/thread.h"
#include "vm/vm_object.h"
#include "vm/vm_page.h"
#include "vm/vm_pgcache.h"
#include "vm/vm_phys.h"
#include "vm/vm_reserv.h"
#include "vmlab_cli.h"

#include <stdlib.h>
#include <string.h>

#define SP_MAXTICKS 200
#define SP_GROWING 8
#define SP_MAXCPU 64

struct sp_obj {
	struct vm_object so_obj;
	struct vm_page **so_pages; /* by pindex */
	vm_pindex_t so_next;	   /* next pindex to populate */
	int so_death;		   /* tick at which it is freed */
	struct sp_obj *so_next_obj;
};

struct sp_kpage {
	struct vm_page *sk_m;
	int sk_death;
};

struct sp_worker {
	uint64_t sw_rs;
	struct sp_obj *sw_objs; /* every live object */
	struct sp_obj *sw_growing[SP_GROWING];
	struct sp_kpage *sw_kpages;
	uint64_t sw_nkpages, sw_kcap;
	uint64_t sw_ops;
	int sw_tick;
	int64_t *sw_inuse; /* (a) shared: pages the workers hold */
	uint64_t sw_limit; /* start no object above this many pages */
};

struct sp_tick {
	uint32_t st_ok, st_tried;
	uint64_t st_fullpop, st_inuse, st_broken, st_free2m;
};

static uint64_t
sp_between(uint64_t *s, uint64_t lo, uint64_t hi)
{
	return (lo + scen_rand(s) % (hi - lo + 1));
}

static void
sp_obj_free(struct sp_worker *sw, struct sp_obj *so)
{
	vm_pindex_t pi;

	for (pi = 0; pi < so->so_next; pi++)
		if (so->so_pages[pi] != NULL)
			vm_page_free(so->so_pages[pi]);
	(void)atomic_fetchadd_64(
	    (uint64_t *)sw->sw_inuse, (uint64_t) - (int64_t)so->so_next);
	free(so->so_pages);
	free(so);
}

/* Step 1, or everything when `all'. */
static void
sp_expire(struct sp_worker *sw, bool all)
{
	struct sp_obj **pp = &sw->sw_objs, *so;
	uint64_t i, n = 0;
	int g;

	while ((so = *pp) != NULL) {
		if (!all && so->so_death > sw->sw_tick) {
			pp = &so->so_next_obj;
			continue;
		}
		*pp = so->so_next_obj;
		for (g = 0; g < SP_GROWING; g++)
			if (sw->sw_growing[g] == so)
				sw->sw_growing[g] = NULL;
		sp_obj_free(sw, so);
	}
	for (i = 0; i < sw->sw_nkpages; i++) {
		if (!all && sw->sw_kpages[i].sk_death > sw->sw_tick)
			sw->sw_kpages[n++] = sw->sw_kpages[i];
		else
			vm_page_free(sw->sw_kpages[i].sk_m);
	}
	(void)atomic_fetchadd_64((uint64_t *)sw->sw_inuse,
	    (uint64_t) - (int64_t)(sw->sw_nkpages - n));
	sw->sw_nkpages = n;
}

static struct sp_obj *
sp_obj_new(struct sp_worker *sw)
{
	struct sp_obj *so = calloc(1, sizeof(*so));
	uint64_t r = scen_rand(&sw->sw_rs) % 100;

	if (r < 60) {
		so->so_obj.size = sp_between(&sw->sw_rs, 4, 64);
		so->so_death = sw->sw_tick + (int)sp_between(&sw->sw_rs, 1, 2);
	} else if (r < 92) {
		so->so_obj.size = sp_between(&sw->sw_rs, 64, 1024);
		so->so_obj.flags = OBJ_ANON;
		so->so_death = sw->sw_tick + (int)sp_between(&sw->sw_rs, 2, 8);
	} else {
		so->so_obj.size = sp_between(&sw->sw_rs, 1024, 8192);
		so->so_obj.flags = OBJ_ANON;
		so->so_death = sw->sw_tick + (int)sp_between(&sw->sw_rs, 8, 40);
	}
	so->so_pages = calloc(so->so_obj.size, sizeof(*so->so_pages));
	so->so_next_obj = sw->sw_objs;
	sw->sw_objs = so;
	return (so);
}

static void
sp_kpage(struct sp_worker *sw)
{
	struct vm_page *m = vm_page_alloc_noobj(0);

	if (m == NULL)
		return;
	if (sw->sw_nkpages == sw->sw_kcap) {
		sw->sw_kcap = sw->sw_kcap == 0 ? 1024 : 2 * sw->sw_kcap;
		sw->sw_kpages = realloc(
		    sw->sw_kpages, sw->sw_kcap * sizeof(*sw->sw_kpages));
	}
	sw->sw_kpages[sw->sw_nkpages].sk_m = m;
	sw->sw_kpages[sw->sw_nkpages++].sk_death =
	    sw->sw_tick + (int)sp_between(&sw->sw_rs, 1, 30);
	(void)atomic_fetchadd_64((uint64_t *)sw->sw_inuse, 1);
}

/* One operation of step 2. */
static void
sp_op(struct sp_worker *sw)
{
	struct sp_obj *so;
	struct vm_page *m;
	uint64_t inuse;
	int g = (int)(scen_rand(&sw->sw_rs) % SP_GROWING);

	if (scen_rand(&sw->sw_rs) % 16 == 0) {
		sp_kpage(sw);
		return;
	}
	so = sw->sw_growing[g];
	inuse = atomic_load_64((uint64_t *)sw->sw_inuse);
	if (so == NULL) {
		if (inuse >= sw->sw_limit)
			return;
		so = sw->sw_growing[g] = sp_obj_new(sw);
	} else if (inuse >= sw->sw_limit + sw->sw_limit / 8) {
		/* Well over the mark: the object stops growing. */
		sw->sw_growing[g] = NULL;
		return;
	}
	m = vm_page_alloc(&so->so_obj, so->so_next, 0);
	if (m != NULL) {
		so->so_pages[so->so_next] = m;
		(void)atomic_fetchadd_64((uint64_t *)sw->sw_inuse, 1);
	}
	/* A failed page ends the object's growth: it is truncated. */
	if (m == NULL || ++so->so_next == so->so_obj.size)
		sw->sw_growing[g] = NULL;
}

static void
sp_worker_tick(void *arg)
{
	struct sp_worker *sw = arg;
	uint64_t i;

	sp_expire(sw, false);
	for (i = 0; i < sw->sw_ops; i++) {
		sp_op(sw);
		if (i % 256 == 255)
			maybe_yield();
	}
}

/* Free blocks of 2 MiB or more in the buddy lists, in 2 MiB units. */
static uint64_t
sp_free2m(void)
{
	uint64_t n = 0;
	int d, o;

	for (d = 0; d < vm_ndomains; d++) {
		vm_domain_free_lock(VM_DOMAIN(d));
		for (o = VM_LEVEL_0_ORDER; o < VM_NFREEORDER; o++)
			n += vm_phys_free_blocks(d, o)
			    << (o - VM_LEVEL_0_ORDER);
		vm_domain_free_unlock(VM_DOMAIN(d));
	}
	return (n);
}

/* Step 3: how many of `n' 2 MiB requests succeed now. */
static uint32_t
sp_probe(uint32_t n)
{
	struct vm_page *ma[64];
	uint32_t i, ok = 0;

	for (i = 0; i < n && i < 64; i++)
		if ((ma[ok] = vm_page_alloc_block(0, VM_LEVEL_0_ORDER)) != NULL)
			ok++;
	for (i = 0; i < ok; i++)
		vm_page_free_block(ma[i], VM_LEVEL_0_ORDER);
	return (ok);
}

/* Runs the workers for one tick, each on its CPU, and waits for them. */
static void
sp_run_tick(struct sp_worker *sws, int nw)
{
	struct thread *td[SP_MAXCPU];
	int w;

	for (w = 0; w < nw; w++)
		if (kthread_create(sp_worker_tick, &sws[w], w,
			KTHR_BOUND | KTHR_JOINABLE, &td[w], "superpage%d",
			w) != 0)
			VM_PANIC("superpage: cannot create worker %d", w);
	for (w = 0; w < nw; w++)
		kthread_join(td[w]);
}

/* One variant: ticks of work and probes; returns failed checks. */
static int
sp_variant(struct scen_ctx *ctx, bool reserv, struct sp_tick *ticks)
{
	struct sp_worker sws[SP_MAXCPU];
	int64_t inuse = 0;
	int nw = md_ncpus() < SP_MAXCPU ? md_ncpus() : SP_MAXCPU, w, t;
	int nticks = (int)scen_opt(ctx, "ticks", 0);
	uint64_t broken0 = scen_stat("vm.stats.reserv.broken");

	if (!scen_knob_set(ctx, "vm.reserv.enable", reserv))
		return (1);
	memset(sws, 0, sizeof(sws));
	for (w = 0; w < nw; w++) {
		sws[w].sw_rs = ctx->sx_seed * 977 + (uint64_t)w;
		sws[w].sw_ops = (uint64_t)scen_opt(ctx, "ops", 0);
		sws[w].sw_inuse = &inuse;
		sws[w].sw_limit = vm_page_count_total() *
		    (uint64_t)scen_opt(ctx, "fill", 0) / 100;
	}
	for (t = 0; t < nticks; t++) {
		scen_progress(ctx,
		    reserv ? "reservations on" : "reservations off",
		    (uint64_t)t, (uint64_t)nticks, "ticks");
		for (w = 0; w < nw; w++)
			sws[w].sw_tick = t;
		sp_run_tick(sws, nw);
		ticks[t].st_free2m = sp_free2m();
		ticks[t].st_tried = (uint32_t)scen_opt(ctx, "probe", 0);
		ticks[t].st_ok = sp_probe(ticks[t].st_tried);
		ticks[t].st_fullpop = scen_stat("vm.stats.reserv.fullpop_now");
		ticks[t].st_inuse = (uint64_t)inuse;
		ticks[t].st_broken =
		    scen_stat("vm.stats.reserv.broken") - broken0;
	}
	for (w = 0; w < nw; w++) {
		sp_expire(&sws[w], true);
		free(sws[w].sw_kpages);
	}
	(void)vm_pgcache_drain_all();
	return (vm_page_check() + vm_reserv_check());
}

static void
sp_report(struct scen_ctx *ctx, const struct sp_tick *on,
    const struct sp_tick *off, int nticks)
{
	uint64_t ok[2] = { 0, 0 }, tried = 0, total = vm_page_count_total();
	char key[64];
	int t;

	fprintf(ctx->sx_out,
	    "\n  %4s | %-38s | %-38s\n  %4s | %6s %6s %9s %7s %6s | %6s %6s "
	    "%9s %7s %6s\n",
	    "tick", "reservations on", "reservations off", "", "used%",
	    "free2M", "2M ok", "fullpop", "broken", "used%", "free2M", "2M ok",
	    "fullpop", "broken");
	for (t = 0; t < nticks; t++) {
		fprintf(ctx->sx_out,
		    "  %4d | %6.1f %6llu %5u/%-3u %7llu %6llu | %6.1f %6llu "
		    "%5u/%-3u %7llu %6llu\n",
		    t + 1, 100.0 * (double)on[t].st_inuse / (double)total,
		    (unsigned long long)on[t].st_free2m, on[t].st_ok,
		    on[t].st_tried, (unsigned long long)on[t].st_fullpop,
		    (unsigned long long)on[t].st_broken,
		    100.0 * (double)off[t].st_inuse / (double)total,
		    (unsigned long long)off[t].st_free2m, off[t].st_ok,
		    off[t].st_tried, (unsigned long long)off[t].st_fullpop,
		    (unsigned long long)off[t].st_broken);
		ok[0] += on[t].st_ok;
		ok[1] += off[t].st_ok;
		tried += on[t].st_tried;
		snprintf(key, sizeof(key), "on_t%02d_2m_ok_pct", t + 1);
		report_result(
		    ctx, key, 100.0 * on[t].st_ok / on[t].st_tried, "%");
		snprintf(key, sizeof(key), "off_t%02d_2m_ok_pct", t + 1);
		report_result(
		    ctx, key, 100.0 * off[t].st_ok / off[t].st_tried, "%");
	}
	fprintf(ctx->sx_out,
	    "\n  2 MiB requests that succeeded: %.1f%% with reservations, "
	    "%.1f%% without\n",
	    100.0 * (double)ok[0] / (double)tried,
	    100.0 * (double)ok[1] / (double)tried);
	report_result(ctx, "reserv_on_2m_ok_pct", 100.0 * ok[0] / tried, "%");
	report_result(ctx, "reserv_off_2m_ok_pct", 100.0 * ok[1] / tried, "%");
	report_result(ctx, "reserv_on_fullpop_last",
	    (double)on[nticks - 1].st_fullpop, "reservations");
}

static void
sp_run(struct scen_ctx *ctx)
{
	static struct sp_tick on[SP_MAXTICKS], off[SP_MAXTICKS];
	int64_t was = scen_knob_get("vm.reserv.enable");
	int nticks = (int)scen_opt(ctx, "ticks", 0), bad;

	fprintf(ctx->sx_out,
	    "\n  %d ticks of %lld page operations per CPU, memory %llu MiB, "
	    "objects started below %lld%% in use, %lld 2 MiB requests per "
	    "tick\n",
	    nticks, (long long)scen_opt(ctx, "ops", 0),
	    (unsigned long long)(vm_page_count_total() >> 8),
	    (long long)scen_opt(ctx, "fill", 0),
	    (long long)scen_opt(ctx, "probe", 0));
	bad = sp_variant(ctx, true, on);
	bad += sp_variant(ctx, false, off);
	scen_progress_end(ctx);
	(void)scen_knob_set(ctx, "vm.reserv.enable", was);
	sp_report(ctx, on, off, nticks);
	if (bad != 0) {
		fprintf(stderr, "superpage: %d accounting violations\n", bad);
		ctx->sx_failed = 1;
	}
}

const struct scenario scen_superpage = {
	.sc_name = "superpage",
	.sc_descr = "fragmentation over time: 2 MiB requests that succeed, "
		    "reservations on and off",
	.sc_opts = {
	    { "ticks", "ticks (rows) per variant", "24", 1, SP_MAXTICKS,
		false, NULL },
	    { "ops", "page operations per CPU per tick", "12000", 1,
		100000000, false, NULL },
	    { "fill", "start new objects below this % of memory in use "
		      "(growth stops 1/8 above it)",
		"60", 1, 85, false, NULL },
	    { "probe", "2 MiB requests after each tick", "16", 1, 64, false, NULL },
	},
	.sc_nopts = 4,
	.sc_tunables = NULL,
	.sc_run = sp_run,
	.sc_knobs = { { "vm.reserv.enable", NULL } },
};
