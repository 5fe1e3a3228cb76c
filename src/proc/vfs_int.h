/*
 * vfs_int.h: what the files of the file layer (vfs.h) share: nodes and
 * the name cache (vfs_cache.c), open files and their operations
 * (vfs_vnops.c).
 *
 * A node is a registered read-only file (VNT_FILE: a vnode object over a
 * host file, constant size) or a tmpfs node (VNT_TMP: an anonymous
 * object, a size that writes grow, a "tmpfs" lockmgr).  References: the
 * name's (while the node is in the name cache) and one per open file.
 * The last release frees the node and drops its object reference;
 * mappings hold references of their own on the object, so the pages of
 * an unlinked, closed but still mapped tmpfs file live until the last
 * mapping goes, with the object.
 *
 * Locking key: (c) constant after creation; (h) the "ncvn" lock of the
 * node's name hash; (n) the node's "tmpfs" lock, exclusive to write;
 * (d) the "/tmp" directory's "tmpfs" lock, exclusive to write; (a)
 * atomic.  vn_size of a tmpfs node is (n) to write and also written with
 * an atomic store, so that fsize and lseek may read it without the lock.
 */
#ifndef VMLAB_VFS_INT_H
#define VMLAB_VFS_INT_H

#include "kern/lockmgr.h"
#include "kern/queue.h"
#include "proc/vfs.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm_object;
struct mtx;

#define VNT_FILE 1 /* a registered read-only file */
#define VNT_TMP 2  /* a tmpfs node */

#define VFS_TMPDIR "/tmp/"
#define VFS_TMPDIRLEN 5

struct vfs_node {
	LIST_ENTRY(vfs_node) vn_hash; /* (h) name cache chain */
	LIST_ENTRY(vfs_node) vn_all;  /* (d) every tmpfs node */
	struct lockmgr vn_lock;	      /* "tmpfs" (VNT_TMP only) */
	struct vm_object *vn_object;  /* (c) the data */
	uint64_t vn_size;	      /* (n,a) bytes; (c) for files */
	uint32_t vn_refs;	      /* (a) the name's and open files' */
	uint32_t vn_hashv;	      /* (c) hash of the name */
	int vn_type;		      /* (c) VNT_* */
	bool vn_linked;		      /* (h) in the name cache */
	char vn_name[VFS_NAMEMAX];    /* (c) */
};

/*
 * vfs_cache.c.  vfs_nc_lookup(): the node named `name' with a reference
 * taken, or NULL; counts a lookup.  vfs_node_rele(): drops a reference;
 * the last one frees the node (no lock held).  vfs_nc_lock(): the "ncvn"
 * lock of a node's name (also the interlock of its open files' offset
 * locks).  vfs_tmpdir_lock: the "/tmp" directory node's lock.
 */
struct vfs_node *vfs_nc_lookup(const char *name);
/* The length of name, or VFS_NAMEMAX if it has no NUL before that. */
size_t vfs_namelen(const char *name);
void vfs_node_hold(struct vfs_node *vn);
void vfs_node_rele(struct vfs_node *vn);
struct mtx *vfs_nc_lock(const struct vfs_node *vn);
extern struct lockmgr vfs_tmpdir_lock;
/*
 * tmpfs names (the directory lock held exclusive).  vfs_tmp_create(): a
 * new node named `name' in the cache, referenced for the caller (the
 * name holds another); NULL and ENOMEM.  vfs_tmp_remove(): takes vn's
 * name out of the cache; the caller drops the name's reference after
 * unlocking the directory.
 */
struct vfs_node *vfs_tmp_create(const char *name, int *errorp);
void vfs_tmp_remove(struct vfs_node *vn);
/* kern.tmpfs.maxfilesize (bytes). */
uint64_t vfs_tmp_maxsize(void);
/* Counters (vfs_cache.c owns them). */
void vfs_count_open(void);
void vfs_count_io(int64_t nread, int64_t nwritten);

/*
 * vfs_vnops.c.  vfs_tmp_truncate(): frees every page of a tmpfs node
 * and sets its size to 0 (node locked exclusive).
 */
void vfs_tmp_truncate(struct vfs_node *vn);

#endif /* !VMLAB_VFS_INT_H */
