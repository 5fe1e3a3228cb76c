/*
 * test_vfs.c: the file layer (vfs.h).
 *
 *	- read of a registered file: every byte, in chunks that cross page
 *	  boundaries, 0 at and past EOF; lseek (SET, CUR, END, bad ones),
 *	  fsize;
 *	- every errno of vfs.h: ENOENT, EEXIST, EROFS, ENAMETOOLONG, EINVAL,
 *	  EMFILE, ESPIPE, EACCES, ENODEV (and EBADF, EFAULT, EFBIG), and
 *	  vfs_file_register()'s;
 *	- tmpfs: create, write, read back, a hole reads as zeros, O_EXCL,
 *	  O_TRUNC, unlink with the file still open (the data stays until
 *	  the close), kern.tmpfs.maxfilesize;
 *	- mmap: MAP_SHARED read of a registered file equals the file,
 *	  MAP_PRIVATE writes leave the file's pages alone, a shared tmpfs
 *	  mapping and read()/write() see each other, an unlinked, closed
 *	  but mapped tmpfs file stays readable until munmap, and what a
 *	  mapping wrote past the end reads as zeros after a write grows the
 *	  file over it;
 *	- fork: children read one file through their own descriptors and
 *	  share one descriptor's offset (every byte read exactly once);
 *	- after each case: no process, file, tmpfs node, pv entry or page
 *	  left (the registered files' cached pages are warmed in first),
 *	  and vfs_check() and proc_check() find nothing.
 */
#include "kern/thread.h"
#include "proc/file.h"
#include "proc/proc.h"
#include "proc/syscall.h"
#include "proc/vfs.h"
#include "vm/vm_map.h"
#include "vm/vm_uaccess.h"
#include "vm_test.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TV_MEM (64ull << 20)
/* The registered file: 3 pages and 100 bytes. */
#define TV_FSIZE (3 * PAGE_SIZE + 100)
#define TV_FILE "/data/f"
#define TV_CHUNK 1000 /* reads cross page boundaries */

static char tv_path[300];

/* Byte i of the registered file. */
static uint8_t
tv_byte(uint64_t i)
{
	return ((uint8_t)(i * 31 + (i >> 9) + 7));
}

/* A failed expectation of a program: counted, and its line printed. */
#define TV_BAD(e) tv_bad((e) != 0, __LINE__)

static int
tv_bad(bool failed, int line)
{
	if (failed)
		printf(
		    "  test_vfs.c:%d: a program's expectation failed\n", line);
	return (failed ? 1 : 0);
}

/* A user buffer of n pages (anonymous, private). */
static vm_offset_t
tv_ubuf(size_t npages)
{
	int64_t va =
	    u_mmap(0, ptoa(npages), VM_PROT_RW, MAP_ANON | MAP_PRIVATE);

	return (va < 0 ? 0 : (vm_offset_t)va);
}

/* Whether n bytes at user address va are the file's from `off'. */
static bool
tv_same(vm_offset_t va, uint64_t off, size_t n)
{
	uint8_t b[256];
	size_t i, k;

	for (; n > 0; n -= k, va += k, off += k) {
		k = n < sizeof(b) ? n : sizeof(b);
		if (copyin(va, b, k) != 0)
			return (false);
		for (i = 0; i < k; i++)
			if (b[i] != tv_byte(off + i))
				return (false);
	}
	return (true);
}

/* Fills n bytes at va with the file's bytes from `off' (+ salt). */
static int
tv_fill(vm_offset_t va, uint64_t off, size_t n, uint8_t salt)
{
	uint8_t b[256];
	size_t i, k;
	int error;

	for (; n > 0; n -= k, va += k, off += k) {
		k = n < sizeof(b) ? n : sizeof(b);
		for (i = 0; i < k; i++)
			b[i] = (uint8_t)(tv_byte(off + i) + salt);
		if ((error = copyout(b, va, k)) != 0)
			return (error);
	}
	return (0);
}

static bool
tv_zero(vm_offset_t va, size_t n)
{
	uint8_t b[256];
	size_t i, k;

	for (; n > 0; n -= k, va += k) {
		k = n < sizeof(b) ? n : sizeof(b);
		if (copyin(va, b, k) != 0)
			return (false);
		for (i = 0; i < k; i++)
			if (b[i] != 0)
				return (false);
	}
	return (true);
}

/* Whether n bytes at user addresses a and b are equal. */
static bool
tv_ucmp(vm_offset_t a, vm_offset_t b, size_t n)
{
	uint8_t x[256], y[256];
	size_t k;

	for (; n > 0; n -= k, a += k, b += k) {
		k = n < sizeof(x) ? n : sizeof(x);
		if (copyin(a, x, k) != 0 || copyin(b, y, k) != 0 ||
		    memcmp(x, y, k) != 0)
			return (false);
	}
	return (true);
}

static uint64_t
tv_load(vm_offset_t va)
{
	uint64_t v = ~0ull;

	(void)uload(va, 8, &v);
	return (v);
}

/*
 * The machine of a case: the registered file, warmed into its object
 * (its pages stay cached until shutdown), then the baseline.
 */
struct tv_base {
	uint64_t pages;
};

static int
tv_warm(intptr_t arg)
{
	vm_offset_t u = tv_ubuf(4);
	int fd = u_open(TV_FILE, O_RDONLY);

	(void)arg;
	if (u == 0 || fd < 0)
		return (1);
	if (u_read(fd, u, ptoa(4)) != TV_FSIZE)
		return (2);
	return (u_close(fd) == 0 ? 0 : 3);
}

static int
tv_spawn_wait(int (*main)(intptr_t), intptr_t arg)
{
	int pid = 0, status = -1, error;

	error = proc_spawn("test", main, arg, &pid);
	CHECKF(error == 0, "proc_spawn: %d", error);
	if (error != 0)
		return (-1);
	CHECK(proc_wait(pid, &status, 0) == pid);
	return (status);
}

/* Runs main(arg) as a process and checks that it exited with 0. */
#define TV_RUN(main, arg)                                                      \
	do {                                                                   \
		int st_ = tv_spawn_wait((main), (arg));                        \
		CHECKF(WIFEXITED(st_) && WEXITSTATUS(st_) == 0,                \
		    "%s: status %#x (exit %d)", #main, st_, WEXITSTATUS(st_)); \
	} while (0)

static void
tv_setup(struct tv_base *b)
{
	char err[256];
	int error;

	error = vfs_file_register(TV_FILE, tv_path, err, sizeof(err));
	CHECKF(error == 0, "vfs_file_register: %s", err);
	TV_RUN(tv_warm, 0);
	b->pages = proc_pages_in_use();
}

static void
tv_check_clean(const struct tv_base *b)
{
	struct proc_stats ps;
	struct vfs_stats vs;
	int n;

	proc_stats(&ps);
	CHECKF(ps.nprocs == 0, "%ju processes left", (uintmax_t)ps.nprocs);
	CHECKF(file_count() == 0, "%ju files left", (uintmax_t)file_count());
	vfs_stats(&vs);
	CHECKF(vs.tmp_nodes == 0 && vs.tmp_pages == 0,
	    "%ju tmpfs nodes, %ju pages left", (uintmax_t)vs.tmp_nodes,
	    (uintmax_t)vs.tmp_pages);
	CHECKF(vs.files == 1, "%ju files registered", (uintmax_t)vs.files);
	CHECKF(vm_test_stat("vm.pmap.pv_entries") == 0, "%ju pv entries left",
	    (uintmax_t)vm_test_stat("vm.pmap.pv_entries"));
	CHECKF(proc_pages_in_use() == b->pages, "pages in use %ju, %ju before",
	    (uintmax_t)proc_pages_in_use(), (uintmax_t)b->pages);
	n = vfs_check();
	CHECKF(n == 0, "vfs_check: %d violations", n);
	n = proc_check();
	CHECKF(n == 0, "proc_check: %d violations", n);
}

static void
tv_case(void (*fn)(void *), const char *const *tunables)
{
	vm_test_boot(2, 1, TV_MEM, tunables);
	test_run(fn, NULL);
	test_shutdown();
}

/*
 * Read, lseek, fsize.
 */
static int
tv_reader(intptr_t arg)
{
	vm_offset_t u = tv_ubuf(6);
	uint64_t off = 0;
	int64_t n;
	int fd, bad = 0;

	(void)arg;
	if (u == 0 || (fd = u_open(TV_FILE, O_RDONLY)) < 0)
		return (1);
	if (u_fsize(fd) != TV_FSIZE)
		return (2);
	/* In chunks that cross the page boundaries, to the end. */
	while ((n = u_read(fd, u, TV_CHUNK)) > 0) {
		bad += TV_BAD(!tv_same(u, off, (size_t)n));
		off += (uint64_t)n;
	}
	bad += TV_BAD(n != 0 || off != TV_FSIZE);
	bad += TV_BAD(u_read(fd, u, TV_CHUNK) != 0); /* at EOF */
	/* Across one boundary. */
	bad += TV_BAD(u_lseek(fd, PAGE_SIZE - 10, SEEK_SET) != PAGE_SIZE - 10);
	bad +=
	    TV_BAD(u_read(fd, u, 20) != 20 || !tv_same(u, PAGE_SIZE - 10, 20));
	bad += TV_BAD(u_lseek(fd, 0, SEEK_CUR) != PAGE_SIZE + 10);
	bad += TV_BAD(u_lseek(fd, 5, SEEK_CUR) != PAGE_SIZE + 15);
	bad += TV_BAD(u_read(fd, u, 3) != 3 || !tv_same(u, PAGE_SIZE + 15, 3));
	/* The tail: a longer read gets what is left. */
	bad += TV_BAD(u_lseek(fd, -5, SEEK_END) != TV_FSIZE - 5);
	bad += TV_BAD(u_read(fd, u, 100) != 5 || !tv_same(u, TV_FSIZE - 5, 5));
	/* Past EOF: 0. */
	bad +=
	    TV_BAD(u_lseek(fd, TV_FSIZE + 50000, SEEK_SET) != TV_FSIZE + 50000);
	bad += TV_BAD(u_read(fd, u, 10) != 0);
	/* The whole file at once, into a buffer of several pages. */
	bad += TV_BAD(u_lseek(fd, 0, SEEK_SET) != 0);
	bad += TV_BAD(u_read(fd, u + 7, ptoa(6) - 7) != TV_FSIZE ||
	    !tv_same(u + 7, 0, TV_FSIZE));
	/* Bad seeks leave the offset alone. */
	bad += TV_BAD(u_lseek(fd, 3, SEEK_SET) != 3);
	bad += TV_BAD(u_lseek(fd, -1, SEEK_SET) != -EINVAL);
	bad += TV_BAD(u_lseek(fd, -4, SEEK_CUR) != -EINVAL);
	bad += TV_BAD(u_lseek(fd, 0, 7) != -EINVAL);
	bad += TV_BAD(u_lseek(fd, INT64_MAX, SEEK_END) != -EINVAL);
	bad += TV_BAD(u_lseek(fd, 0, SEEK_CUR) != 3);
	bad += TV_BAD(u_close(fd) != 0);
	return (bad == 0 ? 0 : 10 + bad);
}

static void
tv_read_fn(void *arg)
{
	struct tv_base b;
	struct vfs_stats vs0, vs1;

	(void)arg;
	tv_setup(&b);
	vfs_stats(&vs0);
	TV_RUN(tv_reader, 0);
	vfs_stats(&vs1);
	CHECK(vs1.opens == vs0.opens + 1);
	CHECK(vs1.lookups >= vs0.lookups + 1);
	CHECKF(vs1.bytes_read - vs0.bytes_read == 2 * TV_FSIZE + 20 + 3 + 5,
	    "bytes read %ju", (uintmax_t)(vs1.bytes_read - vs0.bytes_read));
	tv_check_clean(&b);
}

static void
test_read(void)
{
	tv_case(tv_read_fn, NULL);
}

/*
 * Errors.
 */
static int
tv_errors(intptr_t arg)
{
	char longname[VFS_NAMEMAX + 8];
	vm_offset_t u = tv_ubuf(2), hole;
	int fd, t, pfd[2], bad = 0;
	uint64_t v;

	(void)arg;
	if (u == 0 || (fd = u_open(TV_FILE, O_RDONLY)) < 0)
		return (1);
	/* ENOENT */
	bad += TV_BAD(u_open("/no/such", O_RDONLY) != -ENOENT);
	bad += TV_BAD(u_open("/tmp/nope", O_RDWR) != -ENOENT);
	bad += TV_BAD(u_open("relative", O_RDONLY) != -ENOENT);
	bad += TV_BAD(u_unlink("/tmp/nope") != -ENOENT);
	bad += TV_BAD(u_unlink("/no/such") != -ENOENT);
	/* EEXIST */
	bad += TV_BAD(u_open(TV_FILE, O_RDONLY | O_CREAT | O_EXCL) != -EEXIST);
	if ((t = u_open("/tmp/e", O_RDWR | O_CREAT | O_EXCL)) < 0)
		return (2);
	bad += TV_BAD(u_open("/tmp/e", O_RDWR | O_CREAT | O_EXCL) != -EEXIST);
	/* EROFS: writes and creates outside /tmp/. */
	bad += TV_BAD(u_open(TV_FILE, O_WRONLY) != -EROFS);
	bad += TV_BAD(u_open(TV_FILE, O_RDWR) != -EROFS);
	bad += TV_BAD(u_open("/new", O_RDWR | O_CREAT) != -EROFS);
	bad += TV_BAD(u_unlink(TV_FILE) != -EROFS);
	/* ENAMETOOLONG */
	memset(longname, 'a', sizeof(longname));
	memcpy(longname, "/tmp/", 5);
	longname[VFS_NAMEMAX] = '\0';
	bad += TV_BAD(u_open(longname, O_RDWR | O_CREAT) != -ENAMETOOLONG);
	bad += TV_BAD(u_unlink(longname) != -ENAMETOOLONG);
	longname[VFS_NAMEMAX - 1] = '\0'; /* the longest name */
	if ((fd = u_open(longname, O_RDWR | O_CREAT | O_EXCL)) < 0)
		bad++;
	else
		bad += TV_BAD(u_close(fd) != 0 || u_unlink(longname) != 0);
	/* EINVAL: bad flags. */
	bad += TV_BAD(u_open("/tmp/e", O_ACCMODE) != -EINVAL);
	bad += TV_BAD(u_open("/tmp/e", 0x8000) != -EINVAL);
	bad += TV_BAD(u_open("/tmp/e", O_RDWR | O_EXCL) != -EINVAL);
	bad += TV_BAD(u_open("/tmp/e", O_RDONLY | O_TRUNC) != -EINVAL);
	bad += TV_BAD(u_open(NULL, O_RDONLY) != -EINVAL);
	/* ESPIPE, ENODEV: a pipe. */
	if (u_pipe(u, 0) != 0)
		return (3);
	v = tv_load(u);
	pfd[0] = (int)(v & 0xffffffff);
	pfd[1] = (int)(v >> 32);
	bad += TV_BAD(u_lseek(pfd[0], 0, SEEK_SET) != -ESPIPE);
	bad += TV_BAD(u_fsize(pfd[1]) != -ESPIPE);
	bad += TV_BAD(u_mmap_file(0, PAGE_SIZE, VM_PROT_READ, MAP_SHARED,
			  pfd[0], 0) != -ENODEV);
	bad += TV_BAD(u_close(pfd[0]) != 0 || u_close(pfd[1]) != 0);
	/* EBADF */
	bad +=
	    TV_BAD(u_lseek(99, 0, SEEK_SET) != -EBADF || u_fsize(-1) != -EBADF);
	bad += TV_BAD(u_mmap_file(0, PAGE_SIZE, VM_PROT_READ, MAP_SHARED, 99,
			  0) != -EBADF);
	fd = u_open(TV_FILE, O_RDONLY);
	bad += TV_BAD(u_write(fd, u, 1) != -EBADF); /* opened read-only */
	/* EACCES: a shared writable mapping of a read-only file. */
	bad +=
	    u_mmap_file(0, PAGE_SIZE, VM_PROT_RW, MAP_SHARED, fd, 0) != -EACCES;
	/* EINVAL: an unaligned offset, MAP_ANON. */
	bad += TV_BAD(u_mmap_file(0, PAGE_SIZE, VM_PROT_READ, MAP_SHARED, fd,
			  10) != -EINVAL);
	bad += TV_BAD(u_mmap_file(0, PAGE_SIZE, VM_PROT_READ,
			  MAP_SHARED | MAP_ANON, fd, 0) != -EINVAL);
	/* EFAULT: a buffer that is not mapped; nothing read. */
	hole = tv_ubuf(1);
	bad += TV_BAD(hole == 0 || u_munmap(hole, PAGE_SIZE) != 0);
	bad += TV_BAD(u_read(fd, hole, 10) != -EFAULT);
	bad += TV_BAD(u_lseek(fd, 0, SEEK_CUR) != 0);
	bad += TV_BAD(u_close(fd) != 0);
	bad += TV_BAD(u_close(t) != 0 || u_unlink("/tmp/e") != 0);
	return (bad == 0 ? 0 : 10 + bad);
}

/* EMFILE: descriptors run out (the table's limit, 4096). */
static int
tv_emfile(intptr_t arg)
{
	int i, fd = 0;

	(void)arg;
	for (i = 0; i < 5000; i++)
		if ((fd = u_open(TV_FILE, O_RDONLY)) < 0)
			break;
	if (fd != -EMFILE || i != 4096)
		return (1);
	/* The tmpfs create fails too, but its name stays, as on BSD. */
	if (u_open("/tmp/m", O_RDWR | O_CREAT) != -EMFILE)
		return (2);
	if (u_close(0) != 0 || (fd = u_open("/tmp/m", O_RDWR)) != 0)
		return (3);
	return (u_unlink("/tmp/m") == 0 ? 0 : 4); /* exit closes the rest */
}

static void
tv_errors_fn(void *arg)
{
	struct tv_base b;
	char err[256];

	(void)arg;
	tv_setup(&b);
	CHECK(vfs_file_register(TV_FILE, tv_path, err, sizeof(err)) == EEXIST);
	CHECK(vfs_file_register("rel", tv_path, err, sizeof(err)) == EINVAL);
	CHECK(vfs_file_register("/tmp/x", tv_path, err, sizeof(err)) == EINVAL);
	CHECK(vfs_file_register("/x", "/no/such/host/file", err, sizeof(err)) ==
	    ENOENT);
	TV_RUN(tv_errors, 0);
	TV_RUN(tv_emfile, 0);
	tv_check_clean(&b);
}

static void
test_errors(void)
{
	tv_case(tv_errors_fn, NULL);
}

/*
 * tmpfs.
 */
#define TV_TSIZE 10000

static int
tv_tmpfs(intptr_t arg)
{
	vm_offset_t u = tv_ubuf(8);
	struct vfs_stats vs;
	int fd, fd2, bad = 0;

	(void)arg;
	if (u == 0 || (fd = u_open("/tmp/a", O_RDWR | O_CREAT)) < 0)
		return (1);
	bad += TV_BAD(u_fsize(fd) != 0);
	bad += TV_BAD(tv_fill(u, 0, TV_TSIZE, 1) != 0);
	bad += TV_BAD(u_write(fd, u, TV_TSIZE) != TV_TSIZE);
	bad += TV_BAD(u_fsize(fd) != TV_TSIZE);
	/* Read back, through another descriptor. */
	fd2 = u_open("/tmp/a", O_RDONLY);
	bad += TV_BAD(fd2 < 0 || u_write(fd2, u, 1) != -EBADF);
	bad += TV_BAD(u_read(fd2, u + ptoa(3), ptoa(5)) != TV_TSIZE);
	bad += TV_BAD(!tv_ucmp(u, u + ptoa(3), TV_TSIZE));
	/* A hole: a write past the end, the gap reads as zeros. */
	bad += TV_BAD(u_lseek(fd, 5 * PAGE_SIZE, SEEK_SET) != 5 * PAGE_SIZE);
	bad += TV_BAD(u_write(fd, u, 10) != 10);
	bad += TV_BAD(u_fsize(fd) != 5 * PAGE_SIZE + 10);
	bad += TV_BAD(u_lseek(fd2, TV_TSIZE, SEEK_SET) != TV_TSIZE);
	bad +=
	    u_read(fd2, u + ptoa(3), ptoa(5)) != 5 * PAGE_SIZE + 10 - TV_TSIZE;
	bad += TV_BAD(!tv_zero(u + ptoa(3), 5 * PAGE_SIZE - TV_TSIZE));
	/* O_EXCL: the name exists. */
	bad += TV_BAD(u_open("/tmp/a", O_RDWR | O_CREAT | O_EXCL) != -EEXIST);
	/* Unlinked while open: the data stays, the name goes. */
	bad += TV_BAD(u_unlink("/tmp/a") != 0);
	bad += TV_BAD(u_open("/tmp/a", O_RDONLY) != -ENOENT);
	bad += TV_BAD(u_unlink("/tmp/a") != -ENOENT);
	vfs_stats(&vs);
	bad += TV_BAD(vs.tmp_nodes != 1 || vs.tmp_pages == 0);
	bad += TV_BAD(u_lseek(fd2, 0, SEEK_SET) != 0);
	bad += TV_BAD(u_read(fd2, u + ptoa(3), 100) != 100);
	bad += TV_BAD(u_fsize(fd) != 5 * PAGE_SIZE + 10);
	/* A new file of the same name is another node. */
	fd = u_open("/tmp/a", O_RDWR | O_CREAT | O_EXCL);
	bad += TV_BAD(fd < 0 || u_fsize(fd) != 0);
	vfs_stats(&vs);
	bad += TV_BAD(vs.tmp_nodes != 2);
	bad +=
	    TV_BAD(u_close(fd) != 0 || u_close(fd2) != 0 || u_unlink("/tmp/a"));
	/* Closed and unlinked: freed with its pages. */
	return (bad == 0 ? 0 : 10 + bad);
}

/* O_TRUNC frees the pages; the size goes to 0. */
static int
tv_trunc(intptr_t arg)
{
	vm_offset_t u = tv_ubuf(4);
	struct vfs_stats vs;
	int fd, bad = 0;

	(void)arg;
	if (u == 0 || (fd = u_open("/tmp/t", O_WRONLY | O_CREAT)) < 0)
		return (1);
	bad += TV_BAD(tv_fill(u, 0, ptoa(4), 0) != 0);
	bad += TV_BAD(u_write(fd, u, ptoa(4)) != (int64_t)ptoa(4));
	bad += TV_BAD(u_close(fd) != 0);
	vfs_stats(&vs);
	bad += TV_BAD(vs.tmp_pages != 4);
	fd = u_open("/tmp/t", O_RDWR | O_TRUNC);
	bad += TV_BAD(fd < 0 || u_fsize(fd) != 0);
	vfs_stats(&vs);
	bad += TV_BAD(vs.tmp_pages != 0);
	bad += TV_BAD(u_read(fd, u, 10) != 0);
	/* Written again at 100: 0..99 are zeros, not the old bytes. */
	bad += TV_BAD(u_lseek(fd, 100, SEEK_SET) != 100);
	bad += TV_BAD(u_write(fd, u, 10) != 10);
	bad += TV_BAD(u_lseek(fd, 0, SEEK_SET) != 0);
	bad += TV_BAD(u_read(fd, u + ptoa(1), ptoa(1)) != 110);
	bad += TV_BAD(!tv_zero(u + ptoa(1), 100));
	bad += TV_BAD(u_close(fd) != 0 || u_unlink("/tmp/t") != 0);
	return (bad == 0 ? 0 : 10 + bad);
}

/* kern.tmpfs.maxfilesize is 8 pages here. */
static int
tv_efbig(intptr_t arg)
{
	vm_offset_t u = tv_ubuf(4);
	int fd, bad = 0;

	(void)arg;
	if (u == 0 || (fd = u_open("/tmp/big", O_RDWR | O_CREAT)) < 0)
		return (1);
	bad += TV_BAD(u_lseek(fd, ptoa(6), SEEK_SET) != (int64_t)ptoa(6));
	/* A partial write up to the limit, then EFBIG. */
	bad += TV_BAD(u_write(fd, u, ptoa(4)) != (int64_t)ptoa(2));
	bad += TV_BAD(u_fsize(fd) != (int64_t)ptoa(8));
	bad += TV_BAD(u_write(fd, u, 1) != -EFBIG);
	bad += TV_BAD(u_close(fd) != 0 || u_unlink("/tmp/big") != 0);
	return (bad == 0 ? 0 : 10 + bad);
}

static void
tv_tmpfs_fn(void *arg)
{
	struct tv_base b;
	struct vfs_stats vs0, vs1;

	(void)arg;
	tv_setup(&b);
	vfs_stats(&vs0);
	TV_RUN(tv_tmpfs, 0);
	vfs_stats(&vs1);
	CHECKF(vs1.bytes_written - vs0.bytes_written == TV_TSIZE + 10,
	    "bytes written %ju",
	    (uintmax_t)(vs1.bytes_written - vs0.bytes_written));
	tv_check_clean(&b);
	TV_RUN(tv_trunc, 0);
	tv_check_clean(&b);
}

static void
test_tmpfs(void)
{
	tv_case(tv_tmpfs_fn, NULL);
}

static void
tv_efbig_fn(void *arg)
{
	struct tv_base b;

	(void)arg;
	tv_setup(&b);
	TV_RUN(tv_efbig, 0);
	tv_check_clean(&b);
}

static void
test_efbig(void)
{
	static const char *const tun[] = { "kern.tmpfs.maxfilesize=32768",
		NULL };

	tv_case(tv_efbig_fn, tun);
}

/*
 * mmap.
 */
static int
tv_mapper(intptr_t arg)
{
	vm_offset_t u = tv_ubuf(4), s, pv;
	int64_t a;
	int fd, bad = 0, i;

	(void)arg;
	if (u == 0 || (fd = u_open(TV_FILE, O_RDONLY)) < 0)
		return (1);
	/* Shared, read-only: the file's bytes; writes fault. */
	a = u_mmap_file(0, ptoa(4), VM_PROT_READ, MAP_SHARED, fd, 0);
	if (a < 0)
		return (2);
	s = (vm_offset_t)a;
	bad += TV_BAD(!tv_same(s, 0, TV_FSIZE));
	bad += TV_BAD(!tv_zero(s + TV_FSIZE, ptoa(4) - TV_FSIZE));
	bad += TV_BAD(ustore(s, 8, 1) != EFAULT);
	/* From an offset. */
	a = u_mmap_file(0, ptoa(1), VM_PROT_READ, MAP_SHARED, fd, ptoa(2));
	bad += TV_BAD(a < 0 || !tv_same((vm_offset_t)a, ptoa(2), PAGE_SIZE));
	/* Private, written: copies; the file and the shared map unchanged. */
	a = u_mmap_file(0, ptoa(4), VM_PROT_RW, MAP_PRIVATE, fd, 0);
	if (a < 0)
		return (3);
	pv = (vm_offset_t)a;
	for (i = 0; i < 4; i++)
		bad += TV_BAD(ustore(pv + ptoa(i) + 8, 8, 0xdeadbeefull) != 0);
	for (i = 0; i < 4; i++)
		bad += TV_BAD(tv_load(pv + ptoa(i) + 8) != 0xdeadbeefull);
	bad +=
	    TV_BAD(!tv_same(pv, 0, 8) || !tv_same(pv + 16, 16, PAGE_SIZE - 16));
	bad += TV_BAD(!tv_same(s, 0, TV_FSIZE));
	bad += TV_BAD(
	    u_read(fd, u, ptoa(4)) != TV_FSIZE || !tv_same(u, 0, TV_FSIZE));
	bad += TV_BAD(u_munmap(pv, ptoa(4)) != 0);
	bad += TV_BAD(u_close(fd) != 0);
	/* The mapping outlives the descriptor. */
	bad += TV_BAD(!tv_same(s + PAGE_SIZE, PAGE_SIZE, 64));
	return (bad == 0 ? 0 : 10 + bad);
}

/* tmpfs: a shared mapping and read()/write() see one object. */
static int
tv_tmpmap(intptr_t arg)
{
	vm_offset_t u = tv_ubuf(2), m;
	struct vfs_stats vs;
	int64_t a;
	int fd, bad = 0;

	(void)arg;
	if (u == 0 || (fd = u_open("/tmp/m", O_RDWR | O_CREAT)) < 0)
		return (1);
	bad += TV_BAD(tv_fill(u, 0, ptoa(2), 3) != 0);
	bad += TV_BAD(u_write(fd, u, ptoa(2)) != (int64_t)ptoa(2));
	a = u_mmap_file(0, ptoa(2), VM_PROT_RW, MAP_SHARED, fd, 0);
	if (a < 0)
		return (2);
	m = (vm_offset_t)a;
	bad += TV_BAD(tv_load(m + 8) != tv_load(u + 8));
	bad +=
	    TV_BAD(ustore(m + PAGE_SIZE, 8, 0x1234) != 0); /* seen by read() */
	bad += TV_BAD(u_lseek(fd, PAGE_SIZE, SEEK_SET) != PAGE_SIZE);
	bad += TV_BAD(u_read(fd, u, 8) != 8 || tv_load(u) != 0x1234);
	bad += TV_BAD(ustore(u, 8, 0x5678) != 0); /* written: seen by the map */
	bad += TV_BAD(u_lseek(fd, 16, SEEK_SET) != 16);
	bad += TV_BAD(u_write(fd, u, 8) != 8 || tv_load(m + 16) != 0x5678);
	/* Open for reading only: no shared writable mapping. */
	bad += TV_BAD(u_close(fd) != 0);
	fd = u_open("/tmp/m", O_RDONLY);
	bad +=
	    u_mmap_file(0, ptoa(1), VM_PROT_RW, MAP_SHARED, fd, 0) != -EACCES;
	/* Unlinked and closed: the mapping keeps the pages. */
	bad += TV_BAD(u_unlink("/tmp/m") != 0 || u_close(fd) != 0);
	vfs_stats(&vs);
	bad += TV_BAD(vs.tmp_nodes != 0);
	bad += TV_BAD(
	    tv_load(m + PAGE_SIZE) != 0x1234 || tv_load(m + 16) != 0x5678);
	bad += TV_BAD(u_munmap(m, ptoa(2)) != 0);
	return (bad == 0 ? 0 : 10 + bad);
}

/* Bytes a mapping wrote past the end read as zeros once a write grows
 * the file over them. */
static int
tv_gap(intptr_t arg)
{
	vm_offset_t u = tv_ubuf(3), m;
	int64_t a;
	int fd, bad = 0;

	(void)arg;
	if (u == 0 || (fd = u_open("/tmp/g", O_RDWR | O_CREAT)) < 0)
		return (1);
	bad += TV_BAD(tv_fill(u, 0, ptoa(3), 0) != 0);
	bad += TV_BAD(u_write(fd, u, 10) != 10);
	a = u_mmap_file(0, ptoa(2), VM_PROT_RW, MAP_SHARED, fd, 0);
	if (a < 0)
		return (2);
	m = (vm_offset_t)a;
	bad += TV_BAD(ustore(m + 96, 8, ~0ull) != 0);
	bad += TV_BAD(ustore(m + PAGE_SIZE + 8, 8, ~0ull) != 0);
	bad += TV_BAD(u_munmap(m, ptoa(2)) != 0);
	bad += TV_BAD(u_lseek(fd, ptoa(2), SEEK_SET) != (int64_t)ptoa(2));
	bad += TV_BAD(u_write(fd, u, 1) != 1);
	bad += TV_BAD(u_lseek(fd, 0, SEEK_SET) != 0);
	bad += TV_BAD(u_read(fd, u, ptoa(3)) != (int64_t)ptoa(2) + 1);
	bad += TV_BAD(!tv_same(u, 0, 10) || !tv_zero(u + 10, ptoa(2) - 10));
	bad += TV_BAD(u_close(fd) != 0 || u_unlink("/tmp/g") != 0);
	return (bad == 0 ? 0 : 10 + bad);
}

static void
tv_mmap_fn(void *arg)
{
	struct tv_base b;

	(void)arg;
	tv_setup(&b);
	TV_RUN(tv_mapper, 0);
	tv_check_clean(&b);
	TV_RUN(tv_tmpmap, 0);
	tv_check_clean(&b);
	TV_RUN(tv_gap, 0);
	tv_check_clean(&b);
}

static void
test_mmap(void)
{
	tv_case(tv_mmap_fn, NULL);
}

/*
 * fork: readers of one file.
 */
#define TV_KIDS 3

/*
 * Reads the file through its own descriptor, then its share of the
 * inherited one; stores the count in its slot of the shared page.  arg:
 * the page's address | slot << 4 | descriptor (< 16).
 */
static int
tv_kid(intptr_t arg)
{
	vm_offset_t shared = trunc_page((vm_offset_t)arg), u = tv_ubuf(4);
	int fd = (int)(arg & 0xf), slot = (int)((arg >> 4) & 0xff), own;
	uint64_t got = 0;
	int64_t n;
	int bad = 0;

	if (u == 0 || (own = u_open(TV_FILE, O_RDONLY)) < 0)
		return (1);
	bad += TV_BAD(
	    u_read(own, u, ptoa(4)) != TV_FSIZE || !tv_same(u, 0, TV_FSIZE));
	bad += TV_BAD(u_close(own) != 0);
	/* The shared descriptor: one offset for every reader. */
	while ((n = u_read(fd, u, 100)) > 0)
		got += (uint64_t)n;
	bad += TV_BAD(n != 0);
	bad += TV_BAD(ustore(shared + 8 * (vm_offset_t)slot, 8, got) != 0);
	return (bad == 0 ? 0 : 10 + bad);
}

static int
tv_forker(intptr_t arg)
{
	int64_t a = u_mmap(0, PAGE_SIZE, VM_PROT_RW, MAP_ANON | MAP_SHARED);
	vm_offset_t st;
	uint64_t total = 0;
	int fd, i, bad = 0, status;

	(void)arg;
	if (a < 0 || (fd = u_open(TV_FILE, O_RDONLY)) < 0 || fd >= 16)
		return (1);
	st = (vm_offset_t)a + 512;
	for (i = 0; i < TV_KIDS; i++)
		if (u_fork(tv_kid, (intptr_t)a | i << 4 | fd) <= 0)
			return (2);
	for (i = 0; i < TV_KIDS; i++) {
		if (u_wait(-1, st, 0) <= 0)
			return (3);
		status = (int)tv_load(st);
		bad += TV_BAD(!WIFEXITED(status) || WEXITSTATUS(status) != 0);
	}
	/* Every byte went to exactly one reader. */
	for (i = 0; i < TV_KIDS; i++)
		total += tv_load((vm_offset_t)a + 8 * (vm_offset_t)i);
	bad += TV_BAD(total != TV_FSIZE);
	bad += TV_BAD(u_close(fd) != 0);
	return (bad == 0 ? 0 : 10 + bad);
}

static void
tv_fork_fn(void *arg)
{
	struct tv_base b;

	(void)arg;
	tv_setup(&b);
	TV_RUN(tv_forker, 0);
	tv_check_clean(&b);
}

static void
test_fork(void)
{
	tv_case(tv_fork_fn, NULL);
}

static const struct test_case cases[] = {
	TEST_CASE(test_read),
	TEST_CASE(test_errors),
	TEST_CASE(test_tmpfs),
	TEST_CASE(test_efbig),
	TEST_CASE(test_mmap),
	TEST_CASE(test_fork),
};

int
main(int argc, char **argv)
{
	const char *dir = getenv("TMPDIR");
	uint8_t buf[TV_FSIZE];
	FILE *f;
	int rv;
	size_t i;

	snprintf(tv_path, sizeof(tv_path), "%s/vmlab-vfs-%ld",
	    dir != NULL ? dir : "/tmp", (long)getpid());
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = tv_byte(i);
	f = fopen(tv_path, "wb");
	if (f == NULL || fwrite(buf, sizeof(buf), 1, f) != 1) {
		fprintf(stderr, "test_vfs: cannot write %s\n", tv_path);
		return (1);
	}
	fclose(f);
	rv = test_main(argc, argv, cases, TEST_NCASES(cases));
	remove(tv_path);
	return (rv);
}
