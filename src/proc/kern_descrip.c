/*
 * kern_descrip.c: open files and file tables (file.h, proc.h), and the
 * allocation of the process layer's structures.
 *
 * A process's file table is touched only by its own thread (fork copies
 * the parent's table from the parent's thread; exit frees it from the
 * exiting thread), so it takes no lock.  A file's reference count is
 * atomic: the descriptors of several processes name one file after fork.
 */
#include "kern/kassert.h"
#include "md/md_atomic.h"
#include "proc/file.h"
#include "proc/proc.h"
#include "proc/proc_int.h"
#include "vm/uma.h"

#include <errno.h>
#include <string.h>

#define FD_INITIAL 8
#define FD_MAX 4096

static uint64_t file_nopen; /* (a) files not yet freed */

/*
 * The zones of the process layer, as FreeBSD's "PROC", "Files" and
 * "pipe" zones: made at proc_init(), destroyed at proc_fini().
 */
static uma_zone_t proc_zone, file_zone, pipe_zone;

/* The size of struct pipe is private to sys_pipe.c. */
extern const size_t pipe_struct_size;

struct proc *
proc_zalloc(void)
{
	return (uma_zalloc(proc_zone, M_WAITOK));
}

void
proc_zfree(struct proc *p)
{
	uma_zfree(proc_zone, p);
}

struct pipe *
pipe_zalloc(void)
{
	return (uma_zalloc(pipe_zone, M_WAITOK));
}

void
pipe_zfree(struct pipe *pi)
{
	uma_zfree(pipe_zone, pi);
}

/*
 * Made by the first proc_spawn() (a kernel thread: uma needs one, and
 * nothing else makes processes, files or pipes), under proctree_lock;
 * destroyed at proc_stop().
 */
int
proc_zones_init(void)
{
	if (proc_zone != NULL)
		return (0);
	file_nopen = 0;
	proc_zone = uma_zcreate("PROC", sizeof(struct proc), NULL, NULL, NULL,
	    NULL, UMA_ALIGN_PTR, 0);
	file_zone = uma_zcreate("Files", sizeof(struct file), NULL, NULL, NULL,
	    NULL, UMA_ALIGN_PTR, 0);
	pipe_zone = uma_zcreate("pipe", pipe_struct_size, NULL, NULL, NULL,
	    NULL, UMA_ALIGN_CACHE, 0);
	if (proc_zone == NULL || file_zone == NULL || pipe_zone == NULL) {
		proc_zones_fini();
		return (ENOMEM);
	}
	return (0);
}

void
proc_zones_fini(void)
{
	if (proc_zone != NULL)
		uma_zdestroy(proc_zone);
	if (file_zone != NULL)
		uma_zdestroy(file_zone);
	if (pipe_zone != NULL)
		uma_zdestroy(pipe_zone);
	proc_zone = file_zone = pipe_zone = NULL;
}

struct file *
falloc(const struct fileops *ops, void *data, uint32_t flag)
{
	struct file *fp;

	fp = uma_zalloc(file_zone, M_WAITOK);
	if (fp == NULL)
		return (NULL);
	fp->f_ops = ops;
	fp->f_data = data;
	fp->f_count = 1;
	fp->f_flag = flag;
	(void)atomic_fetchadd_64(&file_nopen, 1);
	return (fp);
}

void
fhold(struct file *fp)
{
	(void)atomic_fetchadd_int(&fp->f_count, 1);
}

void
fdrop(struct file *fp)
{
	/* Release and acquire: every use before the last drop's close. */
	if (atomic_fetchadd_int(&fp->f_count, (uint32_t)-1) != 1)
		return;
	atomic_thread_fence_acq();
	fp->f_ops->fo_close(fp);
	uma_zfree(file_zone, fp);
	(void)atomic_fetchadd_64(&file_nopen, (uint64_t)-1);
}

void
ffree_unused(struct file *fp)
{
	uma_zfree(file_zone, fp);
	(void)atomic_fetchadd_64(&file_nopen, (uint64_t)-1);
}

uint64_t
file_count(void)
{
	return (atomic_load_64(&file_nopen));
}

/* Grows p's table to hold at least `n' descriptors. */
static int
fd_grow(struct proc *p, int n)
{
	struct filedesc *fdp = &p->p_fd;
	struct file **nf;
	int nn;

	if (n <= fdp->fd_nfiles)
		return (0);
	if (n > FD_MAX)
		return (EMFILE);
	for (nn = fdp->fd_nfiles == 0 ? FD_INITIAL : fdp->fd_nfiles; nn < n;)
		nn *= 2;
	nf = md_realloc(fdp->fd_ofiles, (size_t)nn * sizeof(*nf));
	if (nf == NULL)
		return (ENOMEM);
	memset(nf + fdp->fd_nfiles, 0,
	    (size_t)(nn - fdp->fd_nfiles) * sizeof(*nf));
	fdp->fd_ofiles = nf;
	fdp->fd_nfiles = nn;
	return (0);
}

/* The lowest free descriptor names fp (whose reference it takes over). */
int
fd_alloc(struct proc *p, struct file *fp, int *fdp)
{
	struct filedesc *fd = &p->p_fd;
	int error, i;

	for (i = 0; i < fd->fd_nfiles; i++)
		if (fd->fd_ofiles[i] == NULL)
			break;
	if (i == fd->fd_nfiles && (error = fd_grow(p, i + 1)) != 0)
		return (error);
	fd->fd_ofiles[i] = fp;
	fd->fd_nopen++;
	*fdp = i;
	return (0);
}

struct file *
fd_get(struct proc *p, int fd)
{
	if (fd < 0 || fd >= p->p_fd.fd_nfiles)
		return (NULL);
	return (p->p_fd.fd_ofiles[fd]);
}

int
fd_close(struct proc *p, int fd)
{
	struct file *fp = fd_get(p, fd);

	if (fp == NULL)
		return (EBADF);
	p->p_fd.fd_ofiles[fd] = NULL;
	p->p_fd.fd_nopen--;
	fdrop(fp);
	return (0);
}

int
fd_copy(struct proc *src, struct proc *dst)
{
	struct filedesc *s = &src->p_fd, *d = &dst->p_fd;
	int error, i;

	memset(d, 0, sizeof(*d));
	if (s->fd_nopen == 0)
		return (0);
	if ((error = fd_grow(dst, s->fd_nfiles)) != 0)
		return (error);
	for (i = 0; i < s->fd_nfiles; i++)
		if (s->fd_ofiles[i] != NULL) {
			fhold(s->fd_ofiles[i]);
			d->fd_ofiles[i] = s->fd_ofiles[i];
		}
	d->fd_nopen = s->fd_nopen;
	return (0);
}

void
fd_free(struct proc *p)
{
	int i;

	for (i = 0; i < p->p_fd.fd_nfiles; i++)
		if (p->p_fd.fd_ofiles[i] != NULL)
			(void)fd_close(p, i);
	md_free(p->p_fd.fd_ofiles);
	memset(&p->p_fd, 0, sizeof(p->p_fd));
}
