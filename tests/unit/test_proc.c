/*
 * test_proc.c: processes and pipes.
 *
 *	- fork/wait: statuses, getpid/getppid, copy-on-write memory after
 *	  fork, orphans reaped by proc0's reaper;
 *	- exec of a file-backed image: text read from the file, data
 *	  private, a bad image name refused;
 *	- kill: a reader blocked on an empty pipe is woken and exits killed;
 *	  a writer blocked on a full pipe too; bad kills refused (unknown
 *	  pid, oneself, a bad signal, proc0);
 *	- pipes: EOF after the writer closes, EPIPE after the reader closes,
 *	  EAGAIN on non-blocking ends, partial writes, EFAULT for a buffer
 *	  that runs off the mapping, EBADF on closed or wrong-way
 *	  descriptors, a long stream with a checksum;
 *	- kern.maxproc: fork fails with EAGAIN and nothing leaks;
 *	- after each case: no process, file, pipe, pv entry or kmem page is
 *	  left, and the checkers find nothing.
 */
#include "kern/sleepq.h"
#include "kern/thread.h"
#include "kern/vmem.h"
#include "pmap/pmap.h"
#include "proc/file.h"
#include "proc/pipe.h"
#include "proc/proc.h"
#include "proc/syscall.h"
#include "vm/vm_kern.h"
#include "vm/vm_map.h"
#include "vm/vm_uaccess.h"
#include "vm_test.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#define TP_MEM (64ull << 20)

/* A user buffer of n pages (anonymous, private). */
static vm_offset_t
tp_ubuf(size_t npages)
{
	int64_t va =
	    u_mmap(0, ptoa(npages), VM_PROT_RW, MAP_ANON | MAP_PRIVATE);

	return (va < 0 ? 0 : (vm_offset_t)va);
}

static uint64_t
tp_load(vm_offset_t va)
{
	uint64_t v = ~0ull;

	(void)uload(va, 8, &v);
	return (v);
}

/* What every case leaves: nothing. */
struct tp_base {
	uint64_t kmem_pages;
	uint64_t kva;
	uint64_t pages;
};

static void
tp_base_take(struct tp_base *b)
{
	b->kmem_pages = vm_test_stat("vm.stats.kmem.pages");
	vmem_qcache_drain(kernel_arena);
	b->kva = vmem_size(kernel_arena, VMEM_ALLOC);
	b->pages = proc_pages_in_use();
}

static void
tp_check_clean(const struct tp_base *b)
{
	struct proc_stats ps;
	struct pipe_stats pst;
	int n;

	proc_stats(&ps);
	CHECKF(ps.nprocs == 0, "%ju processes left", (uintmax_t)ps.nprocs);
	CHECKF(file_count() == 0, "%ju files left", (uintmax_t)file_count());
	pipe_drain();
	pipe_stats(&pst);
	CHECKF(pst.live == 0, "%ju pipes left", (uintmax_t)pst.live);
	CHECKF(vm_test_stat("vm.pmap.pv_entries") == 0, "%ju pv entries left",
	    (uintmax_t)vm_test_stat("vm.pmap.pv_entries"));
	CHECKF(vm_test_stat("vm.stats.kmem.pages") == b->kmem_pages,
	    "kmem pages %ju, %ju before",
	    (uintmax_t)vm_test_stat("vm.stats.kmem.pages"),
	    (uintmax_t)b->kmem_pages);
	vmem_qcache_drain(kernel_arena);
	CHECKF(vmem_size(kernel_arena, VMEM_ALLOC) == b->kva,
	    "kernel KVA in use %ju, %ju before",
	    (uintmax_t)vmem_size(kernel_arena, VMEM_ALLOC), (uintmax_t)b->kva);
	CHECKF(proc_pages_in_use() == b->pages, "pages in use %ju, %ju before",
	    (uintmax_t)proc_pages_in_use(), (uintmax_t)b->pages);
	n = proc_check();
	CHECKF(n == 0, "proc_check: %d violations", n);
	n = pmap_check(kernel_pmap);
	CHECKF(n == 0, "pmap_check(kernel): %d violations", n);
}

/* Runs `main' as a spawned process and returns its wait status. */
static int
tp_spawn_wait(int (*main)(intptr_t), intptr_t arg)
{
	int pid = 0, status = -1, error;

	error = proc_spawn("test", main, arg, &pid);
	CHECKF(error == 0, "proc_spawn: %d", error);
	if (error != 0)
		return (-1);
	CHECK(proc_wait(pid, &status, 0) == pid);
	return (status);
}

/*
 * fork and wait.
 */
static int
tp_child_cow(intptr_t arg)
{
	vm_offset_t va = (vm_offset_t)arg;
	uint64_t v = tp_load(va);

	/* The child sees the parent's value, then changes its own copy. */
	(void)ustore(va, 8, 1000);
	if (u_getppid() <= 0)
		return (99);
	return ((int)(v & 0x7f));
}

static int
tp_parent_fork(intptr_t arg)
{
	vm_offset_t va = tp_ubuf(1), st = va + 64;
	int i, pid, pids[3], status, bad = 0;

	(void)arg;
	if (va == 0)
		return (1);
	for (i = 0; i < 3; i++) {
		(void)ustore(va, 8, (uint64_t)(10 + i));
		pids[i] = u_fork(tp_child_cow, (intptr_t)va);
		if (pids[i] <= 0)
			return (2);
	}
	for (i = 0; i < 3; i++) {
		pid = u_wait(-1, st, 0);
		if (pid <= 0)
			return (3);
		status = (int)tp_load(st);
		if (!WIFEXITED(status))
			bad++;
		/* Child i saw 10 + i. */
		if (pid == pids[0] && WEXITSTATUS(status) != 10)
			bad++;
		if (pid == pids[2] && WEXITSTATUS(status) != 12)
			bad++;
	}
	if (tp_load(va) != 12) /* the children's stores stayed theirs */
		bad++;
	if (u_wait(-1, 0, 0) != -ECHILD || u_wait(-1, 0, WNOHANG) != -ECHILD)
		bad++;
	if (u_wait(0, 0, 0) != -EINVAL)
		bad++;
	return (bad == 0 ? 0 : 4);
}

/* The grandchildren outlive their parent: the reaper takes them. */
static int
tp_grandchild(intptr_t arg)
{
	(void)arg;
	return (7);
}

static int
tp_orphaner(intptr_t arg)
{
	int i;

	for (i = 0; i < (int)arg; i++)
		if (u_fork(tp_grandchild, 0) <= 0)
			return (1);
	return (0);
}

static void
tp_fork_fn(void *arg)
{
	struct tp_base b;
	struct proc_stats ps;
	int status, i;

	(void)arg;
	tp_base_take(&b);
	status = tp_spawn_wait(tp_parent_fork, 0);
	CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "fork parent status %#x", status);
	status = tp_spawn_wait(tp_orphaner, 20);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	for (i = 0; i < 1000; i++) {
		proc_stats(&ps);
		if (ps.nprocs == 0)
			break;
		pause_ns("orphans", 1000000);
	}
	CHECK(proc_wait(-1, NULL, 0) == -ECHILD);
	CHECK(proc_wait(12345, NULL, 0) == -ECHILD);
	tp_check_clean(&b);
}

static void
test_fork(void)
{
	vm_test_boot(2, 1, TP_MEM, NULL);
	test_run(tp_fork_fn, NULL);
	test_shutdown();
}

/*
 * exec.
 */
#define TP_TEXT 4
#define TP_TEXT_ADDR ((vm_offset_t)0x400000)
#define TP_DATA 2

static uint64_t
tp_tag(uint64_t page)
{
	return (0x5eed0000ull + page);
}

static int
tp_image_main(intptr_t arg)
{
	vm_offset_t text = TP_TEXT_ADDR, data = text + ptoa(TP_TEXT);
	int bad = 0, i;

	for (i = 0; i < TP_TEXT + TP_DATA; i++)
		bad += tp_load(text + ptoa(i)) != tp_tag((uint64_t)i);
	bad += ustore(text, 8, 1) != EFAULT;
	bad += ustore(data, 8, (uint64_t)arg) != 0;
	bad += tp_load(data) != (uint64_t)arg;
	return (bad == 0 ? (int)arg : 100 + bad);
}

static int
tp_execer(intptr_t arg)
{
	if (u_exec("no-such-image", 0) != -ENOENT)
		return (1);
	(void)u_exec("tp-image", arg);
	return (2); /* not reached */
}

static void
tp_exec_fn(void *arg)
{
	const char *path = arg;
	struct vm_image layout = { .vi_text_pages = TP_TEXT,
		.vi_data_pages = TP_DATA,
		.vi_bss_pages = 1,
		.vi_stack_pages = 4,
		.vi_text_addr = TP_TEXT_ADDR };
	struct tp_base b;
	char err[256];
	int error, status;

	tp_base_take(&b);
	error = proc_image_register(
	    "tp-image", path, &layout, tp_image_main, err, sizeof(err));
	CHECKF(error == 0, "register: %s", err);
	CHECK(proc_image_register("tp-image", path, &layout, tp_image_main, err,
		  sizeof(err)) == EEXIST);
	status = tp_spawn_wait(tp_execer, 42);
	CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 42,
	    "exec status %#x", status);
	CHECK(proc_image_unregister("tp-image") == 0);
	CHECK(proc_image_unregister("tp-image") == ENOENT);
	tp_check_clean(&b);
}

static void
test_exec(void)
{
	char path[300];
	const char *dir = getenv("TMPDIR");
	uint64_t page[PAGE_SIZE / 8];
	FILE *f;
	int i;

	snprintf(path, sizeof(path), "%s/vmlab-proc-%ld-%llx",
	    dir != NULL ? dir : "/tmp", (long)getpid(),
	    (unsigned long long)test_seed());
	f = fopen(path, "w+b");
	CHECKF(f != NULL, "cannot create %s", path);
	if (f == NULL)
		return;
	for (i = 0; i < TP_TEXT + TP_DATA; i++) {
		memset(page, 0, sizeof(page));
		page[0] = tp_tag((uint64_t)i);
		CHECK(fwrite(page, sizeof(page), 1, f) == 1);
	}
	fclose(f);
	vm_test_boot(2, 1, TP_MEM, NULL);
	test_run(tp_exec_fn, path);
	test_shutdown();
	remove(path);
}

/*
 * Pipes.
 */
static int
tp_pipe_basics(intptr_t arg)
{
	vm_offset_t u = tp_ubuf(8), fds = u, buf = u + PAGE_SIZE;
	int64_t rv;
	int r, w, bad = 0;

	(void)arg;
	if (u == 0 || u_pipe(fds, 0) != 0)
		return (1);
	r = (int)(tp_load(fds) & 0xffffffff);
	w = (int)(tp_load(fds) >> 32);
	/* Wrong way, bad descriptors. */
	bad += u_read(w, buf, 1) != -EBADF;
	bad += u_write(r, buf, 1) != -EBADF;
	bad += u_read(77, buf, 1) != -EBADF;
	bad += u_close(77) != -EBADF;
	/* Bytes through, then EOF. */
	(void)ustore(buf, 8, 0x1122334455667788ull);
	bad += u_write(w, buf, 8) != 8;
	bad += u_read(r, buf + 64, 64) != 8; /* short read, no wait */
	bad += tp_load(buf + 64) != 0x1122334455667788ull;
	/* A buffer that runs off the mapping: EFAULT, nothing moved. */
	bad += u_write(w, u + ptoa(8) - 8, 16) != -EFAULT;
	/* Non-blocking: EAGAIN on empty. */
	bad += u_fcntl_nonblock(r, 1) != 0;
	bad += u_read(r, buf, 8) != -EAGAIN;
	bad += u_fcntl_nonblock(r, 0) != 0;
	bad += u_close(w) != 0;
	bad += u_read(r, buf, 8) != 0; /* EOF */
	bad += u_close(r) != 0;
	bad += u_read(r, buf, 8) != -EBADF; /* a closed pipe */
	/* EPIPE once the read end is closed; partial non-blocking write. */
	if (u_pipe(fds, O_NONBLOCK) != 0)
		return (2);
	r = (int)(tp_load(fds) & 0xffffffff);
	w = (int)(tp_load(fds) >> 32);
	rv = u_write(w, buf, ptoa(7)); /* 28 KiB into a 16 KiB pipe */
	bad += rv != 16384;
	bad += u_write(w, buf, 1) != -EAGAIN;
	bad += u_close(r) != 0;
	bad += u_write(w, buf, 1) != -EPIPE;
	bad += u_close(w) != 0;
	bad += u_pipe(u + ptoa(8), 0) != -EFAULT; /* fds unwritable */
	bad += u_pipe(fds, 0x100) != -EINVAL;
	return (bad == 0 ? 0 : 10 + bad);
}

/* A reader or writer that blocks forever unless killed. */
static int
tp_blocker(intptr_t arg)
{
	vm_offset_t u = tp_ubuf(8), fds = u, buf = u + PAGE_SIZE;
	int r, w;

	if (u == 0 || u_pipe(fds, 0) != 0)
		return (1);
	r = (int)(tp_load(fds) & 0xffffffff);
	w = (int)(tp_load(fds) >> 32);
	if (arg == 0)
		(void)u_read(r, buf, 8); /* nobody writes */
	else
		(void)u_write(w, buf, ptoa(7)); /* nobody reads */
	return (3);				/* not reached: killed */
}

static int
tp_killer(intptr_t arg)
{
	int bad = 0;

	(void)arg;
	bad += u_kill(u_getpid(), SIGKILL) != -EINVAL; /* oneself */
	bad += u_kill(999999, SIGKILL) != -ESRCH;
	bad += u_kill(1, 15) != -EINVAL;
	bad += u_kill(0, SIGKILL) != -EPERM;
	return (bad);
}

static void
tp_pipe_fn(void *arg)
{
	struct tp_base b;
	int pid, status, i;

	(void)arg;
	tp_base_take(&b);
	status = tp_spawn_wait(tp_pipe_basics, 0);
	CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "pipe basics status %#x", status);
	for (i = 0; i < 2; i++) {
		CHECK(proc_spawn("blocker", tp_blocker, i, &pid) == 0);
		pause_ns("block", 2000000);
		CHECK(proc_wait(pid, &status, WNOHANG) == 0);
		CHECK(proc_kill(pid, SIGKILL) == 0);
		CHECK(proc_wait(pid, &status, 0) == pid);
		CHECKF(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
		    "blocked %s exited with %#x", i == 0 ? "reader" : "writer",
		    status);
		CHECK(proc_kill(pid, SIGKILL) == ESRCH);
	}
	status = tp_spawn_wait(tp_killer, 0);
	CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "killer status %#x", status);
	CHECK(proc_kill(0, SIGKILL) == EPERM);
	tp_check_clean(&b);
}

static void
test_pipe(void)
{
	vm_test_boot(2, 1, TP_MEM, NULL);
	test_run(tp_pipe_fn, NULL);
	test_shutdown();
}

/*
 * A stream: the writer sends `arg' bytes of a seeded sequence in odd-sized
 * writes, the reader checks every byte and returns 0 if all arrived.
 */
#define TP_CHUNK 5000

static uint8_t
tp_byte(uint64_t i)
{
	uint64_t x = i * 0x9e3779b97f4a7c15ull;

	return ((uint8_t)(x >> 56));
}

static int
tp_stream_reader(intptr_t arg)
{
	vm_offset_t u = tp_ubuf(4), buf = u + PAGE_SIZE;
	uint8_t kb[TP_CHUNK];
	uint64_t got = 0, total = (uint64_t)arg >> 16;
	int64_t n, k;
	int r = (int)(arg & 0xff);

	/* The inherited write end would keep EOF away. */
	if (u == 0 || u_close((int)((arg >> 8) & 0xff)) != 0)
		return (1);
	for (;;) {
		n = u_read(r, buf, TP_CHUNK);
		if (n < 0)
			return (2);
		if (n == 0)
			break;
		if (copyin(buf, kb, (size_t)n) != 0)
			return (3);
		for (k = 0; k < n; k++)
			if (kb[k] != tp_byte(got + (uint64_t)k))
				return (4);
		got += (uint64_t)n;
	}
	return (got == total ? 0 : 5);
}

static int
tp_stream(intptr_t arg)
{
	vm_offset_t u = tp_ubuf(4), fds = u, buf = u + PAGE_SIZE;
	uint64_t total = (uint64_t)arg, sent = 0, n, k;
	uint8_t kb[TP_CHUNK + 7];
	int r, w, pid, status;

	if (u == 0 || u_pipe(fds, 0) != 0)
		return (1);
	r = (int)(tp_load(fds) & 0xffffffff);
	w = (int)(tp_load(fds) >> 32);
	pid = u_fork(tp_stream_reader,
	    (intptr_t)(total << 16 | (uint64_t)w << 8 | (uint64_t)r));
	if (pid <= 0)
		return (2);
	(void)u_close(r);
	while (sent < total) {
		n = TP_CHUNK + (sent % 7);
		if (n > total - sent)
			n = total - sent;
		for (k = 0; k < n; k++)
			kb[k] = tp_byte(sent + k);
		if (copyout(kb, buf, n) != 0 ||
		    u_write(w, buf, n) != (int64_t)n)
			return (3);
		sent += n;
	}
	(void)u_close(w);
	if (u_wait(pid, fds, 0) != pid)
		return (4);
	status = (int)tp_load(fds);
	return (WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 5);
}

static void
tp_stream_fn(void *arg)
{
	struct tp_base b;
	uint64_t total = *(uint64_t *)arg;
	int status;

	tp_base_take(&b);
	status = tp_spawn_wait(tp_stream, (intptr_t)total);
	CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "stream of %ju bytes: status %#x", (uintmax_t)total, status);
	tp_check_clean(&b);
}

static void
test_stream(void)
{
	/*
	 * 1 GiB in a release build; 32 MiB in a debug build (whose adaptive
	 * spinning and lock checks make a pipe ~20x slower), 8 MiB on the
	 * simulator and under the sanitizers.  VMLAB_TEST_STREAM_MB sets it.
	 */
	const char *mb = getenv("VMLAB_TEST_STREAM_MB");
	uint64_t total;

#ifdef VM_INVARIANTS
	total = 32ull << 20;
#else
	total = 1ull << 30;
#endif
	if (test_sim() || test_sanitizer())
		total = 8ull << 20;
	if (mb != NULL)
		total = strtoull(mb, NULL, 0) << 20;
	vm_test_boot(2, 1, TP_MEM, NULL);
	test_run(tp_stream_fn, &total);
	test_shutdown();
}

/*
 * kern.maxproc.
 */
static int
tp_idle(intptr_t arg)
{
	vm_offset_t u = tp_ubuf(1);
	int r;

	(void)arg;
	/* Sleep in a pipe read until killed. */
	if (u == 0 || u_pipe(u, 0) != 0)
		return (1);
	r = (int)(tp_load(u) & 0xffffffff);
	(void)u_read(r, u + 64, 8);
	return (2);
}

static int
tp_forker(intptr_t arg)
{
	int i, n = 0, pid;

	for (i = 0; i < (int)arg + 2; i++) {
		pid = u_fork(tp_idle, 0);
		if (pid == -EAGAIN)
			break;
		if (pid <= 0)
			return (100);
		n++;
	}
	return (n);
}

static void
tp_maxproc_fn(void *arg)
{
	struct tp_base b;
	struct proc_stats ps;
	int status, i, pid;

	(void)arg;
	tp_base_take(&b);
	/* kern.maxproc is 8: the forker and 7 children. */
	CHECK(proc_spawn("forker", tp_forker, 8, &pid) == 0);
	CHECK(proc_wait(pid, &status, 0) == pid);
	CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 7,
	    "forker made %d children (status %#x), expected 7",
	    WEXITSTATUS(status), status);
	/* Its 7 children live on: one more fits, then none. */
	CHECK(proc_spawn("one-more", tp_idle, 0, &i) == 0);
	CHECK(proc_spawn("one-too-many", tp_idle, 0, &i) == EAGAIN);
	/* Its children are orphans now; kill them, the reaper reaps. */
	for (pid = 1; pid < 100; pid++)
		(void)proc_kill(pid, SIGKILL);
	for (i = 0; i < 2000; i++) {
		proc_stats(&ps);
		if (ps.nprocs == 0)
			break;
		pause_ns("maxproc", 1000000);
	}
	while (proc_wait(-1, NULL, 0) > 0)
		;
	tp_check_clean(&b);
}

static void
test_maxproc(void)
{
	static const char *const tun[] = { "kern.maxproc=8", NULL };

	vm_test_boot(2, 1, TP_MEM, tun);
	test_run(tp_maxproc_fn, NULL);
	test_shutdown();
}

/*
 * CPU placement: proc_spawn_cpu() binds, fork inherits it; proc_spawn()
 * spreads processes over the CPUs.
 */
static int
tp_where(intptr_t arg)
{
	(void)arg;
	return (curcpu);
}

static int
tp_where_child(intptr_t arg)
{
	int pid = u_fork(tp_where, 0);
	vm_offset_t u = tp_ubuf(1);

	(void)arg;
	if (pid <= 0 || u == 0 || u_wait(pid, u, 0) != pid)
		return (100);
	/* The child's CPU, and whether it ran where its parent runs. */
	return (WEXITSTATUS((int)tp_load(u)) == curcpu ? curcpu : 101);
}

static void
tp_cpu_fn(void *arg)
{
	int cpus[4] = { 0 }, i, pid, status;

	(void)arg;
	CHECK(proc_spawn_cpu("bound", 1, tp_where_child, 0, &pid) == 0);
	CHECK(proc_wait(pid, &status, 0) == pid);
	CHECKF(WEXITSTATUS(status) == 1,
	    "bound to CPU 1, the child ran on %d (status %#x)",
	    WEXITSTATUS(status), status);
	CHECK(proc_spawn_cpu("bad", md_ncpus(), tp_where, 0, &pid) == EINVAL);
	CHECK(proc_spawn_cpu("bad", -2, tp_where, 0, &pid) == EINVAL);
	for (i = 0; i < 8; i++) {
		CHECK(proc_spawn("free", tp_where, 0, &pid) == 0);
		CHECK(proc_wait(pid, &status, 0) == pid);
		cpus[WEXITSTATUS(status) & 3]++;
	}
	CHECKF(cpus[0] > 0 && cpus[1] > 0,
	    "8 unbound processes ran on CPU 0 %d times, CPU 1 %d times",
	    cpus[0], cpus[1]);
}

static void
test_cpu(void)
{
	vm_test_boot(2, 1, TP_MEM, NULL);
	test_run(tp_cpu_fn, NULL);
	test_shutdown();
}

static const struct test_case cases[] = {
	TEST_CASE(test_cpu),
	TEST_CASE(test_fork),
	TEST_CASE(test_exec),
	TEST_CASE(test_pipe),
	TEST_CASE(test_stream),
	TEST_CASE(test_maxproc),
};

int
main(int argc, char **argv)
{
	return (test_main(argc, argv, cases, TEST_NCASES(cases)));
}
