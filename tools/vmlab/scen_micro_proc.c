/*
 * scen_micro_proc.c: the process layer's rows of the micro scenario.
 *
 *	- pipe write+read of 1 byte between two processes bound to one
 *	  CPU: a parent and its child bounce a byte over two pipes; each
 *	  transfer is one write by one process and one read by the other
 *	  (and a switch between them);
 *	- fork+exit+wait: a parent forks a child that exits at once, and
 *	  reaps it.
 * The kernel side times the whole run, from spawn to reap, over enough
 * operations that starting and reaping the parent are noise.
 */
#include "md/md.h"
#include "proc/proc.h"
#include "proc/syscall.h"
#include "vm/vm_map.h"
#include "vm/vm_uaccess.h"
#include "vmlab_cli.h"

#include <stdio.h>

#define MICRO_PROC_RUNS 3

/*
 * The descriptors at user address u: [0] a's read end, [1] a's write end
 * (parent -> child), [2] b's read end, [3] b's write end (child ->
 * parent); the byte at u + 64.
 */
static int
micro_pipe_fd(vm_offset_t u, int i)
{
	uint64_t v;

	return (uload(u + 4 * (vm_offset_t)i, 4, &v) == 0 ? (int)v : -1);
}

/* The child: echoes until EOF. */
static int
micro_pipe_child(intptr_t arg)
{
	vm_offset_t u = (vm_offset_t)arg, buf = u + 64;
	int r = micro_pipe_fd(u, 0), w = micro_pipe_fd(u, 3);

	/* The parent's ends: with them open here, EOF would never come. */
	(void)u_close(micro_pipe_fd(u, 1));
	(void)u_close(micro_pipe_fd(u, 2));
	for (;;) {
		if (u_read(r, buf, 1) != 1)
			return (0);
		if (u_write(w, buf, 1) != 1)
			return (1);
	}
}

/* The parent: arg round trips of one byte. */
static int
micro_pipe_parent(intptr_t arg)
{
	int64_t va = u_mmap(0, PAGE_SIZE, VM_PROT_RW, MAP_ANON | MAP_PRIVATE);
	vm_offset_t u = (vm_offset_t)va, buf = u + 64;
	int64_t i;
	int pid, w, r;

	if (va < 0 || u_pipe(u, 0) != 0 || u_pipe(u + 8, 0) != 0)
		return (1);
	if ((pid = u_fork(micro_pipe_child, (intptr_t)u)) < 0)
		return (2);
	w = micro_pipe_fd(u, 1);
	r = micro_pipe_fd(u, 2);
	(void)u_close(micro_pipe_fd(u, 0));
	(void)u_close(micro_pipe_fd(u, 3));
	for (i = 0; i < arg; i++)
		if (u_write(w, buf, 1) != 1 || u_read(r, buf, 1) != 1)
			return (3);
	(void)u_close(w); /* EOF: the child ends */
	return (u_wait(pid, 0, 0) == pid ? 0 : 4);
}

static int
micro_fork_child(intptr_t arg)
{
	(void)arg;
	return (0);
}

static int
micro_fork_parent(intptr_t arg)
{
	int64_t i;
	int pid;

	for (i = 0; i < arg; i++) {
		if ((pid = u_fork(micro_fork_child, 0)) < 0)
			return (1);
		if (u_wait(pid, 0, 0) != pid)
			return (2);
	}
	return (0);
}

/* ns per op of `ops' operations of main(arg) on CPU 0; 0 on failure. */
static double
micro_proc_time(
    struct scen_ctx *ctx, int (*main)(intptr_t), intptr_t arg, uint64_t ops)
{
	double v[MICRO_PROC_RUNS];
	uint64_t t0;
	int pid, status, r;

	for (r = 0; r < MICRO_PROC_RUNS; r++) {
		t0 = md_nanotime();
		if (proc_spawn_cpu("micro", 0, main, arg, &pid) != 0 ||
		    proc_wait(pid, &status, 0) != pid || status != 0) {
			fprintf(stderr, "micro: a process row failed\n");
			ctx->sx_failed = 1;
			return (0);
		}
		v[r] = (double)(md_nanotime() - t0) / (double)ops;
	}
	return (micro_median(v, MICRO_PROC_RUNS));
}

void
micro_proc_rows(struct scen_ctx *ctx, uint64_t iters)
{
	uint64_t trips = iters / 20 > 0 ? iters / 20 : 1;
	uint64_t forks = iters / 1000 > 0 ? iters / 1000 : 1;
	double ns;

	ns =
	    micro_proc_time(ctx, micro_pipe_parent, (intptr_t)trips, 2 * trips);
	fprintf(ctx->sx_out, "  %-40s %10.1f\n",
	    "pipe write+read 1 byte, 2 procs, 1 CPU", ns);
	report_result(ctx, "pipe_1byte_same_cpu", ns, "ns");
	ns = micro_proc_time(ctx, micro_fork_parent, (intptr_t)forks, forks);
	fprintf(ctx->sx_out, "  %-40s %10.1f\n", "fork+exit+wait", ns);
	report_result(ctx, "fork_exit_wait", ns, "ns");
}
