/*
 * swapwrite.c: laundering-like swap writes, vmlab against the raw disk.
 *
 *	swapwrite [--total SIZE] [--runs N] [--dir DIR] [--json PATH]
 *
 * Rows, each writing SIZE bytes (default 1 GiB) per run in 128 KiB units:
 *	vmlab write:   clusters of 32 pages (allocated with
 *	               vm_page_alloc_noobj(), in shuffled order so that no two
 *	               are adjacent in memory, as pages being laundered are):
 *	               vm_swap_alloc(32) (next fit: the clusters follow each
 *	               other on the device) then vm_swap_write(); the device
 *	               is the file DIR/swapwrite.vmlab of SIZE bytes;
 *	vmlab alloc:   vm_swap_alloc(32) alone: the allocator's ceiling;
 *	raw pwrite:    pwrite() of 128 KiB at consecutive offsets of a file
 *	               of the same size in DIR (swapwrite.raw), from a
 *	               buffer as large as vmlab's page pool (16 MiB), in turn;
 *	raw writev 32x4k: lseek() and writev() of 32 pages of that buffer
 *	               taken in the shuffled order vmlab's pages have: what
 *	               gathering scattered pages costs the host;
 *	raw pwrite+fdatasync: raw pwrite, then fdatasync() (timed): what the
 *	               device itself sustains.
 * Every row does a warm-up run, then N timed runs (default 5), the rows'
 * runs interleaved; before each run the file's dirty pages are written
 * back (untimed) and after it the swap blocks are freed (untimed), so
 * every run starts alike.  Rates are MB/s (10^6 bytes per second of
 * wall-clock time): median, min and max.  "x raw" is the row's median over
 * raw pwrite's.  vmlab write near raw writev 32x4k (the same system call
 * work without vmlab) means the host's page cache and file system are the
 * limit, not vmlab.  --json writes an array of {variant, mb_s, min, max,
 * bytes, runs, dir}.  The files are removed at the end.
 */
#define _POSIX_C_SOURCE 200809L

#include "vm/vm_page.h"
#include "vm/vm_swap.h"
#include "vmlab/vmlab.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define SW_CLUSTER VM_SWAP_MAXPAGES
#define SW_UNIT (SW_CLUSTER * PAGE_SIZE) /* bytes per write */
#define SW_POOL 4096			 /* pages written from, 16 MiB */
#define SW_MAXRUNS 64

/* Rows, in the order they run. */
enum sw_row_id {
	SW_VM_WRITE,
	SW_VM_ALLOC,
	SW_RAW,	       /* the reference of "x raw" */
	SW_RAW_GATHER, /* writev of 32 scattered pages */
	SW_RAW_SYNC,
	SW_NROWS
};

struct sw_row {
	const char *sr_name;
	double sr_mbs[SW_MAXRUNS];
	double sr_median, sr_min, sr_max;
};

static struct sw_row sw_rows[SW_NROWS] = {
	{ .sr_name = "vmlab write" },
	{ .sr_name = "vmlab alloc" },
	{ .sr_name = "raw pwrite" },
	{ .sr_name = "raw writev 32x4k" },
	{ .sr_name = "raw pwrite+fdatasync" },
};
static uint32_t sw_order[SW_POOL]; /* a shuffle of the pool's pages */
static uint64_t sw_total = 1ull << 30;
static int sw_runs = 5;
static char sw_vmpath[4096], sw_rawpath[4096];

static uint64_t
sw_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec);
}

static double
sw_mbs(uint64_t ns)
{
	return ((double)sw_total * 1e3 / (double)(ns > 0 ? ns : 1));
}

static void
sw_die(const char *what, int error)
{
	fprintf(stderr, "swapwrite: %s: %s\n", what, strerror(error));
	exit(1);
}

/* Writes back the dirty pages of `path' (untimed, between runs). */
static void
sw_flush(const char *path)
{
	int fd = open(path, O_RDWR);

	if (fd < 0 || fdatasync(fd) != 0)
		sw_die(path, errno);
	close(fd);
}

/* The pool's page numbers in a fixed random order. */
static void
sw_shuffle(void)
{
	uint64_t rs = 1, j;
	uint32_t t;
	int i;

	for (i = 0; i < SW_POOL; i++)
		sw_order[i] = (uint32_t)i;
	for (i = SW_POOL - 1; i > 0; i--) {
		rs = rs * 6364136223846793005ull + 1442695040888963407ull;
		j = (rs >> 33) % (uint64_t)(i + 1);
		t = sw_order[i];
		sw_order[i] = sw_order[j];
		sw_order[j] = t;
	}
}

/*
 * The runs, all in one kernel thread of a one-CPU machine (the raw rows'
 * system calls too), interleaved: run r of every row, then run r + 1, so
 * that drifts of the host's speed touch every row alike.
 */
struct sw_state {
	struct vm_page *ss_pages[SW_POOL]; /* as allocated */
	struct vm_page *ss_pool[SW_POOL];  /* shuffled */
	vm_daddr_t *ss_blks;
	uint64_t ss_nclusters;
	uint8_t *ss_rawbuf; /* SW_POOL pages */
	int ss_rawfd;
};

/* vmlab: every cluster allocated (and written); then all freed. */
static uint64_t
sw_vm_run(struct sw_state *ss, bool write)
{
	uint64_t c, t0, ns;
	int error;

	sw_flush(sw_vmpath);
	t0 = sw_now();
	for (c = 0; c < ss->ss_nclusters; c++) {
		if ((error = vm_swap_alloc(SW_CLUSTER, &ss->ss_blks[c])) != 0)
			sw_die("vm_swap_alloc", error);
		if (write &&
		    (error = vm_swap_write(ss->ss_blks[c],
			 &ss->ss_pool[(c * SW_CLUSTER) % SW_POOL],
			 SW_CLUSTER)) != 0)
			sw_die("vm_swap_write", error);
	}
	ns = sw_now() - t0;
	for (c = 0; c < ss->ss_nclusters; c++)
		vm_swap_free(ss->ss_blks[c], SW_CLUSTER);
	return (ns);
}

/* Raw: one unit at off, contiguous or gathered from shuffled pages. */
static void
sw_raw_write(struct sw_state *ss, uint64_t off, bool gather)
{
	struct iovec iov[SW_CLUSTER];
	uint64_t first = (off / PAGE_SIZE) % SW_POOL;
	ssize_t n;
	int i;

	if (!gather) {
		n = pwrite(ss->ss_rawfd, ss->ss_rawbuf + ptoa(first), SW_UNIT,
		    (off_t)off);
	} else {
		for (i = 0; i < SW_CLUSTER; i++) {
			iov[i].iov_base =
			    ss->ss_rawbuf + ptoa(sw_order[first + i]);
			iov[i].iov_len = PAGE_SIZE;
		}
		n = lseek(ss->ss_rawfd, (off_t)off, SEEK_SET) < 0
		    ? -1
		    : writev(ss->ss_rawfd, iov, SW_CLUSTER);
	}
	if (n != (ssize_t)SW_UNIT)
		sw_die("pwrite/writev", n < 0 ? errno : EIO);
}

static uint64_t
sw_raw_run(struct sw_state *ss, int row)
{
	uint64_t off, t0;

	if (fdatasync(ss->ss_rawfd) != 0)
		sw_die("fdatasync", errno);
	t0 = sw_now();
	for (off = 0; off + SW_UNIT <= sw_total; off += SW_UNIT)
		sw_raw_write(ss, off, row == SW_RAW_GATHER);
	if (row == SW_RAW_SYNC && fdatasync(ss->ss_rawfd) != 0)
		sw_die("fdatasync", errno);
	return (sw_now() - t0);
}

/* The pages, the raw file (created and sized as md_disk_open() does). */
static void
sw_setup(struct sw_state *ss)
{
	int i;

	for (i = 0; i < SW_POOL; i++) {
		ss->ss_pages[i] = vm_page_alloc_noobj(0);
		if (ss->ss_pages[i] == NULL)
			sw_die("vm_page_alloc_noobj", ENOMEM);
		memset(vm_page_dmap(ss->ss_pages[i]), 0x5a ^ i, PAGE_SIZE);
	}
	/* Shuffled: no cluster's pages are adjacent in memory. */
	for (i = 0; i < SW_POOL; i++)
		ss->ss_pool[i] = ss->ss_pages[sw_order[i]];
	ss->ss_rawbuf = aligned_alloc(PAGE_SIZE, ptoa(SW_POOL));
	if (ss->ss_rawbuf == NULL)
		sw_die("aligned_alloc", ENOMEM);
	memset(ss->ss_rawbuf, 0xa5, ptoa(SW_POOL));
	ss->ss_rawfd = open(sw_rawpath, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (ss->ss_rawfd < 0 || ftruncate(ss->ss_rawfd, (off_t)sw_total) != 0)
		sw_die(sw_rawpath, errno);
}

static void
sw_main(void *arg)
{
	struct sw_state *ss = arg;
	uint64_t ns;
	int i, r, row;

	sw_setup(ss);
	for (r = -1; r < sw_runs; r++)
		for (row = 0; row < SW_NROWS; row++) {
			ns = row < SW_RAW ? sw_vm_run(ss, row == SW_VM_WRITE)
					  : sw_raw_run(ss, row);
			if (r >= 0) /* run -1 warms up */
				sw_rows[row].sr_mbs[r] = sw_mbs(ns);
		}
	close(ss->ss_rawfd);
	free(ss->ss_rawbuf);
	for (i = 0; i < SW_POOL; i++)
		vm_page_free(ss->ss_pages[i]);
}

static void
sw_run_all(void)
{
	static char path_tun[4200], size_tun[64];
	const char *tun[] = { path_tun, size_tun };
	struct vmlab_config cfg;
	struct sw_state *ss = calloc(1, sizeof(*ss));
	char err[256];

	snprintf(path_tun, sizeof(path_tun), "vm.swap.path=%s", sw_vmpath);
	snprintf(size_tun, sizeof(size_tun), "vm.swap.size=%llu",
	    (unsigned long long)sw_total);
	ss->ss_nclusters = sw_total / SW_UNIT;
	ss->ss_blks = calloc(ss->ss_nclusters, sizeof(*ss->ss_blks));
	vmlab_config_default(&cfg);
	cfg.ncpus = 1;
	cfg.physmem = 256ull << 20;
	cfg.tunables = tun;
	cfg.ntunables = 2;
	if (vmlab_boot(&cfg, err, sizeof(err)) != 0 ||
	    vmlab_run(sw_main, ss) != 0 || vmlab_shutdown() != 0) {
		fprintf(stderr, "swapwrite: vmlab: %s\n", err);
		exit(1);
	}
	free(ss->ss_blks);
	free(ss);
}

/*
 * Results.
 */
static int
sw_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x < y ? -1 : x > y);
}

static void
sw_table(const char *dir)
{
	struct sw_row *row;
	int i;

	printf("\nswap writes: %llu MiB per run in %llu KiB units, %d runs "
	       "after a warm-up, in %s\n",
	    (unsigned long long)(sw_total >> 20),
	    (unsigned long long)(SW_UNIT >> 10), sw_runs, dir);
	printf("%-22s %10s %10s %10s %8s\n", "variant", "MB/s(med)", "min",
	    "max", "x raw");
	for (i = 0; i < SW_NROWS; i++) {
		row = &sw_rows[i];
		qsort(row->sr_mbs, (size_t)sw_runs, sizeof(double), sw_cmp);
		row->sr_min = row->sr_mbs[0];
		row->sr_max = row->sr_mbs[sw_runs - 1];
		row->sr_median = row->sr_mbs[sw_runs / 2];
	}
	for (i = 0; i < SW_NROWS; i++) {
		row = &sw_rows[i];
		printf("%-22s %10.0f %10.0f %10.0f %7.2fx\n", row->sr_name,
		    row->sr_median, row->sr_min, row->sr_max,
		    row->sr_median / sw_rows[SW_RAW].sr_median);
	}
}

static int
sw_json(const char *path, const char *dir)
{
	const struct sw_row *row;
	FILE *f = fopen(path, "w");
	int i;

	if (f == NULL) {
		perror(path);
		return (1);
	}
	fprintf(f, "[\n");
	for (i = 0; i < SW_NROWS; i++) {
		row = &sw_rows[i];
		fprintf(f,
		    "  {\"variant\": \"%s\", \"mb_s\": %.1f, \"min\": %.1f, "
		    "\"max\": %.1f, \"bytes\": %llu, \"runs\": %d, \"dir\": "
		    "\"%s\"}%s\n",
		    row->sr_name, row->sr_median, row->sr_min, row->sr_max,
		    (unsigned long long)sw_total, sw_runs, dir,
		    i + 1 < SW_NROWS ? "," : "");
	}
	fprintf(f, "]\n");
	return (fclose(f) != 0);
}

static void
sw_usage(const char *prog)
{
	fprintf(stderr,
	    "usage: %s [--total SIZE] [--runs N] [--dir DIR] [--json PATH]\n",
	    prog);
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *json = NULL, *dir = getenv("TMPDIR");
	int i, rv;

	if (dir == NULL)
		dir = "/tmp";
	for (i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			sw_usage(argv[0]);
		if (strcmp(argv[i], "--total") == 0) {
			if (vmlab_parse_size(argv[++i], &sw_total) != 0 ||
			    sw_total < SW_UNIT)
				sw_usage(argv[0]);
		} else if (strcmp(argv[i], "--runs") == 0) {
			sw_runs = atoi(argv[++i]);
			if (sw_runs < 1 || sw_runs > SW_MAXRUNS)
				sw_usage(argv[0]);
		} else if (strcmp(argv[i], "--dir") == 0)
			dir = argv[++i];
		else if (strcmp(argv[i], "--json") == 0)
			json = argv[++i];
		else
			sw_usage(argv[0]);
	}
	sw_total -= sw_total % SW_UNIT;
	snprintf(sw_vmpath, sizeof(sw_vmpath), "%s/swapwrite.vmlab", dir);
	snprintf(sw_rawpath, sizeof(sw_rawpath), "%s/swapwrite.raw", dir);
	sw_shuffle();
	sw_run_all();
	sw_table(dir);
	rv = json != NULL ? sw_json(json, dir) : 0;
	(void)unlink(sw_vmpath);
	(void)unlink(sw_rawpath);
	return (rv);
}
