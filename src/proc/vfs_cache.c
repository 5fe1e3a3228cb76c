/*
 * vfs_cache.c: the namespace of the file layer (vfs.h): the name cache,
 * nodes and their references, registered files, tmpfs names, boot,
 * statistics and the checker.
 *
 * The name cache is VFS_NCHASH chains of nodes hashed by name (FNV-1a);
 * chain i is protected by "ncvn" lock i % VFS_NCLOCKS, so one lock
 * covers VFS_NCHASH / VFS_NCLOCKS chains.  A node in the cache holds one
 * reference for its name: a lookup takes its own reference under the
 * chain lock, and the name's reference is dropped only after the node
 * left its chain, so a lookup never finds a node on its way out.
 *
 * Invariants (vfs_check()):
 *	1. every node on chain i hashes to i, is linked, has refs >= 1;
 *	2. registered files in the cache == vfs_nfiles;
 *	3. tmpfs nodes on the all-nodes list == vfs_ntmp, and the linked
 *	   ones are exactly the tmpfs nodes in the cache;
 *	4. a tmpfs node's size <= kern.tmpfs.maxfilesize.
 *
 * Lock order: "tmpfs" (the directory, then a node: DUPOK) -> "ncvn" ->
 * "vm object".  Nothing that may sleep runs under "ncvn" (a mutex): nodes
 * are allocated and freed with it dropped.
 */
#include "kern/counter.h"
#include "kern/kassert.h"
#include "kern/lock.h"
#include "kern/mutex.h"
#include "kern/sysctl.h"
#include "md/md_atomic.h"
#include "proc/proc_int.h"
#include "proc/vfs_int.h"
#include "vm/vm_object.h"
#include "vm/vm_page.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define VFS_NCHASH 512

LIST_HEAD(vfs_nodelist, vfs_node);

struct vfs_nclock {
	struct mtx nl_mtx; /* "ncvn" */
} __aligned(MD_CACHE_LINE);

static struct vfs_nodelist *vfs_nchash;	 /* (h) VFS_NCHASH chains */
static struct vfs_nclock *vfs_nclocks;	 /* VFS_NCLOCKS */
static struct vfs_nodelist vfs_tmpnodes; /* (d) every tmpfs node */
struct lockmgr vfs_tmpdir_lock;		 /* "tmpfs": the /tmp node */
static uint64_t vfs_nfiles;		 /* (a) registered files */
static uint64_t vfs_ntmp;		 /* (a) tmpfs nodes alive */
static int64_t vfs_maxsize_tun;		 /* kern.tmpfs.maxfilesize */
static uint64_t vfs_maxsize;		 /* (c) its copy at boot */

static counter_u64_t vfs_opens, vfs_lookups, vfs_bytes_read, vfs_bytes_written;

static const struct counter_spec vfs_counters[] = {
	{ &vfs_opens, "vfs.opens", "successful opens" },
	{ &vfs_lookups, "vfs.lookups", "name cache lookups" },
	{ &vfs_bytes_read, "vfs.bytes_read", "bytes read from files" },
	{ &vfs_bytes_written, "vfs.bytes_written",
	    "bytes written to tmpfs files" },
};

static uint32_t
vfs_hash(const char *name)
{
	uint32_t h = 2166136261u;

	for (; *name != '\0'; name++)
		h = (h ^ (uint8_t)*name) * 16777619u;
	return (h);
}

static struct mtx *
vfs_chain_lock(uint32_t hashv)
{
	return (&vfs_nclocks[(hashv % VFS_NCHASH) % VFS_NCLOCKS].nl_mtx);
}

struct mtx *
vfs_nc_lock(const struct vfs_node *vn)
{
	return (vfs_chain_lock(vn->vn_hashv));
}

/* The node named `name' on its chain, or NULL.  Chain locked. */
static struct vfs_node *
vfs_nc_find_locked(const char *name, uint32_t hashv)
{
	struct vfs_node *vn;

	LIST_FOREACH (vn, &vfs_nchash[hashv % VFS_NCHASH], vn_hash)
		if (vn->vn_hashv == hashv && strcmp(vn->vn_name, name) == 0)
			return (vn);
	return (NULL);
}

struct vfs_node *
vfs_nc_lookup(const char *name)
{
	uint32_t hashv = vfs_hash(name);
	struct mtx *m = vfs_chain_lock(hashv);
	struct vfs_node *vn;

	counter_u64_add(vfs_lookups, 1);
	mtx_lock(m);
	vn = vfs_nc_find_locked(name, hashv);
	if (vn != NULL)
		vfs_node_hold(vn);
	mtx_unlock(m);
	return (vn);
}

/*
 * Puts vn in the cache unless its name is taken (EEXIST).  The
 * reference vn was made with becomes the name's.
 */
static int
vfs_nc_insert(struct vfs_node *vn)
{
	struct mtx *m = vfs_nc_lock(vn);

	counter_u64_add(vfs_lookups, 1);
	mtx_lock(m);
	if (vfs_nc_find_locked(vn->vn_name, vn->vn_hashv) != NULL) {
		mtx_unlock(m);
		return (EEXIST);
	}
	LIST_INSERT_HEAD(&vfs_nchash[vn->vn_hashv % VFS_NCHASH], vn, vn_hash);
	vn->vn_linked = true;
	mtx_unlock(m);
	return (0);
}

static void
vfs_nc_remove(struct vfs_node *vn)
{
	struct mtx *m = vfs_nc_lock(vn);

	mtx_lock(m);
	VM_ASSERT(vn->vn_linked, ("%s: %s not linked", __func__, vn->vn_name));
	LIST_REMOVE(vn, vn_hash);
	vn->vn_linked = false;
	mtx_unlock(m);
}

/* A node with one reference, not in the cache; NULL if out of memory. */
static struct vfs_node *
vfs_node_alloc(const char *name, int type, struct vm_object *obj)
{
	struct vfs_node *vn;

	vn = md_calloc(1, sizeof(*vn));
	if (vn == NULL)
		return (NULL);
	snprintf(vn->vn_name, sizeof(vn->vn_name), "%s", name);
	vn->vn_hashv = vfs_hash(name);
	vn->vn_type = type;
	vn->vn_object = obj;
	vn->vn_refs = 1;
	if (type == VNT_TMP)
		lockmgr_init(&vn->vn_lock, "tmpfs");
	return (vn);
}

void
vfs_node_hold(struct vfs_node *vn)
{
	(void)atomic_fetchadd_int(&vn->vn_refs, 1);
}

void
vfs_node_rele(struct vfs_node *vn)
{
	/* Release and acquire: every use of the node before its free. */
	if (atomic_fetchadd_int(&vn->vn_refs, (uint32_t)-1) != 1)
		return;
	atomic_thread_fence_acq();
	VM_ASSERT(!vn->vn_linked,
	    ("%s: last reference of %s, still named", __func__, vn->vn_name));
	if (vn->vn_type == VNT_TMP) {
		lockmgr_xlock(&vfs_tmpdir_lock);
		LIST_REMOVE(vn, vn_all);
		(void)atomic_fetchadd_64(&vfs_ntmp, (uint64_t)-1);
		lockmgr_unlock(&vfs_tmpdir_lock);
		lockmgr_destroy(&vn->vn_lock);
	} else
		(void)atomic_fetchadd_64(&vfs_nfiles, (uint64_t)-1);
	/* The pages go now, or with the object's last mapping. */
	vm_object_deallocate(vn->vn_object);
	md_free(vn);
}

size_t
vfs_namelen(const char *name)
{
	size_t len = 0;

	while (len < VFS_NAMEMAX && name[len] != '\0')
		len++;
	return (len);
}

/* A name outside /tmp/ that a file may be registered under. */
static bool
vfs_file_name_ok(const char *name)
{
	size_t len;

	if (name == NULL || name[0] != '/')
		return (false);
	len = vfs_namelen(name);
	return (len > 1 && len < VFS_NAMEMAX &&
	    strncmp(name, VFS_TMPDIR, VFS_TMPDIRLEN) != 0 &&
	    strcmp(name, "/tmp") != 0);
}

int
vfs_file_register(const char *name, const char *path, char *err, size_t errlen)
{
	struct vm_object *obj;
	struct vfs_node *vn;
	int error;

	if (vfs_nchash == NULL) {
		snprintf(err, errlen, "vfs: not booted");
		return (EINVAL);
	}
	if (!vfs_file_name_ok(name) || path == NULL) {
		snprintf(err, errlen,
		    "vfs: bad file name (absolute, outside /tmp/, shorter "
		    "than %d bytes)",
		    VFS_NAMEMAX);
		return (EINVAL);
	}
	if ((error = vm_object_vnode_open(path, 0, &obj, err, errlen)) != 0)
		return (error);
	if ((vn = vfs_node_alloc(name, VNT_FILE, obj)) == NULL) {
		vm_object_deallocate(obj);
		snprintf(err, errlen, "vfs: out of memory");
		return (ENOMEM);
	}
	vn->vn_size = obj->vn_size;
	if ((error = vfs_nc_insert(vn)) != 0) {
		vm_object_deallocate(obj);
		md_free(vn);
		snprintf(err, errlen, "vfs: %s already exists", name);
		return (error);
	}
	(void)atomic_fetchadd_64(&vfs_nfiles, 1);
	return (0);
}

struct vfs_node *
vfs_tmp_create(const char *name, int *errorp)
{
	struct vm_object *obj;
	struct vfs_node *vn;

	VM_ASSERT(lockmgr_xowned(&vfs_tmpdir_lock),
	    ("%s: /tmp not locked", __func__));
	/*
	 * An anonymous object may grow past its size (OBJ_ANON): the size
	 * given is only the largest file, and the node keeps the bytes.
	 */
	obj = vm_object_allocate(OBJT_DEFAULT, atop(round_page(vfs_maxsize)));
	if (obj == NULL || (vn = vfs_node_alloc(name, VNT_TMP, obj)) == NULL) {
		if (obj != NULL)
			vm_object_deallocate(obj);
		*errorp = ENOMEM;
		return (NULL);
	}
	/* The directory lock keeps the name free: this cannot fail. */
	*errorp = vfs_nc_insert(vn);
	VM_ASSERT(*errorp == 0, ("%s: %s exists", __func__, name));
	LIST_INSERT_HEAD(&vfs_tmpnodes, vn, vn_all);
	(void)atomic_fetchadd_64(&vfs_ntmp, 1);
	vfs_node_hold(vn); /* the caller's */
	return (vn);
}

void
vfs_tmp_remove(struct vfs_node *vn)
{
	VM_ASSERT(lockmgr_xowned(&vfs_tmpdir_lock),
	    ("%s: /tmp not locked", __func__));
	vfs_nc_remove(vn);
}

uint64_t
vfs_tmp_maxsize(void)
{
	return (vfs_maxsize);
}

void
vfs_count_open(void)
{
	counter_u64_add(vfs_opens, 1);
}

void
vfs_count_io(int64_t nread, int64_t nwritten)
{
	if (nread > 0)
		counter_u64_add(vfs_bytes_read, nread);
	if (nwritten > 0)
		counter_u64_add(vfs_bytes_written, nwritten);
}

void
vfs_stats(struct vfs_stats *st)
{
	struct vfs_node *vn;

	memset(st, 0, sizeof(*st));
	if (vfs_nchash == NULL)
		return;
	st->files = atomic_load_64(&vfs_nfiles);
	st->tmp_nodes = atomic_load_64(&vfs_ntmp);
	lockmgr_slock(&vfs_tmpdir_lock);
	LIST_FOREACH (vn, &vfs_tmpnodes, vn_all)
		st->tmp_pages +=
		    atomic_load_64(&vn->vn_object->resident_page_count);
	lockmgr_unlock(&vfs_tmpdir_lock);
	st->opens = counter_u64_fetch(vfs_opens);
	st->lookups = counter_u64_fetch(vfs_lookups);
	st->bytes_read = counter_u64_fetch(vfs_bytes_read);
	st->bytes_written = counter_u64_fetch(vfs_bytes_written);
}

/* Invariant 1 for chain i; counts its files and tmpfs names. */
static void
vfs_check_chain(int i, uint64_t *nfiles, uint64_t *ntmpnamed, int *nerrp)
{
	struct mtx *m = &vfs_nclocks[i % VFS_NCLOCKS].nl_mtx;
	struct vfs_node *vn;

	mtx_lock(m);
	LIST_FOREACH (vn, &vfs_nchash[i], vn_hash) {
		if (vn->vn_hashv % VFS_NCHASH != (uint32_t)i ||
		    vn->vn_hashv != vfs_hash(vn->vn_name))
			vm_check_fail(nerrp, "vfs: %s on chain %d, hash %#x",
			    vn->vn_name, i, vn->vn_hashv);
		if (!vn->vn_linked || atomic_load_int(&vn->vn_refs) == 0)
			vm_check_fail(nerrp,
			    "vfs: %s cached, linked %d refs %u", vn->vn_name,
			    vn->vn_linked, atomic_load_int(&vn->vn_refs));
		if (vn->vn_type == VNT_FILE)
			(*nfiles)++;
		else if (vn->vn_type == VNT_TMP &&
		    strncmp(vn->vn_name, VFS_TMPDIR, VFS_TMPDIRLEN) == 0)
			(*ntmpnamed)++;
		else
			vm_check_fail(nerrp, "vfs: %s has type %d", vn->vn_name,
			    vn->vn_type);
	}
	mtx_unlock(m);
}

int
vfs_check(void)
{
	struct vfs_node *vn;
	uint64_t nfiles = 0, named = 0, nall = 0, nlinked = 0;
	int nerr = 0, i;

	if (vfs_nchash == NULL)
		return (0);
	/* The directory lock, shared, holds the tmpfs names still. */
	lockmgr_slock(&vfs_tmpdir_lock);
	for (i = 0; i < VFS_NCHASH; i++)
		vfs_check_chain(i, &nfiles, &named, &nerr);
	LIST_FOREACH (vn, &vfs_tmpnodes, vn_all) {
		nall++;
		if (vn->vn_linked)
			nlinked++;
		if (vn->vn_type != VNT_TMP ||
		    atomic_load_64(&vn->vn_size) > vfs_maxsize)
			vm_check_fail(&nerr,
			    "vfs: tmpfs node %s type %d size %ju", vn->vn_name,
			    vn->vn_type,
			    (uintmax_t)atomic_load_64(&vn->vn_size));
		if (vm_object_check(vn->vn_object) != 0)
			vm_check_fail(
			    &nerr, "vfs: %s: its object is bad", vn->vn_name);
	}
	if (nall != atomic_load_64(&vfs_ntmp) || nlinked != named)
		vm_check_fail(&nerr,
		    "vfs: %ju tmpfs nodes listed (%ju named), %ju counted, "
		    "%ju names cached",
		    (uintmax_t)nall, (uintmax_t)nlinked,
		    (uintmax_t)atomic_load_64(&vfs_ntmp), (uintmax_t)named);
	lockmgr_unlock(&vfs_tmpdir_lock);
	if (nfiles != atomic_load_64(&vfs_nfiles))
		vm_check_fail(&nerr, "vfs: %ju files cached, %ju counted",
		    (uintmax_t)nfiles, (uintmax_t)atomic_load_64(&vfs_nfiles));
	return (nerr);
}

static uint64_t
vfs_stat_read(void *arg)
{
	return (atomic_load_64(arg));
}

int
vfs_tunables(void)
{
	return (tunable_int_register("kern.tmpfs.maxfilesize", &vfs_maxsize_tun,
	    64ll << 20, PAGE_SIZE, 1ll << 40,
	    "largest tmpfs file in bytes: a write beyond it fails with "
	    "EFBIG"));
}

int
vfs_init(void)
{
	static const struct lock_rank ranks[] = {
		/* The /tmp directory's, then a node's. */
		{ "tmpfs", 450, LOCK_RANK_DUPOK },
		{ "ncvn", 455, 0 },
	};
	int error, i;

	if ((error = witness_register(ranks, nitems(ranks))) != 0)
		return (error);
	vfs_maxsize = (uint64_t)vfs_maxsize_tun;
	vfs_nchash = md_calloc(VFS_NCHASH, sizeof(*vfs_nchash));
	vfs_nclocks =
	    md_aligned_alloc(MD_CACHE_LINE, VFS_NCLOCKS * sizeof(*vfs_nclocks));
	if (vfs_nchash == NULL || vfs_nclocks == NULL) {
		md_free(vfs_nchash);
		md_free(vfs_nclocks);
		vfs_nchash = NULL;
		vfs_nclocks = NULL;
		return (ENOMEM);
	}
	for (i = 0; i < VFS_NCHASH; i++)
		LIST_INIT(&vfs_nchash[i]);
	for (i = 0; i < VFS_NCLOCKS; i++) {
		memset(&vfs_nclocks[i], 0, sizeof(vfs_nclocks[i]));
		mtx_init(&vfs_nclocks[i].nl_mtx, "ncvn", MTX_DEF);
	}
	lockmgr_init(&vfs_tmpdir_lock, "tmpfs");
	LIST_INIT(&vfs_tmpnodes);
	vfs_nfiles = vfs_ntmp = 0;
	if ((error = counter_u64_alloc_table(
		 vfs_counters, nitems(vfs_counters))) != 0 ||
	    (error = sysctl_stat_register("vfs.files", vfs_stat_read,
		 &vfs_nfiles, "registered read-only files")) != 0 ||
	    (error = sysctl_stat_register("vfs.tmp_nodes", vfs_stat_read,
		 &vfs_ntmp, "tmpfs nodes alive, named or not")) != 0) {
		vfs_fini();
		return (error);
	}
	return (0);
}

/* Takes one name off chain i (NULL: none left); the caller releases it. */
static struct vfs_node *
vfs_stop_pop(int i)
{
	struct mtx *m = &vfs_nclocks[i % VFS_NCLOCKS].nl_mtx;
	struct vfs_node *vn;

	mtx_lock(m);
	vn = LIST_FIRST(&vfs_nchash[i]);
	if (vn != NULL) {
		LIST_REMOVE(vn, vn_hash);
		vn->vn_linked = false;
	}
	mtx_unlock(m);
	return (vn);
}

/*
 * Every name goes: tmpfs names and registered files alike.  The files'
 * objects must go while the CPUs run (their pages are freed into per-CPU
 * caches), as proc_stop() drops the images'; no program is left to open
 * them.
 */
void
vfs_stop(void)
{
	struct vfs_node *vn;
	int i;

	if (vfs_nchash == NULL)
		return;
	for (i = 0; i < VFS_NCHASH; i++) {
		for (;;) {
			/* A tmpfs name leaves under the directory lock. */
			lockmgr_xlock(&vfs_tmpdir_lock);
			vn = vfs_stop_pop(i);
			lockmgr_unlock(&vfs_tmpdir_lock);
			if (vn == NULL)
				break;
			vfs_node_rele(vn);
		}
	}
	if (atomic_load_64(&vfs_ntmp) != 0)
		md_printf("vfs_stop: %ju tmpfs nodes still open\n",
		    (uintmax_t)atomic_load_64(&vfs_ntmp));
}

void
vfs_fini(void)
{
	int i;

	if (vfs_nchash == NULL)
		return;
	sysctl_stat_unregister("vfs.files", &vfs_nfiles);
	sysctl_stat_unregister("vfs.tmp_nodes", &vfs_ntmp);
	counter_u64_free_table(vfs_counters, nitems(vfs_counters));
	for (i = 0; i < VFS_NCLOCKS; i++)
		mtx_destroy(&vfs_nclocks[i].nl_mtx);
	lockmgr_destroy(&vfs_tmpdir_lock);
	md_free(vfs_nchash);
	md_free(vfs_nclocks);
	vfs_nchash = NULL;
	vfs_nclocks = NULL;
}
