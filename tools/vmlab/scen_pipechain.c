/*
 * scen_pipechain.c: the mass-pipe-closure experiment (DragonFly commit
 * 5eab490e, "Remove bottlenecks related to mass pipe closures": 900,000
 * processes chaining 900,000 pipes, killed at once, left the system
 * unusable for over an hour; after four changes it balked for under 30
 * seconds).
 *
 * For each variant and each N of --procs, on one booted machine:
 *	1. a driver process makes a chain: pipe 0 -> link 0 -> pipe 1 ->
 *	   link 1 -> ... -> pipe N -> driver, each link a forked process
 *	   that reads from its left pipe and writes what it read to its
 *	   right one;
 *	2. the driver sends a token of --msg bytes down pipe 0 and reads it
 *	   back from pipe N, checking every byte: setup is over when it is
 *	   back (the kernel side sees it in kern.pipe.bytes);
 *	3. every link is killed at once (proc_kill_children(), a job's ^C):
 *	   each wakes from its pipe read, exits, closes its two pipes, and
 *	   the pipe teardowns overflow the per-CPU pipe caches and free the
 *	   buffers' KVA through the kernel map;
 *	4. the driver reaps them all and exits; the teardown time is from
 *	   the kill until the driver is reaped;
 *	5. checks, not assumptions: no process, file or pipe is left (after
 *	   the pipe caches are drained), the kernel arena's KVA in use, the
 *	   pages in use and the zones' items are back where they were, and
 *	   no pv entry is left.
 * The variants set three knobs (kern.pipe.teardown_lock,
 * vm.kmem.bulk_remove, uma.grow_pages): `before' (lockmgr, page by page,
 * 4), `after' (qmtx, bulk, 32) and each change alone on top of before.
 *
 * Budget.  A variant whose setup or teardown passes --budget seconds
 * (md_nanotime(): virtual time on the simulated machine, so the cut is
 * deterministic there) is reported as "> budget" with the processes
 * reaped by then; the rest of its teardown runs with the kernel map's
 * lockmgr waking one waiter per release (lockmgr_set_wakeone()), which
 * is no longer the experiment but ends the run in linear time.
 */
#include "kern/lock.h"
#include "kern/sleepq.h"
#include "kern/sysctl.h"
#include "kern/thread.h"
#include "kern/vmem.h"
#include "md/md.h"
#include "proc/file.h"
#include "proc/pipe.h"
#include "proc/proc.h"
#include "proc/syscall.h"
#include "vm/uma.h"
#include "vm/vm_kern.h"
#include "vm/vm_map.h"
#include "vm/vm_page.h"
#include "vm/vm_uaccess.h"
#include "vmlab_cli.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PC_MAXMSG (64 * 1024)
#define PC_MAXLOCKS 5 /* lock rows kept per variant and N */

struct pc_variant {
	const char *pv_name;
	int pv_qmtx; /* kern.pipe.teardown_lock: 1 qmtx, 0 lockmgr */
	int pv_bulk; /* vm.kmem.bulk_remove */
	int pv_grow; /* uma.grow_pages */
};

static const struct pc_variant pc_variants[] = {
	{ "before", 0, 0, 4 },
	{ "after", 1, 1, 32 },
	{ "qmtx", 1, 0, 4 },
	{ "bulk", 0, 1, 4 },
	{ "grow", 0, 0, 32 },
};

static const char *const pc_variant_words[] = { "before", "after", "qmtx",
	"bulk", "grow", NULL };

/*
 * The programs (user mode: memory through uaccess, the kernel through
 * system calls).
 */

/*
 * A link's descriptors travel in fork's argument (16 bits each: a
 * process here holds a handful): the one it reads, the one it writes,
 * and two inherited ones it must close.  Passing them in the driver's
 * private memory would make every fork shadow the driver's object once
 * more, and its faults walk a chain as long as the links made so far
 * (FreeBSD's long shadow chains of a forking parent): setup would grow
 * as N^2.
 */
#define PC_ARG(l, r, c0, c1)                                                   \
	((intptr_t)((uint64_t)(l) | (uint64_t)(r) << 16 |                      \
	    (uint64_t)(c0) << 32 | (uint64_t)(c1) << 48))
#define PC_ARG_FD(a, i) ((int)(((uint64_t)(a) >> (16 * (i))) & 0xffff))

static int
pc_load32(vm_offset_t va, int32_t *vp)
{
	uint64_t v;
	int error;

	if ((error = uload(va, 4, &v)) != 0)
		return (error);
	*vp = (int32_t)(uint32_t)v;
	return (0);
}

/* A link: its own buffer, then read left, write right, until EOF. */
static int
pc_link(intptr_t arg)
{
	int64_t va, n, w, off;
	vm_offset_t buf;

	(void)u_close(PC_ARG_FD(arg, 2));
	(void)u_close(PC_ARG_FD(arg, 3));
	va = u_mmap(0, PC_MAXMSG, VM_PROT_RW, MAP_ANON | MAP_PRIVATE);
	if (va < 0)
		return (1);
	buf = (vm_offset_t)va;
	for (;;) {
		n = u_read(PC_ARG_FD(arg, 0), buf, PC_MAXMSG);
		if (n <= 0)
			return (n == 0 ? 0 : 2);
		for (off = 0; off < n; off += w)
			if ((w = u_write(PC_ARG_FD(arg, 1),
				 buf + (vm_offset_t)off, (size_t)(n - off))) <=
			    0)
				return (3);
	}
}

static uint8_t
pc_tokbyte(uint64_t i)
{
	return ((uint8_t)(i * 131 + 7));
}

/* Fills or checks the token in user memory; returns bytes that differ. */
static uint64_t
pc_token(vm_offset_t buf, uint32_t msg, bool fill)
{
	uint8_t kb[512];
	uint32_t off, k, i;
	uint64_t bad = 0;

	for (off = 0; off < msg; off += k) {
		k = msg - off < sizeof(kb) ? msg - off : (uint32_t)sizeof(kb);
		if (fill) {
			for (i = 0; i < k; i++)
				kb[i] = pc_tokbyte(off + i);
			if (copyout(kb, buf + off, k) != 0)
				return (msg);
		} else {
			if (copyin(buf + off, kb, k) != 0)
				return (msg);
			for (i = 0; i < k; i++)
				bad += kb[i] != pc_tokbyte(off + i);
		}
	}
	return (bad);
}

/*
 * The driver: arg = N | msg << 32.  Exit status 0, 2 if the token came
 * back damaged, 1 if it could not start.
 */
static int
pc_driver(intptr_t arg)
{
	uint32_t n = (uint32_t)((uint64_t)arg & 0xffffffff);
	uint32_t msg = (uint32_t)((uint64_t)arg >> 32), i;
	vm_offset_t u, fds, buf;
	int64_t va, got, k;
	int32_t first_w, prev_r, r, w;
	int pid;

	/* Shared memory: the driver's writes shadow nothing. */
	va = u_mmap(
	    0, PAGE_SIZE + round_page(msg), VM_PROT_RW, MAP_ANON | MAP_SHARED);
	if (va < 0)
		return (1);
	u = (vm_offset_t)va;
	fds = u;
	buf = u + PAGE_SIZE;
	if (u_pipe(fds, 0) != 0 || pc_load32(fds, &prev_r) != 0 ||
	    pc_load32(fds + 4, &first_w) != 0)
		return (1);
	for (i = 0; i < n; i++) {
		if (u_pipe(fds, 0) != 0 || pc_load32(fds, &r) != 0 ||
		    pc_load32(fds + 4, &w) != 0)
			break; /* out of memory: a shorter chain */
		pid = u_fork(pc_link, PC_ARG(prev_r, w, first_w, r));
		(void)u_close(w);
		if (pid < 0) {
			(void)u_close(r);
			break; /* kern.maxproc or memory: a shorter chain */
		}
		(void)u_close(prev_r);
		prev_r = r;
	}
	/* The token goes round once. */
	if (pc_token(buf, msg, true) != 0 || u_write(first_w, buf, msg) != msg)
		return (1);
	for (got = 0; got < msg; got += k)
		if ((k = u_read(prev_r, buf + (vm_offset_t)got,
			 (size_t)(msg - got))) <= 0)
			return (2);
	if (pc_token(buf, msg, false) != 0)
		return (2);
	/* The kernel kills the links now; reap them all. */
	while (u_wait(-1, 0, 0) > 0)
		;
	(void)u_close(first_w);
	(void)u_close(prev_r);
	return (0);
}

/*
 * The kernel side.
 */
struct pc_snap {
	uint64_t ns;
	uint64_t wakeups, ipis, shootdowns, forks, reaped, pipe_bytes;
	uint64_t pages, kva, stack, zone_items;
	uint64_t files, pipes, nprocs;
};

static void
pc_zone_items(const struct uma_zone_stats *zs, void *arg)
{
	*(uint64_t *)arg += zs->used;
}

/* The counters; with `settle', pages, KVA and zones too (slower). */
static void
pc_snap(struct pc_snap *s, bool settle)
{
	struct proc_stats ps;
	struct pipe_stats pst;

	s->ns = md_nanotime();
	s->wakeups = sleepq_wakeups();
	s->ipis = scen_stat("vm.pmap.ipis");
	s->shootdowns = scen_stat("vm.pmap.shootdowns");
	proc_stats(&ps);
	s->forks = ps.forks;
	s->reaped = ps.reaped;
	s->nprocs = ps.nprocs;
	s->pipe_bytes = scen_stat("kern.pipe.bytes");
	s->stack = md_ctx_stack_bytes();
	s->files = file_count();
	if (!settle)
		return;
	pipe_drain();
	pipe_stats(&pst);
	s->pipes = pst.live;
	vmem_qcache_drain(kernel_arena);
	s->kva = vmem_size(kernel_arena, VMEM_ALLOC);
	s->pages = proc_pages_in_use();
	s->zone_items = 0;
	(void)uma_zone_foreach(pc_zone_items, &s->zone_items);
}

struct pc_row {
	const struct pc_variant *r_var;
	uint64_t r_procs;   /* asked */
	uint64_t r_created; /* links made */
	double r_setup_ms, r_teardown_ms;
	bool r_over;	  /* past the budget */
	bool r_setup_cut; /* in setup: the chain is shorter than asked */
	uint64_t r_reaped_at_budget;
	uint64_t r_wakeups, r_ipis, r_shootdowns;
	int64_t r_pages_freed, r_leaked_pages, r_leaked_kva;
	int64_t r_leaked_items;
	uint64_t r_left_procs, r_left_files, r_left_pipes, r_pv_entries;
	double r_mem_per_proc, r_pages_per_proc, r_stack_per_proc;
	int r_status; /* the driver's */
	struct scen_lockrow r_locks[PC_MAXLOCKS];
	int r_nlocks;
};

static bool
pc_set_variant(struct scen_ctx *ctx, const struct pc_variant *v)
{
	return (scen_knob_set(ctx, "kern.pipe.teardown_lock", v->pv_qmtx) &&
	    scen_knob_set(ctx, "vm.kmem.bulk_remove", v->pv_bulk) &&
	    scen_knob_set(ctx, "uma.grow_pages", v->pv_grow));
}

/* Setup: until the token is back or the driver ends.  False: it ended. */
static bool
pc_setup(struct scen_ctx *ctx, const struct pc_snap *s0, int dpid, uint32_t msg,
    uint64_t n, uint64_t budget_ns, struct pc_row *row)
{
	struct pc_snap s1;
	uint64_t children;
	char what[64];
	int status;

	snprintf(what, sizeof(what), "%s, setup", row->r_var->pv_name);
	for (;;) {
		pc_snap(&s1, false);
		children = s1.forks - s0->forks - 1;
		/* The token crossed all children + 1 pipes. */
		if (s1.forks > s0->forks &&
		    s1.pipe_bytes - s0->pipe_bytes >= (children + 1) * msg)
			break;
		if (proc_wait(dpid, &status, WNOHANG) == dpid) {
			scen_progress_end(ctx);
			fprintf(stderr,
			    "pipe-chain: the driver exited during setup "
			    "(status %#x)\n",
			    status);
			ctx->sx_failed = 1;
			return (false);
		}
		if (s1.ns - s0->ns > budget_ns) {
			row->r_over = row->r_setup_cut = true;
			break;
		}
		scen_progress(ctx, what, children, n, "procs");
		pause_ns("pcsetup", 1000000);
	}
	row->r_created = s1.forks - s0->forks - 1;
	row->r_setup_ms = (double)(s1.ns - s0->ns) / 1e6;
	return (true);
}

/* Everything back?  Fills the row's leak figures; false if not. */
static bool
pc_verify(
    const struct pc_snap *s0, const struct pc_snap *s3, struct pc_row *row)
{
	row->r_leaked_pages = (int64_t)(s3->pages - s0->pages);
	row->r_leaked_kva = (int64_t)(s3->kva - s0->kva);
	row->r_leaked_items = (int64_t)(s3->zone_items - s0->zone_items);
	row->r_left_procs = s3->nprocs;
	row->r_left_files = s3->files;
	row->r_left_pipes = s3->pipes;
	row->r_pv_entries = scen_stat("vm.pmap.pv_entries");
	/* A driver cut short by the budget was killed; else it exits 0. */
	return (row->r_leaked_pages == 0 && row->r_leaked_kva == 0 &&
	    row->r_leaked_items == 0 && row->r_left_procs == 0 &&
	    row->r_left_files == 0 && row->r_left_pipes == 0 &&
	    row->r_pv_entries == 0 &&
	    (row->r_setup_cut ? WTERMSIG(row->r_status) == SIGKILL
			      : WIFEXITED(row->r_status) &&
			WEXITSTATUS(row->r_status) == 0));
}

/* One variant at one N.  False: the run cannot go on. */
static bool
pc_one(struct scen_ctx *ctx, const struct pc_variant *v, uint64_t n,
    uint32_t msg, uint64_t budget_ns, struct pc_row *row)
{
	struct lockmgr *klk = &kernel_map->lock.lk;
	struct pc_snap s0, s1, s2, s3;
	char what[64];
	int dpid, error, status = -1;
	bool reaped;

	memset(row, 0, sizeof(*row));
	row->r_var = v;
	row->r_procs = n;
	if (!pc_set_variant(ctx, v))
		return (false);
	pc_snap(&s0, true);
	error = proc_spawn("pipe-chain", pc_driver,
	    (intptr_t)(n | (uint64_t)msg << 32), &dpid);
	if (error != 0) {
		fprintf(stderr, "pipe-chain: cannot start the driver: %s\n",
		    strerror(error));
		ctx->sx_failed = 1;
		return (false);
	}
	if (!pc_setup(ctx, &s0, dpid, msg, n, budget_ns, row))
		return (false);
	pc_snap(&s1, true);
	if (row->r_created > 0) {
		row->r_pages_per_proc =
		    (double)(s1.pages - s0.pages) / (double)row->r_created;
		row->r_stack_per_proc =
		    (double)(s1.stack - s0.stack) / (double)row->r_created;
		row->r_mem_per_proc =
		    row->r_pages_per_proc * PAGE_SIZE + row->r_stack_per_proc;
	}
	/*
	 * Teardown: kill every link, wait for the driver to reap them all.
	 * A setup past its budget is cut short: the driver is killed first
	 * (it would go on forking), its links become proc0's orphans, and
	 * they are killed and reaped by proc0's reaper.
	 */
	lock_prof_reset();
	reaped = false;
	if (row->r_over) {
		(void)proc_kill(dpid, SIGKILL);
		reaped = proc_wait(dpid, &status, 0) == dpid;
	}
	pc_snap(&s1, false);
	(void)proc_kill_children(row->r_over ? 0 : dpid, SIGKILL);
	snprintf(what, sizeof(what), "%s, teardown", v->pv_name);
	for (;;) {
		if (!reaped && proc_wait(dpid, &status, WNOHANG) == dpid)
			reaped = true;
		pc_snap(&s2, false);
		if (reaped && s2.nprocs == 0)
			break;
		if (!row->r_over && s2.ns - s1.ns > budget_ns) {
			row->r_over = true;
			row->r_reaped_at_budget = s2.reaped - s1.reaped;
			lockmgr_set_wakeone(klk, true);
		}
		scen_progress(
		    ctx, what, s2.reaped - s1.reaped, row->r_created, "reaped");
		pause_ns("pcteardown", 1000000);
	}
	if (row->r_over && row->r_reaped_at_budget == 0)
		row->r_reaped_at_budget = s2.reaped - s1.reaped;
	lockmgr_set_wakeone(klk, false);
	row->r_status = status;
	row->r_teardown_ms = (double)(s2.ns - s1.ns) / 1e6;
	row->r_wakeups = s2.wakeups - s1.wakeups;
	row->r_ipis = s2.ipis - s1.ipis;
	row->r_shootdowns = s2.shootdowns - s1.shootdowns;
	row->r_nlocks = report_top_locks(row->r_locks, PC_MAXLOCKS);
	pc_snap(&s3, true);
	row->r_pages_freed = (int64_t)(s1.pages - s3.pages);
	if (!pc_verify(&s0, &s3, row)) {
		scen_progress_end(ctx);
		fprintf(stderr,
		    "pipe-chain: %s at %" PRIu64 " left %" PRId64
		    " pages, %" PRId64 " bytes of KVA, %" PRId64
		    " zone items, %" PRIu64 " processes, %" PRIu64
		    " files, %" PRIu64 " pipes, %" PRIu64
		    " pv entries; driver status %#x\n",
		    v->pv_name, n, row->r_leaked_pages, row->r_leaked_kva,
		    row->r_leaked_items, row->r_left_procs, row->r_left_files,
		    row->r_left_pipes, row->r_pv_entries, status);
		ctx->sx_failed = 1;
	}
	return (true);
}

static void
pc_record(struct scen_ctx *ctx, const struct pc_row *r)
{
	char buf[2048];
	size_t off = 0;
	int i, k;

	if ((k = report_row_add(ctx)) < 0)
		return;
	report_row_str(ctx, k, "variant", r->r_var->pv_name);
	report_row_num(ctx, k, "procs", (double)r->r_procs);
	report_row_num(ctx, k, "created", (double)r->r_created);
	report_row_num(ctx, k, "setup_ms", r->r_setup_ms);
	report_row_num(ctx, k, "teardown_ms", r->r_teardown_ms);
	report_row_num(ctx, k, "over_budget", r->r_over ? 1 : 0);
	report_row_num(ctx, k, "setup_cut", r->r_setup_cut ? 1 : 0);
	report_row_num(
	    ctx, k, "reaped_at_budget", (double)r->r_reaped_at_budget);
	report_row_num(ctx, k, "wakeups", (double)r->r_wakeups);
	report_row_num(ctx, k, "ipis", (double)r->r_ipis);
	report_row_num(ctx, k, "shootdowns", (double)r->r_shootdowns);
	report_row_num(ctx, k, "pages_freed", (double)r->r_pages_freed);
	report_row_num(ctx, k, "leaked_pages", (double)r->r_leaked_pages);
	report_row_num(ctx, k, "leaked_kva_bytes", (double)r->r_leaked_kva);
	report_row_num(ctx, k, "leaked_zone_items", (double)r->r_leaked_items);
	report_row_num(ctx, k, "pages_per_proc", r->r_pages_per_proc);
	report_row_num(ctx, k, "stack_bytes_per_proc", r->r_stack_per_proc);
	report_row_num(ctx, k, "mem_per_proc_bytes", r->r_mem_per_proc);
	off += (size_t)snprintf(buf + off, sizeof(buf) - off, "[");
	for (i = 0; i < r->r_nlocks && off < sizeof(buf) - 256; i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off,
		    "%s{\"name\": \"%s\", \"class\": \"%s\", "
		    "\"wait_total_ns\": %" PRIu64 ", \"acquisitions\": %" PRIu64
		    ", \"contentions\": %" PRIu64 "}",
		    i == 0 ? "" : ", ", r->r_locks[i].name, r->r_locks[i].cls,
		    r->r_locks[i].wait_ns, r->r_locks[i].acq,
		    r->r_locks[i].cont);
	snprintf(buf + off, sizeof(buf) - off, "]");
	report_row_json(ctx, k, "lockstat", buf);
}

static void
pc_print_row(FILE *out, const struct pc_row *r)
{
	char td[32];
	int i;

	if (r->r_over)
		snprintf(td, sizeof(td), "> budget");
	else
		snprintf(td, sizeof(td), "%.1f", r->r_teardown_ms);
	fprintf(out,
	    "%-8s %8" PRIu64 " %9.1f %12s %12" PRIu64 " %9" PRIu64 " %10" PRIu64
	    " %11" PRId64 " %7" PRId64 " %9.0f\n",
	    r->r_var->pv_name, r->r_created, r->r_setup_ms, td, r->r_wakeups,
	    r->r_ipis, r->r_shootdowns, r->r_pages_freed, r->r_leaked_pages,
	    r->r_mem_per_proc);
	if (r->r_setup_cut)
		fprintf(out,
		    "         (setup past the budget with %" PRIu64
		    " links made of %" PRIu64 "; the driver and they were "
		    "killed)\n",
		    r->r_created, r->r_procs);
	else if (r->r_over)
		fprintf(out,
		    "         (past the budget with %" PRIu64 " of %" PRIu64
		    " reaped; all reaped after %.1f ms, the rest with one "
		    "wakeup per release)\n",
		    r->r_reaped_at_budget, r->r_created, r->r_teardown_ms);
	for (i = 0; i < r->r_nlocks && i < 3; i++)
		fprintf(out, "           %16" PRIu64 " ns wait  (%s:%s)\n",
		    r->r_locks[i].wait_ns, r->r_locks[i].cls,
		    r->r_locks[i].name);
}

/* The variants present in rows, in order of first appearance. */
static int
pc_variant_list(const struct pc_row *rows, int nrows, const char **vars)
{
	int i, j, nv = 0;

	for (i = 0; i < nrows; i++) {
		for (j = 0; j < nv; j++)
			if (strcmp(vars[j], rows[i].r_var->pv_name) == 0)
				break;
		if (j == nv)
			vars[nv++] = rows[i].r_var->pv_name;
	}
	return (nv);
}

/* gnuplot draws teardown time against N; false if it cannot. */
static bool
pc_gnuplot(struct scen_ctx *ctx, const struct pc_row *rows, int nrows)
{
	const char *vars[nitems(pc_variants)];
	char data[1024], cmd[2400];
	FILE *f;
	int i, j, nv;

	if (!report_gnuplot_found())
		return (false);
	nv = pc_variant_list(rows, nrows, vars);
	snprintf(data, sizeof(data), "%s.dat", ctx->sx_plot);
	if ((f = fopen(data, "w")) == NULL)
		return (false);
	for (j = 0; j < nv; j++) {
		fprintf(f, "\"%s\"\n", vars[j]);
		for (i = 0; i < nrows; i++)
			if (strcmp(rows[i].r_var->pv_name, vars[j]) == 0)
				fprintf(f, "%" PRIu64 " %.3f\n",
				    rows[i].r_created, rows[i].r_teardown_ms);
		fprintf(f, "\n\n");
	}
	fclose(f);
	snprintf(cmd, sizeof(cmd),
	    "gnuplot -e \"set terminal png noenhanced size 800,500; set output "
	    "'%s'; "
	    "set logscale xy; set key left top; set grid; "
	    "set xlabel 'processes killed at once'; "
	    "set ylabel 'teardown (ms)'; "
	    "set title 'pipe-chain (%s, %d CPUs)'; "
	    "plot for [i=0:%d] '%s' index i using 1:2 with linespoints "
	    "title columnheader(1)\"",
	    ctx->sx_plot, ctx->sx_sim ? "sim" : "host", ctx->sx_ncpus, nv - 1,
	    data);
	return (report_gnuplot_run(ctx->sx_out, cmd, ctx->sx_plot, data));
}

/* Teardown time against N: gnuplot to --plot, or a text plot. */
static void
pc_plot(struct scen_ctx *ctx, const struct pc_row *rows, int nrows)
{
	double max = 0;
	int i, w;

	if (ctx->sx_plot != NULL) {
		if (pc_gnuplot(ctx, rows, nrows))
			return;
		report_plot_fallback(ctx->sx_out, ctx->sx_plot);
	}
	for (i = 0; i < nrows; i++)
		if (rows[i].r_teardown_ms > max)
			max = rows[i].r_teardown_ms;
	fprintf(ctx->sx_out, "\nteardown (ms) against processes:\n");
	for (i = 0; i < nrows; i++) {
		w = max <= 0 ? 0 : (int)(50 * rows[i].r_teardown_ms / max);
		fprintf(ctx->sx_out, "  %-7s %8" PRIu64 " |%.*s %.1f%s\n",
		    rows[i].r_var->pv_name, rows[i].r_created, w,
		    "##################################################",
		    rows[i].r_teardown_ms, rows[i].r_over ? " (> budget)" : "");
	}
}

static const struct pc_row *
pc_find(const struct pc_row *rows, int n, const char *var, uint64_t procs)
{
	int i;

	for (i = 0; i < n; i++)
		if (strcmp(rows[i].r_var->pv_name, var) == 0 &&
		    rows[i].r_procs == procs)
			return (&rows[i]);
	return (NULL);
}

/* The ratios: before/after per N, and each variant's growth. */
static void
pc_ratios(struct scen_ctx *ctx, const struct pc_row *rows, int nrows)
{
	int nprocs = scen_opt_count(ctx, "procs");
	const char *vars[nitems(pc_variants)];
	const struct pc_row *a, *b;
	char key[64];
	int i, j, nv;

	fprintf(ctx->sx_out, "\n");
	for (i = 0; i < nprocs; i++) {
		a = pc_find(
		    rows, nrows, "before", (uint64_t)scen_opt(ctx, "procs", i));
		b = pc_find(
		    rows, nrows, "after", (uint64_t)scen_opt(ctx, "procs", i));
		if (a == NULL || b == NULL || b->r_teardown_ms <= 0)
			continue;
		snprintf(key, sizeof(key), "before_after_ratio_%" PRIu64,
		    a->r_procs);
		report_result(
		    ctx, key, a->r_teardown_ms / b->r_teardown_ms, "x");
		fprintf(ctx->sx_out,
		    "before/after teardown at %" PRIu64 ": %s%.1fx\n",
		    a->r_procs, a->r_over ? "> " : "",
		    a->r_teardown_ms / b->r_teardown_ms);
	}
	nv = pc_variant_list(rows, nrows, vars);
	for (j = 0; j < nv && nprocs >= 2; j++) {
		a = pc_find(
		    rows, nrows, vars[j], (uint64_t)scen_opt(ctx, "procs", 0));
		b = pc_find(rows, nrows, vars[j],
		    (uint64_t)scen_opt(ctx, "procs", nprocs - 1));
		if (a == NULL || b == NULL || a->r_teardown_ms <= 0)
			continue;
		snprintf(key, sizeof(key), "growth_%s", vars[j]);
		report_result(
		    ctx, key, b->r_teardown_ms / a->r_teardown_ms, "x");
		fprintf(ctx->sx_out,
		    "%s: teardown grows %s%.1fx from %" PRIu64 " to %" PRIu64
		    " processes\n",
		    vars[j], b->r_over ? "> " : "",
		    b->r_teardown_ms / a->r_teardown_ms, a->r_procs,
		    b->r_procs);
	}
}

/*
 * Pages a run needs, about: per link its page tables (4), the copy-on-
 * write of the driver's page and its share of the pipe buffers' pages,
 * with room to spare (pages_per_proc says what it used).
 */
static uint64_t
pc_pages_needed(const struct scen_ctx *ctx)
{
	uint64_t maxn = 0;
	int i;

	for (i = 0; i < scen_opt_count(ctx, "procs"); i++)
		if ((uint64_t)scen_opt(ctx, "procs", i) > maxn)
			maxn = (uint64_t)scen_opt(ctx, "procs", i);
	return (maxn * (14 + 2 * atop(round_page(scen_opt(ctx, "msg", 0)))) +
	    16384);
}

static uint64_t
pc_physmem(const struct scen_ctx *ctx)
{
	return (ptoa(pc_pages_needed(ctx)));
}

/* A --mem too small for the chains is refused before the boot. */
static int
pc_check(const struct scen_ctx *ctx, char *err, size_t errlen)
{
	uint64_t need = pc_physmem(ctx);

	if (ctx->sx_mem != 0 && ctx->sx_mem < need) {
		snprintf(err, errlen,
		    "pipe-chain: the chains need about %" PRIu64
		    " MiB of memory, --mem gives %" PRIu64
		    " MiB (omit --mem to get what they need)",
		    need >> 20, ctx->sx_mem >> 20);
		return (1);
	}
	return (0);
}

static void
pc_run(struct scen_ctx *ctx)
{
	int nprocs = scen_opt_count(ctx, "procs");
	int nvar = scen_opt_count(ctx, "variants");
	uint32_t msg = (uint32_t)scen_opt(ctx, "msg", 0);
	uint64_t budget = (uint64_t)scen_opt(ctx, "budget", 0) * 1000000000ull;
	uint64_t need = pc_pages_needed(ctx), have = vm_page_count_total();
	struct pc_row *rows;
	int i, j, nrows = 0;

	if (need > have) {
		fprintf(stderr,
		    "pipe-chain: the chains need about %" PRIu64
		    " MiB of memory, the machine has %" PRIu64
		    " MiB: pass --mem %" PRIu64 "m or more\n",
		    need * PAGE_SIZE >> 20, have * PAGE_SIZE >> 20,
		    need * PAGE_SIZE >> 20);
		ctx->sx_failed = 1;
		return;
	}
	rows = calloc((size_t)(nprocs * nvar), sizeof(*rows));
	if (rows == NULL) {
		ctx->sx_failed = 1;
		return;
	}
	for (j = 0; j < nvar; j++)
		for (i = 0; i < nprocs; i++) {
			if (!pc_one(ctx,
				&pc_variants[scen_opt(ctx, "variants", j)],
				(uint64_t)scen_opt(ctx, "procs", i), msg,
				budget, &rows[nrows]))
				goto out;
			pc_record(ctx, &rows[nrows]);
			nrows++;
		}
out:
	scen_progress_end(ctx);
	fprintf(ctx->sx_out, "\n%-8s %8s %9s %12s %12s %9s %10s %11s %7s %9s\n",
	    "variant", "procs", "setup_ms", "teardown_ms", "wakeups", "ipis",
	    "shootdowns", "pages_freed", "leaked", "mem/proc");
	for (i = 0; i < nrows; i++)
		pc_print_row(ctx->sx_out, &rows[i]);
	pc_ratios(ctx, rows, nrows);
	pc_plot(ctx, rows, nrows);
	free(rows);
}

const struct scenario scen_pipechain = {
	.sc_name = "pipe-chain",
	.sc_descr = "N processes chained by N pipes pass a token, then all "
		    "are killed at once: teardown time, wakeups, IPIs per "
		    "variant (DragonFly 5eab490e)",
	.sc_opts = {
	    { "procs", "processes in the chain (a list)", "1000,10000", 1,
		4000000, true, NULL },
	    { "variants", "before, after, and each change alone: qmtx, "
			  "bulk, grow",
		"before,after,qmtx,bulk,grow", 0, 0, true, pc_variant_words },
	    { "budget", "seconds a variant's setup or teardown may take "
			"before it is reported as past its budget",
		"120", 1, 86400, false, NULL },
	    { "msg", "bytes of the token each link passes on", "64", 1,
		PC_MAXMSG, false, NULL },
	},
	.sc_nopts = 4,
	.sc_tunables = NULL,
	.sc_check = pc_check,
	.sc_physmem = pc_physmem,
	.sc_run = pc_run,
	.sc_knobs = {
	    { "kern.pipe.teardown_lock", "variants" },
	    { "vm.kmem.bulk_remove", "variants" },
	    { "uma.grow_pages", "variants" },
	    { NULL, NULL },
	},
};
