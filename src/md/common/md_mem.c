/*
 * md_mem.c: the physical-memory arena and file-backed disks, shared by both
 * backends; each disk transfer charges its cost (md_disk_charge()).
 *
 * The arena is one anonymous MAP_NORESERVE mapping with MADV_HUGEPAGE, so
 * the host backs it lazily (and with 2 MiB pages where it can); the direct
 * map is md_phys_base() + pa.
 */
#include "md/md.h"
#include "md/md_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

/* Host iovecs per system call in md_disk_readv()/md_disk_writev(). */
#define MD_DISK_IOVMAX 64

struct md_disk {
	int d_fd;
	uint64_t d_size;
};

static uint8_t *md_phys;     /* (c) */
static uint64_t md_phys_len; /* (c) */

int
md_phys_init(uint64_t size)
{
	void *p;

	md_phys = NULL;
	md_phys_len = 0;
	if (size == 0)
		return (0);
	if (md_host_physmem() != 0 && size > md_host_physmem())
		return (ENOMEM);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return (errno);
	(void)madvise(p, size, MADV_HUGEPAGE);
	md_phys = p;
	md_phys_len = size;
	return (0);
}

void
md_phys_fini(void)
{
	if (md_phys != NULL)
		munmap(md_phys, md_phys_len);
	md_phys = NULL;
	md_phys_len = 0;
}

uint8_t *
md_phys_base(void)
{
	return (md_phys);
}

uint64_t
md_phys_size(void)
{
	return (md_phys_len);
}

void
md_phys_release(uint64_t pa, uint64_t len)
{
	if (pa + len > md_phys_len)
		md_panic("md_phys_release: [%#llx, +%#llx) outside the arena",
		    (unsigned long long)pa, (unsigned long long)len);
	(void)madvise(md_phys + pa, len, MADV_DONTNEED);
}

/* Opens `path', a regular file (created if missing and `create'). */
static int
md_disk_open_path(const char *path, bool create, int *fdp)
{
	struct stat st;
	int fd, error;

	if (stat(path, &st) == 0) {
		if (!S_ISREG(st.st_mode))
			return (ENODEV);
	} else if (errno != ENOENT || !create)
		return (errno);
	/* Non-blocking: a FIFO swapped in meanwhile must not hang open(). */
	fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | (create ? O_CREAT : 0),
	    0600);
	if (fd < 0)
		return (errno);
	if (fstat(fd, &st) != 0)
		error = errno;
	else if (!S_ISREG(st.st_mode))
		error = ENODEV;
	else {
		*fdp = fd;
		return (0);
	}
	close(fd);
	return (error);
}

int
md_disk_open(const char *path, bool create, struct md_disk **diskp)
{
	struct md_disk *d;
	struct stat st;
	char tmpl[256];
	const char *dir;
	int fd = -1, error; /* set on every path; gcc 12 -O3 cannot tell */

	if (path == NULL) {
		dir = getenv("TMPDIR");
		snprintf(tmpl, sizeof(tmpl), "%s/vmlab-disk-XXXXXX",
		    dir != NULL ? dir : "/tmp");
		fd = mkstemp(tmpl);
		if (fd < 0)
			return (errno);
		unlink(tmpl);
	} else if ((error = md_disk_open_path(path, create, &fd)) != 0)
		return (error);
	if (fstat(fd, &st) != 0) {
		error = errno;
		close(fd);
		return (error);
	}
	d = malloc(sizeof(*d));
	if (d == NULL) {
		close(fd);
		return (ENOMEM);
	}
	d->d_fd = fd;
	d->d_size = (uint64_t)st.st_size;
	*diskp = d;
	return (0);
}

int
md_disk_truncate(struct md_disk *d, uint64_t size)
{
	if (size > (uint64_t)INT64_MAX)
		return (EFBIG);
	if (ftruncate(d->d_fd, (off_t)size) != 0)
		return (errno);
	d->d_size = size;
	return (0);
}

static int
md_disk_pread(struct md_disk *d, void *buf, uint64_t off, size_t len)
{
	ssize_t n;
	size_t done = 0;

	while (done < len) {
		n = pread(d->d_fd, (char *)buf + done, len - done,
		    (off_t)(off + done));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return (errno);
		}
		if (n == 0)
			return (EIO);
		done += (size_t)n;
	}
	return (0);
}

int
md_disk_read(struct md_disk *d, void *buf, uint64_t off, size_t len)
{
	int error = md_disk_pread(d, buf, off, len);

	md_disk_charge(len);
	return (error);
}

static int
md_disk_pwrite(struct md_disk *d, const void *buf, uint64_t off, size_t len)
{
	ssize_t n;
	size_t done = 0;

	while (done < len) {
		n = pwrite(d->d_fd, (const char *)buf + done, len - done,
		    (off_t)(off + done));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return (errno);
		}
		done += (size_t)n;
	}
	if (off + len > d->d_size)
		d->d_size = off + len;
	return (0);
}

int
md_disk_write(struct md_disk *d, const void *buf, uint64_t off, size_t len)
{
	int error = md_disk_pwrite(d, buf, off, len);

	md_disk_charge(len);
	return (error);
}

/*
 * Scatter-gather I/O: the buffers of `iov' at `off', in system calls of up
 * to MD_DISK_IOVMAX buffers, resuming after short transfers (the buffer
 * being done and the bytes of it already moved: i, skip).
 */
static int
md_disk_rwv(struct md_disk *d, const struct md_iovec *iov, int iovcnt,
    uint64_t off, bool write)
{
	struct iovec hv[MD_DISK_IOVMAX];
	uint64_t pos = off;
	size_t skip = 0, left;
	ssize_t n;
	int i = 0, k;

	for (;;) {
		while (i < iovcnt && iov[i].mi_len == skip) {
			i++;
			skip = 0;
		}
		if (i == iovcnt)
			break;
		for (k = 0; k < MD_DISK_IOVMAX && i + k < iovcnt; k++) {
			hv[k].iov_base = (char *)iov[i + k].mi_base;
			hv[k].iov_len = iov[i + k].mi_len;
		}
		hv[0].iov_base = (char *)hv[0].iov_base + skip;
		hv[0].iov_len -= skip;
		n = write ? pwritev(d->d_fd, hv, k, (off_t)pos)
			  : preadv(d->d_fd, hv, k, (off_t)pos);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return (errno);
		if (n == 0)
			return (EIO); /* end of file */
		pos += (uint64_t)n;
		for (; n > 0; i++, skip = 0) {
			left = iov[i].mi_len - skip;
			if ((size_t)n < left) {
				skip += (size_t)n;
				break;
			}
			n -= (ssize_t)left;
		}
	}
	if (write && pos > d->d_size)
		d->d_size = pos;
	return (0);
}

static uint64_t
md_iov_bytes(const struct md_iovec *iov, int iovcnt)
{
	uint64_t n = 0;
	int i;

	for (i = 0; i < iovcnt; i++)
		n += iov[i].mi_len;
	return (n);
}

int
md_disk_readv(
    struct md_disk *d, const struct md_iovec *iov, int iovcnt, uint64_t off)
{
	int error = md_disk_rwv(d, iov, iovcnt, off, false);

	md_disk_charge(md_iov_bytes(iov, iovcnt));
	return (error);
}

int
md_disk_writev(
    struct md_disk *d, const struct md_iovec *iov, int iovcnt, uint64_t off)
{
	int error = md_disk_rwv(d, iov, iovcnt, off, true);

	md_disk_charge(md_iov_bytes(iov, iovcnt));
	return (error);
}

uint64_t
md_disk_size(const struct md_disk *d)
{
	return (d->d_size);
}

void
md_disk_close(struct md_disk *d)
{
	close(d->d_fd);
	free(d);
}
