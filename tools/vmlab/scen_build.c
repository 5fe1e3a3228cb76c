/*
 * scen_build.c: the parallel-build experiment (FreeBSD review D21808 of
 * per-superpage pv list locks, r353149: total lock wait over 90 minutes
 * of `poudriere -j 104' on a 104-CPU machine; `rw:pmap pv list' waited
 * 14.75 s with 256 hashed locks, 1.35 s with one lock per superpage and
 * 0.93 s with batching as well).
 *
 * A make-like driver process keeps --jobs compile jobs running until
 * --total have finished.  For each job it makes a pipe and forks a
 * shell-like child, which closes the descriptors it does not need and
 * execs the compiler image `cc'.  A compiler:
 *	1. maps the shared library /lib/libc.so (MAP_SHARED, read and
 *	   execute) and faults in a random --touch of its pages and of the
 *	   text of its own image: cc's text is one file-backed object that
 *	   every compiler maps, so the same physical pages are mapped by
 *	   --jobs pmaps at once and their pv lists are long and hot;
 *	2. dirties its data pages (private copy-on-write of the image's);
 *	3. reads its source file /src/N.c through the vnode pager into a
 *	   heap it maps (zero-fill), checksums it, grows the heap to --heap
 *	   bytes, frees the upper half (munmap) and touches it again;
 *	4. writes an object file to tmpfs (/tmp/ccN.o), closes and unlinks
 *	   it;
 *	5. writes a record (job, source checksum, pages touched) down the
 *	   pipe to the driver and exits.
 * The driver waits for any job, reads and checks its record, and starts
 * the next.  Before the measured build one job per source warms the
 * page cache, reading every page of the compiler and the library (the
 * steady state of a long build: compiler, library and sources
 * resident); the lock profile is reset after it.
 *
 * Variants (each on a machine of its own, booted with its tunables):
 *	hashed		 vm.pmap.pv_lock=hashed: 256 locks by 2 MiB frame,
 *			 packed (FreeBSD before r353149)
 *	superpage	 one lock per 2 MiB frame (r353149)
 *	superpage+batch	 as well, vm.pmap.pv_batch: walks keep the lock
 *			 from mapping to mapping while the frame is the
 *			 same, prefault maps its run under one hold, emptied
 *			 pv chunks are freed in bulk per LRU list (D21832)
 *	page+batch	 ours: a lock per 4 KiB page for the page's own pv
 *			 list (the frame's lock only for its 2 MiB list),
 *			 with batching: the hot pages of a shared text are
 *			 512 to a frame, and with one lock per frame every
 *			 compiler faulting or exiting anywhere in that 2 MiB
 *			 of text waits for every other one there
 *
 * What is reported per variant: jobs per (virtual, on sim) second, the
 * top 8 locks by total wait in the review's form, faults, shootdowns,
 * IPIs, and the checks at the end (no page, pv entry, process, file or
 * tmpfs node left).
 */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include "kern/lock.h"
#include "kern/sysctl.h"
#include "md/md.h"
#include "pmap/pmap.h"
#include "proc/file.h"
#include "proc/pipe.h"
#include "proc/proc.h"
#include "proc/syscall.h"
#include "proc/vfs.h"
#include "vm/vm_map.h"
#include "vm/vm_object.h"
#include "vm/vm_page.h"
#include "vm/vm_phys.h"
#include "vm/vm_uaccess.h"
#include "vmlab_cli.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BD_TEXT_ADDR ((vm_offset_t)1 << 30) /* 2 MiB aligned */
#define BD_MAXVARIANTS 8
#define BD_TOPLOCKS 8
#define BD_RECWORDS 4 /* a job's record: 4 x 8 bytes */
#define BD_MAXJOBS 4096
#define BD_DATA_PAGES 16
#define BD_STACK_PAGES 8

struct bd_variant {
	const char *bv_name;
	const char *bv_lock; /* vm.pmap.pv_lock */
	int bv_batch;	     /* vm.pmap.pv_batch */
};

static const struct bd_variant bd_variants[] = {
	{ "hashed", "hashed", 0 },
	{ "superpage", "superpage", 0 },
	{ "superpage+batch", "superpage", 1 },
	{ "page+batch", "page", 1 },
};
static const char *const bd_variant_words[] = { "hashed", "superpage",
	"superpage+batch", "page+batch", NULL };

/*
 * The workload's sizes: the compiler's compiled-in constants, set before
 * any program runs and constant while they do.
 */
static struct bd_conf {
	uint64_t jobs, total;
	uint64_t text_pages, lib_pages, touch;
	uint64_t heap_pages, src_bytes, obj_bytes, nsrc, images;
	uint64_t seed;
} bd;

/*
 * Contents of the files: every byte a function of (file, offset), so a
 * reader can check what it read without a copy.
 */
static uint8_t
bd_byte(uint64_t file, uint64_t off)
{
	uint64_t x = (file + 1) * 0x9e3779b97f4a7c15ull + (off >> 3);

	x ^= x >> 29;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 32;
	return ((uint8_t)(x >> (8 * (off & 7))));
}

/*
 * The checksum a reader of source `src' must find (its 8-byte words),
 * computed once per source when the files are made (bd_sums).
 */
static uint64_t *bd_sums;

static uint64_t
bd_src_sum(uint64_t src)
{
	uint64_t off, w, sum = 0;
	int i;

	for (off = 0; off + 8 <= bd.src_bytes; off += 8) {
		for (w = 0, i = 0; i < 8; i++)
			w |= (uint64_t)bd_byte(2 + src, off + i) << (8 * i);
		sum = sum * 31 + w;
	}
	return (sum);
}

/*
 * The programs.  A job's argument: its number, the descriptor it writes
 * its record to, and the highest descriptor the driver had open.
 */
#define BD_ARG(job, wfd, maxfd)                                                \
	((intptr_t)((uint64_t)(job) | (uint64_t)(wfd) << 32 |                  \
	    (uint64_t)(maxfd) << 48))
#define BD_JOB(a) ((uint64_t)(a)&0x7fffffffu)
#define BD_WARM 0x80000000u /* in job: touch every page (the warm-up) */
#define BD_WFD(a) ((int)(((uint64_t)(a) >> 32) & 0xffff))
#define BD_MAXFD(a) ((int)(((uint64_t)(a) >> 48) & 0xffff))

/* Faults in `n' random pages of [base, base + npages pages); a sum. */
static uint64_t
bd_touch(vm_offset_t base, uint64_t npages, uint64_t n, uint64_t *rng)
{
	uint64_t i, r, v, sum = 0;

	for (i = 0; i < n; i++) {
		r = scen_rand(rng);
		if (uload(base + ptoa(r % npages) + ((r >> 40) & 0xff8), 8,
			&v) != 0)
			return (0);
		sum += v;
	}
	return (sum);
}

/* The compiler (image `cc'). */
static int
bd_cc(intptr_t arg)
{
	uint64_t job = BD_JOB(arg),
		 rng = bd.seed ^ (job * 0x2545f4914f6cdd1dull);
	uint64_t src = job % bd.nsrc, sum = 0, v, off, i;
	uint64_t rec[BD_RECWORDS];
	vm_offset_t text = BD_TEXT_ADDR, data, heap, lib;
	int64_t r, n;
	int fd, wfd = BD_WFD(arg);
	char name[64];

	/* 1. The shared library, and faults over it and our text. */
	if ((fd = u_open("/lib/libc.so", O_RDONLY)) < 0)
		return (10);
	r = u_mmap_file(0, ptoa(bd.lib_pages), VM_PROT_READ | VM_PROT_EXECUTE,
	    MAP_SHARED, fd, 0);
	(void)u_close(fd);
	if (r < 0)
		return (11);
	lib = (vm_offset_t)r;
	if ((arg & BD_WARM) != 0) {
		for (i = 0; i < bd.text_pages; i++)
			(void)uload(text + ptoa(i), 8, &v);
		for (i = 0; i < bd.lib_pages; i++)
			(void)uload(lib + ptoa(i), 8, &v);
	}
	(void)bd_touch(text, bd.text_pages, bd.touch, &rng);
	(void)bd_touch(lib, bd.lib_pages, bd.touch / 4, &rng);
	/* 2. Data, private copy-on-write of the image's. */
	data = text + ptoa(bd.text_pages);
	for (i = 0; i < BD_DATA_PAGES; i++)
		if (ustore(data + ptoa(i), 8, job) != 0)
			return (12);
	/* 3. The source, through the vnode pager, into a new heap. */
	r = u_mmap(0, ptoa(bd.heap_pages), VM_PROT_RW, MAP_ANON | MAP_PRIVATE);
	if (r < 0)
		return (13);
	heap = (vm_offset_t)r;
	snprintf(name, sizeof(name), "/src/%" PRIu64 ".c", src);
	if ((fd = u_open(name, O_RDONLY)) < 0)
		return (14);
	for (off = 0; off < bd.src_bytes; off += (uint64_t)n)
		if ((n = u_read(fd, heap + off, bd.src_bytes - off)) <= 0)
			return (15);
	(void)u_close(fd);
	for (off = 0; off + 8 <= bd.src_bytes; off += 8) {
		if (uload(heap + off, 8, &v) != 0)
			return (16);
		sum = sum * 31 + v;
	}
	for (i = atop(round_page(bd.src_bytes)); i < bd.heap_pages; i++)
		if (ustore(heap + ptoa(i), 8, i) != 0)
			return (17);
	if (u_munmap(heap + ptoa(bd.heap_pages / 2),
		ptoa(bd.heap_pages - bd.heap_pages / 2)) != 0)
		return (18);
	for (i = 0; i < bd.heap_pages / 2; i++)
		if (ustore(heap + ptoa(i) + 8, 8, i) != 0)
			return (19);
	/* 4. The object file, in tmpfs. */
	snprintf(name, sizeof(name), "/tmp/cc%" PRIu64 ".o", job);
	if ((fd = u_open(name, O_CREAT | O_EXCL | O_RDWR)) < 0)
		return (20);
	for (off = 0; off < bd.obj_bytes; off += (uint64_t)n)
		if ((n = u_write(fd, heap, bd.obj_bytes - off)) <= 0)
			return (21);
	(void)u_close(fd);
	if (u_unlink(name) != 0)
		return (22);
	/* 5. The record, down the pipe. */
	rec[0] = job;
	rec[1] = sum;
	rec[2] = bd.touch;
	rec[3] = ~job;
	for (i = 0; i < BD_RECWORDS; i++)
		if (ustore(heap + 8 * i, 8, rec[i]) != 0)
			return (23);
	if (u_write(wfd, heap, sizeof(rec)) != (int64_t)sizeof(rec))
		return (24);
	return (0);
}

/* The shell: keeps only its record's descriptor, execs the compiler. */
static int
bd_shell(intptr_t arg)
{
	char image[32];
	int fd;

	for (fd = 0; fd <= BD_MAXFD(arg); fd++)
		if (fd != BD_WFD(arg))
			(void)u_close(fd);
	snprintf(image, sizeof(image), "cc%" PRIu64, BD_JOB(arg) % bd.images);
	(void)u_exec(image, arg);
	return (99);
}

/*
 * The driver: arg is the first job's number and the count to run.  Its
 * table of running jobs (pid, read descriptor, job: BD_SLOT bytes each)
 * is in its own memory, after a page for system-call results.
 */
#define BD_SLOT 16

static int
bd_slot_get(vm_offset_t tab, int i, int *pidp, int *rfdp, uint64_t *jobp)
{
	uint64_t a, b;

	if (uload(tab + BD_SLOT * (vm_offset_t)i, 8, &a) != 0 ||
	    uload(tab + BD_SLOT * (vm_offset_t)i + 8, 8, &b) != 0)
		return (-1);
	*pidp = (int)(uint32_t)a;
	*rfdp = (int)(uint32_t)(a >> 32);
	*jobp = b;
	return (0);
}

static int
bd_slot_set(vm_offset_t tab, int i, int pid, int rfd, uint64_t job)
{
	if (ustore(tab + BD_SLOT * (vm_offset_t)i, 8,
		(uint64_t)(uint32_t)pid | (uint64_t)(uint32_t)rfd << 32) != 0 ||
	    ustore(tab + BD_SLOT * (vm_offset_t)i + 8, 8, job) != 0)
		return (-1);
	return (0);
}

/* Reads and checks the record of the job in slot i; whether it is good. */
static bool
bd_collect(vm_offset_t buf, int rfd, uint64_t job)
{
	uint64_t rec[BD_RECWORDS];
	int64_t n, off;
	int k;

	for (off = 0; off < (int64_t)sizeof(rec); off += n)
		if ((n = u_read(rfd, buf + (vm_offset_t)off,
			 sizeof(rec) - (size_t)off)) <= 0)
			return (false);
	for (k = 0; k < BD_RECWORDS; k++)
		if (uload(buf + 8 * (vm_offset_t)k, 8, &rec[k]) != 0)
			return (false);
	return (rec[0] == job && rec[3] == ~job &&
	    rec[1] == bd_sums[job % bd.nsrc]);
}

static int
bd_driver(intptr_t arg)
{
	uint64_t first = (uint64_t)arg & 0xffffffffu,
		 count = (uint64_t)arg >> 32;
	uint64_t started = 0, done = 0, v, job = 0;
	vm_offset_t buf, tab;
	int64_t r;
	int i, pid, spid, rfd = -1, maxfd = 0, nslots = 0, fails = 0, fds[2];

	r = u_mmap(0, PAGE_SIZE + round_page(BD_SLOT * bd.jobs), VM_PROT_RW,
	    MAP_ANON | MAP_PRIVATE);
	if (r < 0)
		return (1);
	buf = (vm_offset_t)r;
	tab = buf + PAGE_SIZE;
	while (done < count) {
		while (nslots < (int)bd.jobs && started < count) {
			if (u_pipe(buf, 0) != 0 || uload(buf, 8, &v) != 0)
				return (2);
			fds[0] = (int)(uint32_t)v;
			fds[1] = (int)(uint32_t)(v >> 32);
			maxfd = fds[1] > maxfd ? fds[1] : maxfd;
			maxfd = fds[0] > maxfd ? fds[0] : maxfd;
			pid = u_fork(bd_shell,
			    BD_ARG(
				(first + started) | (first == 0 ? BD_WARM : 0),
				fds[1], maxfd));
			(void)u_close(fds[1]);
			if (pid < 0 ||
			    bd_slot_set(
				tab, nslots, pid, fds[0], first + started) != 0)
				return (3);
			nslots++;
			started++;
		}
		if ((pid = u_wait(-1, buf, 0)) < 0 || uload(buf, 4, &v) != 0)
			return (4);
		for (i = 0; i < nslots; i++) {
			if (bd_slot_get(tab, i, &spid, &rfd, &job) != 0)
				return (5);
			if (spid == pid)
				break;
		}
		if (i == nslots)
			return (5);
		if ((uint32_t)v != 0 || !bd_collect(buf, rfd, job))
			fails++;
		(void)u_close(rfd);
		/* The last slot moves into the freed one. */
		if (--nslots != i &&
		    (bd_slot_get(tab, nslots, &pid, &rfd, &job) != 0 ||
			bd_slot_set(tab, i, pid, rfd, job) != 0))
			return (5);
		done++;
	}
	return (fails == 0 ? 0 : 6);
}

/*
 * The machine's side.
 */
struct bd_result {
	const struct bd_variant *br_var;
	double br_jobs_per_s, br_secs;
	uint64_t br_jobs, br_faults, br_shootdowns, br_ipis, br_promotions;
	uint64_t br_pv_wait_ns, br_pv_acq, br_pv_cont;
	int64_t br_leaked_pages;
	uint64_t br_left_procs, br_left_files, br_left_tmp, br_pv_entries;
	int br_status;
	struct scen_lockrow br_top[BD_TOPLOCKS];
	int br_ntop;
};

/* The variants of the run so far (one per machine), for the table. */
static struct bd_result bd_results[BD_MAXVARIANTS];

/* The top locks by total wait; the pv list locks' figures too. */
static void
bd_locks(struct bd_result *br)
{
	struct scen_lockrow pv;

	br->br_ntop = report_top_locks(br->br_top, BD_TOPLOCKS);
	report_lock_sum("pmap pv list", &pv);
	br->br_pv_wait_ns = pv.wait_ns;
	br->br_pv_acq = pv.acq;
	br->br_pv_cont = pv.cont;
}

/* Writes the host file `path' of `bytes' bytes of file number `file'. */
static int
bd_write_file(const char *path, uint64_t file, uint64_t bytes)
{
	uint8_t buf[1024]; /* kernel threads have small stacks */
	uint64_t off, i, n;
	FILE *f;

	if ((f = fopen(path, "w")) == NULL)
		return (errno);
	for (off = 0; off < bytes; off += n) {
		n = bytes - off < sizeof(buf) ? bytes - off : sizeof(buf);
		for (i = 0; i < n; i++)
			buf[i] = bd_byte(file, off + i);
		if (fwrite(buf, 1, n, f) != n) {
			fclose(f);
			return (EIO);
		}
	}
	return (fclose(f) == 0 ? 0 : EIO);
}

/*
 * The files on the host (a directory of its own under $TMPDIR or /tmp)
 * and their registration: the compiler image, the library, the sources.
 * The directory goes at the end of the run (bd_files_remove()).
 */
static char bd_dir[256];

static void
bd_files_remove(void)
{
	char path[320];
	uint64_t i;

	if (bd_dir[0] == '\0')
		return;
	for (i = 0; i < bd.images; i++) {
		snprintf(path, sizeof(path), "%s/cc%" PRIu64, bd_dir, i);
		(void)remove(path);
	}
	snprintf(path, sizeof(path), "%s/libc.so", bd_dir);
	(void)remove(path);
	for (i = 0; i < bd.nsrc; i++) {
		snprintf(path, sizeof(path), "%s/%" PRIu64 ".c", bd_dir, i);
		(void)remove(path);
	}
	(void)rmdir(bd_dir);
	bd_dir[0] = '\0';
	free(bd_sums);
	bd_sums = NULL;
}

static int
bd_files(struct scen_ctx *ctx)
{
	struct vm_image img;
	char path[320], name[64], err[512];
	const char *tmp = getenv("TMPDIR");
	uint64_t i;
	int error;

	snprintf(bd_dir, sizeof(bd_dir), "%s/vmlab-build-XXXXXX",
	    tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	if (mkdtemp(bd_dir) == NULL) {
		fprintf(stderr, "build: cannot make a directory %s: %s\n",
		    bd_dir, strerror(errno));
		bd_dir[0] = '\0';
		return (errno);
	}
	memset(&img, 0, sizeof(img));
	img.vi_text_pages = bd.text_pages;
	img.vi_data_pages = BD_DATA_PAGES;
	img.vi_bss_pages = 4;
	img.vi_stack_pages = BD_STACK_PAGES;
	img.vi_text_addr = BD_TEXT_ADDR;
	for (i = 0; i < bd.images; i++) {
		snprintf(path, sizeof(path), "%s/cc%" PRIu64, bd_dir, i);
		snprintf(name, sizeof(name), "cc%" PRIu64, i);
		if ((error = bd_write_file(path, 1000000 + i,
			 ptoa(bd.text_pages + BD_DATA_PAGES))) != 0)
			goto fail;
		if ((error = proc_image_register(
			 name, path, &img, bd_cc, err, sizeof(err))) != 0)
			goto fail_msg;
	}
	snprintf(path, sizeof(path), "%s/libc.so", bd_dir);
	if ((error = bd_write_file(path, 1, ptoa(bd.lib_pages))) != 0)
		goto fail;
	if ((error = vfs_file_register(
		 "/lib/libc.so", path, err, sizeof(err))) != 0)
		goto fail_msg;
	if ((bd_sums = calloc(bd.nsrc, sizeof(*bd_sums))) == NULL) {
		error = ENOMEM;
		snprintf(err, sizeof(err), "out of memory");
		goto fail_msg;
	}
	for (i = 0; i < bd.nsrc; i++) {
		bd_sums[i] = bd_src_sum(i);
		snprintf(path, sizeof(path), "%s/%" PRIu64 ".c", bd_dir, i);
		snprintf(name, sizeof(name), "/src/%" PRIu64 ".c", i);
		if ((error = bd_write_file(path, 2 + i, bd.src_bytes)) != 0)
			goto fail;
		if ((error = vfs_file_register(name, path, err, sizeof(err))) !=
		    0)
			goto fail_msg;
	}
	(void)ctx;
	return (0);
fail:
	snprintf(err, sizeof(err), "%s: %s", path, strerror(error));
fail_msg:
	fprintf(stderr, "build: %s\n", err);
	bd_files_remove();
	return (error);
}

/*
 * Aging: a machine that has been up for a while has its free memory in
 * small blocks scattered over all of RAM, and a file's or a process's
 * pages land anywhere (a fresh boot hands out consecutive pages, so a
 * text's hot pages would sit in a few 2 MiB frames and no two frames of
 * a small machine would share a hashed lock).  --age PCT takes every
 * free page, keeps a seeded random PCT% of them for the whole run (the
 * other tenants' memory) and frees the rest in random order.
 */
static struct vm_page **bd_aged;
static uint64_t bd_naged;

/*
 * Takes every free 2 MiB block, BD_AGE_BATCH at a time (never going
 * near the page daemon's targets), keeps a seeded random pct% of the
 * batch's pages and frees the rest in random order: the free lists then
 * hand out pages from all the batch's frames in turn, and no block is
 * left for a reservation.
 */
#define BD_AGE_BATCH 64

static void
bd_age(struct scen_ctx *ctx, uint64_t pct)
{
	uint64_t total = vm_page_count_total(), rng = bd.seed, i, j, k, n;
	uint64_t floor = total / 25 + 4096 + BD_AGE_BATCH * NPTEPG;
	struct vm_page *m, **batch;

	if (pct == 0 || (bd_aged = calloc(total, sizeof(*bd_aged))) == NULL)
		return;
	if ((batch = calloc(BD_AGE_BATCH * NPTEPG, sizeof(*batch))) == NULL) {
		free(bd_aged);
		bd_aged = NULL;
		return;
	}
	while (total - vm_page_count_allocated() > floor) {
		for (n = 0; n < BD_AGE_BATCH * NPTEPG; n += NPTEPG) {
			m = vm_page_alloc_contig(VM_ALLOC_NORMAL, NPTEPG, 0,
			    ~(vm_paddr_t)0, NBPDR, 0);
			if (m == NULL)
				break;
			for (i = 0; i < NPTEPG; i++)
				batch[n + i] =
				    PHYS_TO_VM_PAGE(m->phys_addr + ptoa(i));
		}
		for (i = n; i > 1; i--) {
			j = scen_rand(&rng) % i;
			m = batch[i - 1];
			batch[i - 1] = batch[j];
			batch[j] = m;
		}
		k = n * pct / 100;
		for (i = 0; i < k; i++)
			bd_aged[bd_naged++] = batch[i];
		for (i = k; i < n; i++)
			vm_page_free(batch[i]);
		if (n < BD_AGE_BATCH * NPTEPG)
			break;
	}
	free(batch);
	/*
	 * A fifth of what is held goes back, in random order over all of
	 * RAM: the free lists hand out these first (the last freed), so the
	 * pages the build takes come from every frame, not from the last
	 * batch's 64.
	 */
	for (i = bd_naged; i > 1; i--) {
		j = scen_rand(&rng) % i;
		m = bd_aged[i - 1];
		bd_aged[i - 1] = bd_aged[j];
		bd_aged[j] = m;
	}
	for (k = bd_naged - bd_naged / 5; bd_naged > k; bd_naged--)
		vm_page_free(bd_aged[bd_naged - 1]);
	fprintf(ctx->sx_out,
	    "build: aged: %" PRIu64 " pages (%" PRIu64
	    " MiB) held, scattered over every free 2 MiB block\n",
	    bd_naged, ptoa(bd_naged) >> 20);
}

static void
bd_unage(void)
{
	uint64_t i;

	for (i = 0; i < bd_naged; i++)
		vm_page_free(bd_aged[i]);
	free(bd_aged);
	bd_aged = NULL;
	bd_naged = 0;
}

/* Runs `count' jobs from `first' under one driver; its status. */
static int
bd_build(struct scen_ctx *ctx, uint64_t first, uint64_t count)
{
	int dpid, status = -1, error;

	error = proc_spawn(
	    "make", bd_driver, (intptr_t)(first | count << 32), &dpid);
	if (error != 0) {
		fprintf(stderr, "build: cannot start the driver: %s\n",
		    strerror(error));
		ctx->sx_failed = 1;
		return (-1);
	}
	if (proc_wait(dpid, &status, 0) != dpid)
		return (-1);
	return (status);
}

/* Pages in use with the caches that hold pages between jobs drained. */
static uint64_t
bd_pages(void)
{
	pipe_drain();
	return (proc_pages_in_use());
}

static void
bd_measure(struct scen_ctx *ctx, struct bd_result *br)
{
	struct proc_stats ps;
	struct vfs_stats vs;
	uint64_t t0, t1, f0, s0, i0, p0, pages0;
	uint64_t warm = bd.nsrc > bd.images ? bd.nsrc : bd.images;

	/* The page cache warmed: one job per source and image, unmeasured. */
	if ((br->br_status = bd_build(ctx, 0, warm)) != 0) {
		fprintf(stderr, "build: the warm-up failed (status %#x)\n",
		    br->br_status);
		ctx->sx_failed = 1;
		return;
	}
	pages0 = bd_pages();
	lock_prof_reset();
	f0 = scen_stat("vm.stats.fault.faults");
	s0 = scen_stat("vm.pmap.shootdowns");
	i0 = scen_stat("vm.pmap.ipis");
	p0 = scen_stat("vm.pmap.promotions");
	t0 = md_nanotime();
	br->br_status = bd_build(ctx, warm, bd.total);
	t1 = md_nanotime();
	bd_locks(br);
	br->br_jobs = bd.total;
	br->br_secs = (double)(t1 - t0) / 1e9;
	br->br_jobs_per_s =
	    br->br_secs > 0 ? (double)bd.total / br->br_secs : 0;
	br->br_faults = scen_stat("vm.stats.fault.faults") - f0;
	br->br_shootdowns = scen_stat("vm.pmap.shootdowns") - s0;
	br->br_ipis = scen_stat("vm.pmap.ipis") - i0;
	br->br_promotions = scen_stat("vm.pmap.promotions") - p0;
	/* Everything back. */
	br->br_leaked_pages = (int64_t)(bd_pages() - pages0);
	proc_stats(&ps);
	vfs_stats(&vs);
	br->br_left_procs = ps.nprocs;
	br->br_left_files = file_count();
	br->br_left_tmp = vs.tmp_nodes;
	br->br_pv_entries = scen_stat("vm.pmap.pv_entries");
	if (br->br_status != 0 || br->br_leaked_pages != 0 ||
	    br->br_left_procs != 0 || br->br_left_files != 0 ||
	    br->br_left_tmp != 0 || br->br_pv_entries != 0 ||
	    proc_check() != 0 || vfs_check() != 0) {
		fprintf(stderr,
		    "build: %s: driver status %#x; left %" PRId64
		    " pages, %" PRIu64 " processes, %" PRIu64 " files, %" PRIu64
		    " tmpfs nodes, %" PRIu64 " pv entries\n",
		    br->br_var->bv_name, br->br_status, br->br_leaked_pages,
		    br->br_left_procs, br->br_left_files, br->br_left_tmp,
		    br->br_pv_entries);
		ctx->sx_failed = 1;
	}
}

/* The variant's row in the JSON results (the list "variants"). */
static void
bd_record(struct scen_ctx *ctx, const struct bd_result *br)
{
	char buf[2048], key[64];
	size_t off = 0;
	int i, k;

	if ((k = report_row_add(ctx)) < 0)
		return;
	report_row_str(ctx, k, "name", br->br_var->bv_name);
	report_row_num(ctx, k, "jobs", (double)br->br_jobs);
	report_row_num(ctx, k, "seconds", br->br_secs);
	report_row_num(ctx, k, "jobs_per_s", br->br_jobs_per_s);
	report_row_num(ctx, k, "faults", (double)br->br_faults);
	report_row_num(ctx, k, "shootdowns", (double)br->br_shootdowns);
	report_row_num(ctx, k, "ipis", (double)br->br_ipis);
	report_row_num(ctx, k, "promotions", (double)br->br_promotions);
	report_row_num(ctx, k, "pv_list_wait_ns", (double)br->br_pv_wait_ns);
	report_row_num(ctx, k, "pv_list_acquisitions", (double)br->br_pv_acq);
	report_row_num(ctx, k, "pv_list_contentions", (double)br->br_pv_cont);
	report_row_num(ctx, k, "leaked_pages", (double)br->br_leaked_pages);
	report_row_num(ctx, k, "left_procs", (double)br->br_left_procs);
	report_row_num(ctx, k, "left_files", (double)br->br_left_files);
	report_row_num(ctx, k, "left_tmpfs_nodes", (double)br->br_left_tmp);
	report_row_num(ctx, k, "pv_entries", (double)br->br_pv_entries);
	off += (size_t)snprintf(buf + off, sizeof(buf) - off, "[");
	for (i = 0; i < br->br_ntop && off < sizeof(buf); i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off,
		    "%s{\"name\": \"%s\", \"class\": \"%s\", "
		    "\"wait_total_ns\": %" PRIu64 ", \"acquisitions\": %" PRIu64
		    ", \"contentions\": %" PRIu64 "}",
		    i == 0 ? "" : ", ", br->br_top[i].name, br->br_top[i].cls,
		    br->br_top[i].wait_ns, br->br_top[i].acq,
		    br->br_top[i].cont);
	if (off < sizeof(buf))
		snprintf(buf + off, sizeof(buf) - off, "]");
	report_row_json(ctx, k, "lockstat", buf);
	snprintf(key, sizeof(key), "jobs_per_s_%s", br->br_var->bv_name);
	report_result(ctx, key, br->br_jobs_per_s, "jobs/s");
	snprintf(key, sizeof(key), "pv_list_wait_ms_%s", br->br_var->bv_name);
	report_result(ctx, key, (double)br->br_pv_wait_ns / 1e6, "ms");
}

/* The review's table: each variant's top locks side by side. */
static void
bd_table(FILE *out, const struct bd_result *rs, int n)
{
	char cell[96];
	int i, r;

	fprintf(out,
	    "\ntotal lock wait in ns, top %d per variant "
	    "(as the r353149 review's table):\n",
	    BD_TOPLOCKS);
	for (i = 0; i < n; i++)
		fprintf(out, "| %-44s ", rs[i].br_var->bv_name);
	fprintf(out, "|\n");
	for (r = 0; r < BD_TOPLOCKS; r++) {
		for (i = 0; i < n; i++) {
			if (r < rs[i].br_ntop)
				snprintf(cell, sizeof(cell),
				    "%" PRIu64 " (%s:%s)",
				    rs[i].br_top[r].wait_ns,
				    rs[i].br_top[r].cls, rs[i].br_top[r].name);
			else
				cell[0] = '\0';
			fprintf(out, "| %-44s ", cell);
		}
		fprintf(out, "|\n");
	}
	fprintf(out, "\n%-16s %10s %10s %12s %12s %10s %16s %9s\n", "variant",
	    "jobs", "jobs/s", "faults", "shootdowns", "ipis", "pv_list_wait_ns",
	    "hashed/x");
	for (i = 0; i < n; i++)
		fprintf(out,
		    "%-16s %10" PRIu64 " %10.1f %12" PRIu64 " %12" PRIu64
		    " %10" PRIu64 " %16" PRIu64 " %9.1f\n",
		    rs[i].br_var->bv_name, rs[i].br_jobs, rs[i].br_jobs_per_s,
		    rs[i].br_faults, rs[i].br_shootdowns, rs[i].br_ipis,
		    rs[i].br_pv_wait_ns,
		    rs[i].br_pv_wait_ns > 0
			? (double)rs[0].br_pv_wait_ns / rs[i].br_pv_wait_ns
			: 0.0);
}

/* The pv list wait ratios against the first variant, as results. */
static void
bd_ratios(struct scen_ctx *ctx, const struct bd_result *rs, int n)
{
	char key[96];
	int i;

	for (i = 1; i < n; i++) {
		if (rs[i].br_pv_wait_ns == 0)
			continue;
		snprintf(key, sizeof(key), "pv_wait_ratio_%s_over_%s",
		    rs[0].br_var->bv_name, rs[i].br_var->bv_name);
		report_result(ctx, key,
		    (double)rs[0].br_pv_wait_ns / (double)rs[i].br_pv_wait_ns,
		    "x");
	}
}

/* A bar chart of each variant's top locks' wait (gnuplot). */
static bool
bd_gnuplot(struct scen_ctx *ctx, const struct bd_result *rs, int n)
{
	char data[1024], cmd[2400];
	const char *names[BD_TOPLOCKS * BD_MAXVARIANTS];
	int i, j, k, nn = 0;
	FILE *f;

	if (!report_gnuplot_found())
		return (false);
	/* Every lock that is in some variant's top list, once. */
	for (i = 0; i < n; i++)
		for (j = 0; j < rs[i].br_ntop; j++) {
			for (k = 0; k < nn; k++)
				if (strcmp(names[k], rs[i].br_top[j].name) == 0)
					break;
			if (k == nn)
				names[nn++] = rs[i].br_top[j].name;
		}
	snprintf(data, sizeof(data), "%s.dat", ctx->sx_plot);
	if ((f = fopen(data, "w")) == NULL)
		return (false);
	fprintf(f, "lock");
	for (i = 0; i < n; i++)
		fprintf(f, " \"%s\"", rs[i].br_var->bv_name);
	fprintf(f, "\n");
	for (k = 0; k < nn; k++) {
		fprintf(f, "\"%s\"", names[k]);
		for (i = 0; i < n; i++) {
			uint64_t w = 0;

			for (j = 0; j < rs[i].br_ntop; j++)
				if (strcmp(names[k], rs[i].br_top[j].name) == 0)
					w = rs[i].br_top[j].wait_ns;
			fprintf(f, " %.3f", (double)w / 1e6);
		}
		fprintf(f, "\n");
	}
	fclose(f);
	snprintf(cmd, sizeof(cmd),
	    "gnuplot -e \"set terminal png noenhanced size 1000,560; set "
	    "output '%s'; "
	    "set style data histograms; set style histogram clustered; "
	    "set style fill solid border -1; set boxwidth 0.9; "
	    "set xtics rotate by -35; set key top right; set grid y; "
	    "set logscale y; set ylabel 'total wait (ms), log scale'; "
	    "set title 'build: lock wait per variant (%s, %d CPUs)'; "
	    "plot for [i=2:%d] '%s' using i:xtic(1) title columnheader(i)\"",
	    ctx->sx_plot, ctx->sx_sim ? "sim" : "host", ctx->sx_ncpus, n + 1,
	    data);
	return (report_gnuplot_run(ctx->sx_out, cmd, ctx->sx_plot, data));
}

static void
bd_plot(struct scen_ctx *ctx, const struct bd_result *rs, int n)
{
	double max = 0;
	int i, w;

	if (ctx->sx_plot != NULL) {
		if (bd_gnuplot(ctx, rs, n))
			return;
		report_plot_fallback(ctx->sx_out, ctx->sx_plot);
	}
	for (i = 0; i < n; i++)
		if ((double)rs[i].br_pv_wait_ns > max)
			max = (double)rs[i].br_pv_wait_ns;
	fprintf(ctx->sx_out, "\npmap pv list wait (ms) per variant:\n");
	for (i = 0; i < n; i++) {
		w = max <= 0 ? 0
			     : (int)(50 * (double)rs[i].br_pv_wait_ns / max);
		fprintf(ctx->sx_out, "  %-16s |%.*s %.3f\n",
		    rs[i].br_var->bv_name, w,
		    "##################################################",
		    (double)rs[i].br_pv_wait_ns / 1e6);
	}
}

static void
bd_conf_set(const struct scen_ctx *ctx)
{
	bd.jobs = (uint64_t)scen_opt(ctx, "jobs", 0);
	bd.total = (uint64_t)scen_opt(ctx, "total", 0);
	if (bd.total == 0)
		bd.total = 4 * bd.jobs;
	bd.text_pages = atop(round_page((uint64_t)scen_opt(ctx, "text", 0)));
	bd.lib_pages = atop(round_page((uint64_t)scen_opt(ctx, "lib", 0)));
	bd.touch = (uint64_t)scen_opt(ctx, "touch", 0);
	bd.heap_pages = atop(round_page((uint64_t)scen_opt(ctx, "heap", 0)));
	bd.src_bytes = 32768;
	bd.obj_bytes = 16384;
	bd.nsrc = (uint64_t)scen_opt(ctx, "sources", 0);
	bd.images = (uint64_t)scen_opt(ctx, "images", 0);
	bd.seed = ctx->sx_seed;
}

/*
 * Memory: per running job its heap, data, stack, tables and pipe, the
 * images, library and sources once, and room for the kernel; what aging
 * holds comes on top.
 */
static uint64_t
bd_need(const struct scen_ctx *ctx)
{
	uint64_t jobs = (uint64_t)scen_opt(ctx, "jobs", 0);
	uint64_t per = (uint64_t)scen_opt(ctx, "heap", 0) + (1 << 20);
	uint64_t age = (uint64_t)scen_opt(ctx, "age", 0);
	uint64_t need = jobs * per +
	    (uint64_t)scen_opt(ctx, "text", 0) *
		(uint64_t)scen_opt(ctx, "images", 0) +
	    (uint64_t)scen_opt(ctx, "lib", 0) + ((uint64_t)128 << 20);

	return (need * 100 / (100 - age));
}

/*
 * Without --mem: the need, and at least 4 GiB, 2048 frames, 8 to each of
 * the 256 hashed locks (the review's machine had hundreds to each).
 */
static uint64_t
bd_physmem(const struct scen_ctx *ctx)
{
	uint64_t need = bd_need(ctx);

	return (need > ((uint64_t)4 << 30) ? need : (uint64_t)4 << 30);
}

static int
bd_check(const struct scen_ctx *ctx, char *err, size_t errlen)
{
	uint64_t need = bd_need(ctx);

	if (ctx->sx_mem != 0 && ctx->sx_mem < need) {
		snprintf(err, errlen,
		    "build: %" PRId64 " jobs need about %" PRIu64
		    " MiB of memory, --mem gives %" PRIu64
		    " MiB (omit --mem to get what they need)",
		    scen_opt(ctx, "jobs", 0), need >> 20, ctx->sx_mem >> 20);
		return (1);
	}
	if ((uint64_t)scen_opt(ctx, "heap", 0) < 2 * 32768) {
		snprintf(err, errlen, "build: --heap must hold a source (64k)");
		return (1);
	}
	return (0);
}

static int
bd_nvariants(const struct scen_ctx *ctx)
{
	return (scen_opt_count(ctx, "variants"));
}

static int
bd_variant_tunables(
    const struct scen_ctx *ctx, int v, const char **tun, int max)
{
	static char lock[64], batch[64];
	const struct bd_variant *bv =
	    &bd_variants[scen_opt(ctx, "variants", v)];

	if (max < 2)
		return (0);
	snprintf(lock, sizeof(lock), "vm.pmap.pv_lock=%s", bv->bv_lock);
	snprintf(batch, sizeof(batch), "vm.pmap.pv_batch=%d", bv->bv_batch);
	tun[0] = lock;
	tun[1] = batch;
	return (2);
}

static void
bd_run(struct scen_ctx *ctx)
{
	struct bd_result *br = &bd_results[ctx->sx_variant];
	int nv = ctx->sx_nvariants;

	bd_conf_set(ctx);
	ctx->sx_rows_name = "variants";
	memset(br, 0, sizeof(*br));
	br->br_var = &bd_variants[scen_opt(ctx, "variants", ctx->sx_variant)];
	fprintf(ctx->sx_out,
	    "build: %s, %" PRIu64 " jobs at once, %" PRIu64 " in all; %" PRIu64
	    " compilers of %" PRIu64 " KiB text, libc %" PRIu64 " KiB, %" PRIu64
	    " pages touched of each, heap %" PRIu64 " KiB\n",
	    br->br_var->bv_name, bd.jobs, bd.total, bd.images,
	    ptoa(bd.text_pages) >> 10, ptoa(bd.lib_pages) >> 10, bd.touch,
	    ptoa(bd.heap_pages) >> 10);
	bd_age(ctx, (uint64_t)scen_opt(ctx, "age", 0));
	if (bd_files(ctx) != 0) {
		bd_unage();
		ctx->sx_failed = 1;
		return;
	}
	bd_measure(ctx, br);
	bd_files_remove();
	bd_unage();
	bd_record(ctx, br);
	if (ctx->sx_variant != nv - 1)
		return;
	bd_table(ctx->sx_out, bd_results, nv);
	bd_ratios(ctx, bd_results, nv);
	bd_plot(ctx, bd_results, nv);
}

const struct scenario scen_build = {
	.sc_name = "build",
	.sc_descr = "a parallel build: --jobs compilers exec a shared image, "
		    "fault its text, read sources, write tmpfs and pipes; "
		    "lock wait per pv lock variant (FreeBSD r353149)",
	.sc_opts = {
	    { "jobs", "compile jobs kept running (make -j)", "104", 1,
		BD_MAXJOBS - 8, false, NULL },
	    { "total", "jobs in the measured build (0: 4 x --jobs)", "0", 0,
		1000000, false, NULL },
	    { "variants", "pv lock variants, each on its own machine: "
			  "hashed, superpage, superpage+batch, page+batch",
		"hashed,superpage,superpage+batch,page+batch", 0, 0, true,
		bd_variant_words },
	    { "text", "bytes of the compiler's text (shared)", "16m",
		PAGE_SIZE, (int64_t)1 << 32, false, NULL },
	    { "lib", "bytes of the shared library", "4m", PAGE_SIZE,
		(int64_t)1 << 32, false, NULL },
	    { "touch", "random text pages each job faults (a quarter as "
		       "many of the library)",
		"512", 1, 1 << 20, false, NULL },
	    { "heap", "bytes of each job's heap", "1m", 65536,
		(int64_t)1 << 32, false, NULL },
	    { "sources", "source files (/src/N.c, 32 KiB each)", "64", 1,
		100000, false, NULL },
	    { "images", "compiler images (job N runs ccN mod images: the "
			"programs a build runs)",
		"4", 1, 1000, false, NULL },
	    { "age", "percent of free memory held, scattered, by others "
		     "(a machine up for a while; 0: fresh from boot)",
		"50", 0, 90, false, NULL },
	},
	.sc_nopts = 10,
	.sc_tunables = NULL,
	.sc_check = bd_check,
	.sc_physmem = bd_physmem,
	.sc_run = bd_run,
	.sc_knobs = {
	    { "vm.pmap.pv_lock", "variants" },
	    { "vm.pmap.pv_batch", "variants" },
	    { NULL, NULL },
	},
	.sc_nvariants = bd_nvariants,
	.sc_variant_tunables = bd_variant_tunables,
};
