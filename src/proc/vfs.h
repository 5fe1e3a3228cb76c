/*
 * vfs.h: files for programs: a flat namespace of read-only files backed
 * by host files through the vnode pager, and a memory file system under
 * "/tmp/".
 *
 * Namespace.  A name is an absolute path of at most VFS_NAMEMAX - 1
 * bytes.  Names outside "/tmp/" are read-only "disk" files, registered
 * by the kernel with vfs_file_register() (a vnode object over a host file,
 * as proc_image_register() makes for images); names under "/tmp/" are
 * tmpfs nodes that programs create, write, read and unlink, whose data
 * is an anonymous object (pageable, swap-backed under pressure).
 *
 * Name cache.  Every open looks its name up in a hash of names to
 * vnodes; each chain is protected by one of VFS_NCLOCKS sleep mutexes
 * named "ncvn" (FreeBSD's name cache vnode locks), hashed by name.
 *
 * tmpfs.  Each tmpfs node has a lockmgr named "tmpfs" (the vnode lock):
 * exclusive for a write (which may grow the file) and for unlink, shared
 * for a read.  The "/tmp" directory is itself a node with such a lock,
 * taken exclusively to create or unlink a name, shared to look one up:
 * parallel jobs making temporary files meet on it, as they do in
 * FreeBSD.
 *
 * Open files.  An open file holds a reference on its vnode and has its own
 * offset.  read() copies from the file's pages (faulting them in through
 * the pager, as the buffer cache would) to user memory; write() (tmpfs
 * only) copies from user memory into the file's pages.  A tmpfs node
 * whose name is unlinked lives until its last open file is closed and its
 * last mapping is gone, then its pages are freed.
 *
 * Mapping.  u_mmap_file() maps a file's object: MAP_SHARED shares its
 * pages (a shared library's text), MAP_PRIVATE maps them copy-on-write.
 *
 * Lock order (ranks in docs/LOCKING.md): "tmpfs" (the directory, then a
 * node) before "ncvn", before "vm map (user)" and "vm object".
 *
 * Locking key: (c) constant after creation; (n) the node's "tmpfs" lock;
 * (h) the name's "ncvn" chain lock; (a) atomic.
 */
#ifndef VMLAB_VFS_H
#define VMLAB_VFS_H

#include "vm/vm_param.h"

#include <stddef.h>
#include <stdint.h>

#define VFS_NAMEMAX 128
#define VFS_NCLOCKS 64

/* u_open() flags (as <fcntl.h>). */
#define O_RDONLY 0x0000
#define O_WRONLY 0x0001
#define O_RDWR 0x0002
#define O_ACCMODE 0x0003
#define O_CREAT 0x0200
#define O_TRUNC 0x0400
#define O_EXCL 0x0800

/* u_lseek() whence. */
#define SEEK_SET 0
#define SEEK_CUR 1
#define SEEK_END 2

/*
 * Kernel side.  vfs_file_register(): the read-only file `name' (not under
 * "/tmp/") over the host file at `path' (its whole length); 0, EEXIST,
 * EINVAL (a bad name), ENOMEM, or the file's error, with a one-line
 * message in err.  Files live until vfs_stop() (their objects' pages
 * must be freed while the CPUs run, as proc_stop() frees the images').
 */
int vfs_file_register(
    const char *name, const char *path, char *err, size_t errlen);

struct vfs_stats {
	uint64_t files;	     /* registered read-only files */
	uint64_t tmp_nodes;  /* tmpfs nodes alive (named or not) */
	uint64_t tmp_pages;  /* resident pages of tmpfs nodes */
	uint64_t opens;	     /* successful opens */
	uint64_t lookups;    /* name cache lookups */
	uint64_t bytes_read; /* by read() of files */
	uint64_t bytes_written;
};
void vfs_stats(struct vfs_stats *st);
/* Name cache, nodes and counts agree; violations (vm_check_fail). */
int vfs_check(void);

/* Boot (called by proc_init/proc_stop/proc_fini). */
int vfs_init(void);
/* Removes every tmpfs name (the nodes go with their last reference). */
void vfs_stop(void);
void vfs_fini(void);

/*
 * System calls (syscall.h conventions: -errno on error).  `path' is a C
 * string of the program, as u_exec()'s image name.
 *	u_open(path, flags)	 a descriptor; ENOENT, EEXIST (O_EXCL),
 *				 EROFS (write or create outside /tmp),
 *				 ENAMETOOLONG, EINVAL (bad flags), EMFILE
 *	u_unlink(path)		 tmpfs only (EROFS otherwise), ENOENT
 *	u_lseek(fd, off, whence) the new offset; EINVAL, ESPIPE (a pipe)
 *	u_fsize(fd)		 the file's size in bytes; ESPIPE (a pipe)
 *	u_mmap_file(addr, len, prot, flags, fd, off) the address; off is
 *				 page-aligned; EACCES (write to a read-only
 *				 file with MAP_SHARED), ENODEV (a pipe)
 * u_read/u_write/u_close of syscall.h work on files too.
 */
int u_open(const char *path, int flags);
int u_unlink(const char *path);
int64_t u_lseek(int fd, int64_t off, int whence);
int64_t u_fsize(int fd);
int64_t u_mmap_file(
    vm_offset_t addr, size_t len, int prot, int flags, int fd, int64_t off);

#endif /* !VMLAB_VFS_H */
