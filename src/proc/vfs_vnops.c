/*
 * vfs_vnops.c: open files of the file layer (vfs.h): open and unlink,
 * read, write, lseek, fsize and mmap.
 *
 * An open file (struct vfs_file, a struct file's f_data) holds a
 * reference on its node and its own offset.  The offset is kept under an
 * offset lock (VF_OFFLOCK, a flag slept on with the node's "ncvn" lock as
 * the interlock, as FreeBSD's foffset_lock): a read or write holds it
 * from the load of the offset to the store of the new one, so that two
 * processes sharing a descriptor after fork do not read the same bytes
 * twice.  It is taken before the node's lock and is not a lock object.
 *
 * read, per page of the range (steps):
 *	1. under the object's write lock, find the page, or page it in
 *	   from the object's pager (busy, paging in progress, the lock
 *	   dropped during the I/O, as the fault handler does); a tmpfs
 *	   page that neither the object nor its pager has reads as zeros
 *	   and is not allocated;
 *	2. wire the page, unbusy it, unlock the object;
 *	3. copyout from the page's direct-map address: the copy may fault
 *	   on the user buffer (and sleep), so no object lock and no busy
 *	   is held (a busy page would deadlock a buffer that maps the same
 *	   page); the wiring keeps the page in the object, away from the
 *	   page daemon;
 *	4. unwire (which requeues the page on the active queue).
 * write (tmpfs) is the same with copyin, a missing page allocated
 * zero-filled, and the page marked dirty (its swap copy released) in
 * step 1, before the copy: the wiring keeps the page daemon from
 * laundering it in between.
 *
 * Locks held: a read holds its tmpfs node's lock shared across the whole
 * call (faults on the user buffer included), a write exclusive; a
 * registered file has no node lock (its size and pages' contents never
 * change).  Order: offset lock -> "tmpfs" -> (vm map, vm object...).
 *
 * Locking key: (h) the node's "ncvn" lock; (O) the offset lock.
 */
#include "kern/kassert.h"
#include "kern/mutex.h"
#include "kern/sleepq.h"
#include "md/md_atomic.h"
#include "proc/file.h"
#include "proc/proc.h"
#include "proc/proc_int.h"
#include "proc/vfs_int.h"
#include "vm/vm_map.h"
#include "vm/vm_object.h"
#include "vm/vm_page.h"
#include "vm/vm_pageout.h"
#include "vm/vm_pagequeue.h"
#include "vm/vm_uaccess.h"

#include <errno.h>
#include <string.h>

/* vf_flags */
#define VF_OFFLOCK 0x1 /* a read, write or seek owns the offset */
#define VF_OFFWANT 0x2 /* someone sleeps for it */

struct vfs_file {
	struct vfs_node *vf_node; /* (c) referenced */
	uint64_t vf_offset;	  /* (O) */
	uint32_t vf_flags;	  /* (h) VF_* */
};

static int64_t vfs_read(struct file *fp, vm_offset_t uaddr, size_t len);
static int64_t vfs_write(struct file *fp, vm_offset_t uaddr, size_t len);
static void vfs_close(struct file *fp);

static const struct fileops vfs_fileops = {
	.fo_read = vfs_read,
	.fo_write = vfs_write,
	.fo_close = vfs_close,
};

/* What a read of a hole copies out. */
static const uint8_t vfs_zeros[PAGE_SIZE];

static struct vfs_file *
vfs_file_of(struct file *fp)
{
	return ((struct vfs_file *)fp->f_data);
}

/* Takes vf's offset lock and returns the offset. */
static uint64_t
vfs_foffset_lock(struct vfs_file *vf)
{
	struct mtx *m = vfs_nc_lock(vf->vf_node);
	uint64_t off;

	mtx_lock(m);
	while ((vf->vf_flags & VF_OFFLOCK) != 0) {
		vf->vf_flags |= VF_OFFWANT;
		(void)msleep(&vf->vf_flags, &m->lock_object, 0, "vfsoff", 0);
	}
	vf->vf_flags |= VF_OFFLOCK;
	off = vf->vf_offset;
	mtx_unlock(m);
	return (off);
}

static void
vfs_foffset_unlock(struct vfs_file *vf, uint64_t off)
{
	struct mtx *m = vfs_nc_lock(vf->vf_node);

	mtx_lock(m);
	vf->vf_offset = off;
	if ((vf->vf_flags & VF_OFFWANT) != 0)
		wakeup(&vf->vf_flags);
	vf->vf_flags &= ~(VF_OFFLOCK | VF_OFFWANT);
	mtx_unlock(m);
}

static uint64_t
vfs_node_size(struct vfs_node *vn)
{
	return (atomic_load_64(&vn->vn_size));
}

/*
 * Steps 1 and 2 of a read or write: page pindex of obj wired in *mp, or
 * NULL for a read of a tmpfs hole.  0, EIO (the page-in failed) or ENOMEM
 * (the page daemon declared out-of-memory).  No lock held on entry or
 * return.
 */
static int
vfs_page_hold(
    struct vm_object *obj, vm_pindex_t pindex, bool write, struct vm_page **mp)
{
	const struct vm_pagerops *ops;
	struct vm_page *m;
	bool has;
	int error;

	for (;;) {
		vm_object_lock(obj);
		if ((m = vm_page_lookup(obj, pindex)) != NULL) {
			if (!vm_page_tryxbusy(m)) {
				/* Drops the object lock; look again. */
				vm_page_busy_sleep(m, obj);
				continue;
			}
			VM_ASSERT(m->valid != 0,
			    ("%s: page %p not valid", __func__, (void *)m));
			break;
		}
		ops = vm_pager_ops(obj);
		has = ops != NULL && ops->pgo_haspage(obj, pindex);
		if (!has && !write) {
			vm_object_unlock(obj);
			*mp = NULL;
			return (0);
		}
		if ((m = vm_page_alloc_obj(obj, pindex, &error)) == NULL) {
			vm_object_unlock(obj);
			/* Out of pages: wait for the daemon, unless OOM. */
			if (vm_pageout_oom_declared())
				return (ENOMEM);
			vm_pageout_wait_free();
			continue;
		}
		if (has) {
			vm_object_pip_add(obj, 1);
			error = ops->pgo_getpages(obj, &m, 1);
			vm_object_pip_wakeup(obj);
			if (error != 0) {
				/* Keeps the pager's copy, the only one. */
				vm_page_reclaim_obj(m);
				vm_object_unlock(obj);
				return (error);
			}
		} else
			md_page_zero(vm_page_dmap(m), PAGE_SIZE);
		m->valid = VM_PAGE_BITS_ALL;
		vm_page_activate(m);
		break;
	}
	if (write && m->dirty == 0) {
		m->dirty = VM_PAGE_BITS_ALL;
		/* The pager's copy is stale from now on. */
		ops = vm_pager_ops(obj);
		if (ops != NULL && ops->pgo_freespace != NULL)
			ops->pgo_freespace(obj, pindex);
	}
	vm_page_reference(m);
	vm_page_wire(m);
	vm_page_xunbusy(m);
	vm_object_unlock(obj);
	*mp = m;
	return (0);
}

/*
 * Copies n bytes between byte `pgoff' of page pindex and user memory
 * (steps 1 to 4).  0, or an errno of the page-in or the copy.
 */
static int
vfs_page_copy(struct vm_object *obj, vm_pindex_t pindex, size_t pgoff,
    vm_offset_t uaddr, size_t n, bool write)
{
	struct vm_page *m;
	int error;

	if ((error = vfs_page_hold(obj, pindex, write, &m)) != 0)
		return (error);
	if (m == NULL)
		return (copyout(vfs_zeros, uaddr, n));
	if (write)
		error = copyin(uaddr, vm_page_dmap(m) + pgoff, n);
	else
		error = copyout(vm_page_dmap(m) + pgoff, uaddr, n);
	vm_page_unwire(m);
	return (error);
}

/* The bytes of the chunk at `off' inside its page and `left'. */
static size_t
vfs_chunk(uint64_t off, uint64_t left)
{
	uint64_t n = PAGE_SIZE - (off & PAGE_MASK);

	return ((size_t)(n < left ? n : left));
}

static int64_t
vfs_read(struct file *fp, vm_offset_t uaddr, size_t len)
{
	struct vfs_file *vf = vfs_file_of(fp);
	struct vfs_node *vn = vf->vf_node;
	uint64_t off, size, done = 0;
	size_t n;
	int error = 0;

	if (len == 0)
		return (0);
	off = vfs_foffset_lock(vf);
	if (vn->vn_type == VNT_TMP)
		lockmgr_slock(&vn->vn_lock);
	size = vfs_node_size(vn);
	while (done < len && off < size) {
		n = vfs_chunk(off,
		    (uint64_t)len - done < size - off ? (uint64_t)len - done
						      : size - off);
		error = vfs_page_copy(vn->vn_object, atop(off),
		    (size_t)(off & PAGE_MASK), uaddr + done, n, false);
		if (error != 0)
			break;
		done += n;
		off += n;
	}
	if (vn->vn_type == VNT_TMP)
		lockmgr_unlock(&vn->vn_lock);
	vfs_foffset_unlock(vf, off);
	vfs_count_io((int64_t)done, 0);
	/* A partial read reports what it read; an error only if nothing. */
	return (done > 0 ? (int64_t)done : -error);
}

/*
 * Zeroes the gap [from, to) that a write past the end of vn leaves: its
 * holes read as zeros anyway, but a resident page there may hold bytes
 * that a mapping wrote past the end or that a failed copy left.  Node
 * locked exclusive.
 */
static int
vfs_tmp_zero_gap(struct vfs_node *vn, uint64_t from, uint64_t to)
{
	struct vm_object *obj = vn->vn_object;
	struct vm_page *m;
	vm_pindex_t pindex = atop(from);
	uint64_t a, b;
	int error;

	for (;;) {
		vm_object_lock(obj);
		m = vm_radix_lookup_ge(&obj->rtree, pindex);
		pindex = m != NULL ? m->pindex : 0;
		vm_object_unlock(obj);
		if (m == NULL || ptoa(pindex) >= to)
			return (0);
		if ((error = vfs_page_hold(obj, pindex, true, &m)) != 0)
			return (error);
		a = from > ptoa(pindex) ? from : ptoa(pindex);
		b = to < ptoa(pindex + 1) ? to : ptoa(pindex + 1);
		memset(vm_page_dmap(m) + (a & PAGE_MASK), 0, (size_t)(b - a));
		vm_page_unwire(m);
		pindex++;
	}
}

static int64_t
vfs_write(struct file *fp, vm_offset_t uaddr, size_t len)
{
	struct vfs_file *vf = vfs_file_of(fp);
	struct vfs_node *vn = vf->vf_node;
	uint64_t off, size, max = vfs_tmp_maxsize(), done = 0;
	size_t n;
	int error = 0;

	if (vn->vn_type != VNT_TMP)
		return (-EBADF); /* never opened for writing */
	if (len == 0)
		return (0);
	off = vfs_foffset_lock(vf);
	lockmgr_xlock(&vn->vn_lock);
	size = vfs_node_size(vn);
	if (off >= max) {
		error = EFBIG;
		goto out;
	}
	if ((uint64_t)len > max - off)
		len = (size_t)(max - off);
	if (off > size && (error = vfs_tmp_zero_gap(vn, size, off)) != 0)
		goto out;
	while (done < len) {
		n = vfs_chunk(off, (uint64_t)len - done);
		error = vfs_page_copy(vn->vn_object, atop(off),
		    (size_t)(off & PAGE_MASK), uaddr + done, n, true);
		if (error != 0)
			break;
		done += n;
		off += n;
		if (off > size) {
			size = off;
			atomic_store_64(&vn->vn_size, size);
		}
	}
out:
	lockmgr_unlock(&vn->vn_lock);
	vfs_foffset_unlock(vf, off);
	vfs_count_io(0, (int64_t)done);
	return (done > 0 ? (int64_t)done : -error);
}

static void
vfs_close(struct file *fp)
{
	struct vfs_file *vf = vfs_file_of(fp);

	vfs_node_rele(vf->vf_node);
	md_free(vf);
}

void
vfs_tmp_truncate(struct vfs_node *vn)
{
	struct vm_object *obj = vn->vn_object;
	struct vm_page *m;
	vm_pindex_t next = 0;

	VM_ASSERT(lockmgr_xowned(&vn->vn_lock),
	    ("%s: %s not locked", __func__, vn->vn_name));
	vm_object_lock(obj);
	while ((m = vm_radix_lookup_ge(&obj->rtree, next)) != NULL) {
		if (!vm_page_tryxbusy(m)) {
			vm_page_busy_sleep(m, obj);
			vm_object_lock(obj);
			continue;
		}
		next = m->pindex + 1;
		if (atomic_load_int(&m->wire_count) != 0) {
			/*
			 * Reads and writes wire pages only under the node
			 * lock, held here; a wiring of another kind keeps
			 * the page, which is zeroed instead.
			 */
			md_page_zero(vm_page_dmap(m), PAGE_SIZE);
			vm_page_xunbusy(m);
			continue;
		}
		vm_page_free_obj(m);
	}
	/* Pages paged out: their swap blocks. */
	if (obj->type == OBJT_SWAP)
		vm_swap_meta_free_range(&obj->swp, 0, (vm_pindex_t)-1);
	atomic_store_64(&vn->vn_size, 0);
	vm_object_unlock(obj);
}

/*
 * The system calls' kernel halves (proc_int.h; kern_syscall.c has the
 * calls).
 */
static bool
vfs_is_tmp(const char *path)
{
	return (strncmp(path, VFS_TMPDIR, VFS_TMPDIRLEN) == 0);
}

/* 0, ENAMETOOLONG, ENOENT (not absolute, or /tmp itself), EINVAL (NULL). */
static int
vfs_path_check(const char *path)
{
	size_t len;

	if (path == NULL)
		return (EINVAL);
	len = vfs_namelen(path);
	if (len == VFS_NAMEMAX)
		return (ENAMETOOLONG);
	if (path[0] != '/' || len == 1 || len == VFS_TMPDIRLEN ||
	    strcmp(path, "/tmp") == 0)
		return (ENOENT);
	return (0);
}

/* The node for u_open(), referenced: looked up or created. */
static int
vfs_open_node(const char *path, int flags, struct vfs_node **vnp)
{
	bool wr = (flags & O_ACCMODE) != O_RDONLY;
	struct vfs_node *vn;
	int error = 0;

	if (!vfs_is_tmp(path)) {
		vn = vfs_nc_lookup(path);
		if (vn == NULL)
			return ((flags & O_CREAT) != 0 ? EROFS : ENOENT);
		if ((flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL))
			error = EEXIST;
		else if (wr || (flags & O_TRUNC) != 0)
			error = EROFS;
		if (error != 0) {
			vfs_node_rele(vn);
			return (error);
		}
		*vnp = vn;
		return (0);
	}
	if ((flags & O_CREAT) == 0) {
		lockmgr_slock(&vfs_tmpdir_lock);
		vn = vfs_nc_lookup(path);
		lockmgr_unlock(&vfs_tmpdir_lock);
		*vnp = vn;
		return (vn == NULL ? ENOENT : 0);
	}
	lockmgr_xlock(&vfs_tmpdir_lock);
	vn = vfs_nc_lookup(path);
	if (vn == NULL)
		vn = vfs_tmp_create(path, &error);
	else if ((flags & O_EXCL) != 0) {
		lockmgr_unlock(&vfs_tmpdir_lock);
		vfs_node_rele(vn);
		return (EEXIST);
	}
	lockmgr_unlock(&vfs_tmpdir_lock);
	*vnp = vn;
	return (error);
}

int
kern_open(struct proc *p, const char *path, int flags, int *fdp)
{
	struct vfs_node *vn = NULL;
	struct vfs_file *vf;
	struct file *fp;
	uint32_t fflag;
	int error;

	if ((flags & ~(O_ACCMODE | O_CREAT | O_TRUNC | O_EXCL)) != 0 ||
	    (flags & O_ACCMODE) == O_ACCMODE ||
	    (flags & (O_EXCL | O_CREAT)) == O_EXCL ||
	    (flags & (O_TRUNC | O_ACCMODE)) == O_TRUNC)
		return (EINVAL);
	if ((error = vfs_path_check(path)) != 0)
		return (error);
	if ((error = vfs_open_node(path, flags, &vn)) != 0)
		return (error);
	fflag = (flags & O_ACCMODE) == O_RDONLY ? FREAD
	    : (flags & O_ACCMODE) == O_WRONLY	? FWRITE
						: FREAD | FWRITE;
	if ((vf = md_calloc(1, sizeof(*vf))) == NULL ||
	    (fp = falloc(&vfs_fileops, vf, fflag)) == NULL) {
		md_free(vf);
		vfs_node_rele(vn);
		return (ENOMEM);
	}
	vf->vf_node = vn;
	if ((error = fd_alloc(p, fp, fdp)) != 0) {
		/* Never in a table: freed without its close. */
		ffree_unused(fp);
		md_free(vf);
		vfs_node_rele(vn);
		return (error);
	}
	if ((flags & O_TRUNC) != 0) {
		lockmgr_xlock(&vn->vn_lock);
		vfs_tmp_truncate(vn);
		lockmgr_unlock(&vn->vn_lock);
	}
	vfs_count_open();
	return (0);
}

int
kern_unlink(const char *path)
{
	struct vfs_node *vn;
	int error;

	if ((error = vfs_path_check(path)) != 0)
		return (error);
	if (!vfs_is_tmp(path)) {
		if ((vn = vfs_nc_lookup(path)) == NULL)
			return (ENOENT);
		vfs_node_rele(vn);
		return (EROFS);
	}
	lockmgr_xlock(&vfs_tmpdir_lock);
	if ((vn = vfs_nc_lookup(path)) == NULL) {
		lockmgr_unlock(&vfs_tmpdir_lock);
		return (ENOENT);
	}
	/* The node's lock, exclusive: no read or write is in progress. */
	lockmgr_xlock(&vn->vn_lock);
	vfs_tmp_remove(vn);
	lockmgr_unlock(&vn->vn_lock);
	lockmgr_unlock(&vfs_tmpdir_lock);
	/* The lookup's reference and the name's. */
	vfs_node_rele(vn);
	vfs_node_rele(vn);
	return (0);
}

/* The open file behind fd: EBADF, or ESPIPE for another kind of file. */
static int
vfs_fd_get(struct proc *p, int fd, int notfile, struct vfs_file **vfp)
{
	struct file *fp = fd_get(p, fd);

	if (fp == NULL)
		return (EBADF);
	if (fp->f_ops != &vfs_fileops)
		return (notfile);
	*vfp = vfs_file_of(fp);
	return (0);
}

int
kern_lseek(struct proc *p, int fd, int64_t off, int whence, int64_t *resp)
{
	struct vfs_file *vf;
	uint64_t cur;
	int64_t base;
	int error;

	if ((error = vfs_fd_get(p, fd, ESPIPE, &vf)) != 0)
		return (error);
	cur = vfs_foffset_lock(vf);
	switch (whence) {
	case SEEK_SET:
		base = 0;
		break;
	case SEEK_CUR:
		base = (int64_t)cur;
		break;
	case SEEK_END:
		base = (int64_t)vfs_node_size(vf->vf_node);
		break;
	default:
		base = -1;
		break;
	}
	/* A bad whence, a negative result or an overflow. */
	if (base < 0 || (off > 0 && base > INT64_MAX - off) || base + off < 0)
		error = EINVAL;
	else {
		cur = (uint64_t)(base + off);
		*resp = (int64_t)cur;
	}
	vfs_foffset_unlock(vf, cur);
	return (error);
}

int
kern_fsize(struct proc *p, int fd, int64_t *sizep)
{
	struct vfs_file *vf;
	int error;

	if ((error = vfs_fd_get(p, fd, ESPIPE, &vf)) != 0)
		return (error);
	*sizep = (int64_t)vfs_node_size(vf->vf_node);
	return (0);
}

/*
 * The protections a mapping of the open file may ever have: a private
 * mapping anything (its writes are copies), a shared one reads, and
 * writes only of a tmpfs file open for writing.  EACCES if `prot' asks
 * for more, or the file is not open for reading.
 */
static int
vfs_mmap_maxprot(struct file *fp, struct vfs_node *vn, vm_prot_t prot,
    int flags, vm_prot_t *maxprotp)
{
	uint32_t fflag = atomic_load_int(&fp->f_flag);
	vm_prot_t max = VM_PROT_ALL;

	if ((fflag & FREAD) == 0)
		return (EACCES);
	if ((flags & MAP_SHARED) != 0 &&
	    (vn->vn_type != VNT_TMP || (fflag & FWRITE) == 0))
		max &= (vm_prot_t)~VM_PROT_WRITE;
	if ((prot & ~max & VM_PROT_ALL) != 0)
		return (EACCES);
	*maxprotp = max;
	return (0);
}

int
kern_mmap_file(struct proc *p, vm_offset_t *addrp, size_t len, int prot,
    int flags, int fd, int64_t off)
{
	struct file *fp = fd_get(p, fd);
	struct vfs_node *vn;
	vm_prot_t maxprot;
	int error;

	if (fp == NULL)
		return (EBADF);
	if (fp->f_ops != &vfs_fileops)
		return (ENODEV);
	if (off < 0 || (off & PAGE_MASK) != 0 || (flags & MAP_ANON) != 0)
		return (EINVAL);
	vn = vfs_file_of(fp)->vf_node;
	if ((error = vfs_mmap_maxprot(
		 fp, vn, (vm_prot_t)prot, flags, &maxprot)) != 0)
		return (error);
	/* The map takes its own reference on the object. */
	return (vm_mmap(&p->p_vmspace->vm_map, addrp, len, (vm_prot_t)prot,
	    maxprot, flags, vn->vn_object, (uint64_t)off));
}
