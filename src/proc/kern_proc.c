/*
 * kern_proc.c: processes (proc.h): the tree, fork, exec, exit, wait,
 * kill, images, and the reaper of orphans.
 *
 * Pids.  A hash of PROC_HASHSIZE chains under proctree_lock; a new pid
 * is the next unused one after the last given, below PID_MAX, so pids
 * are not reused soon.  The number of processes (zombies included) is
 * bounded by kern.maxproc: fork reserves a slot with an atomic increment
 * before it allocates anything and gives it back on failure.
 *
 * Zombies.  A parent keeps its zombie children on a list of their own,
 * so wait(-1) is O(1) however many live children there are (a driver
 * with 100,000 children reaps each in constant time).
 *
 * Exit order (curthread, the process's only thread): mark P_WEXIT;
 * close every descriptor (a pipe's last close tears it down); leave the
 * address space and free it; under proctree_lock: give the children to
 * proc0 (their zombies to the reaper), become a zombie on the parent's
 * list, wake the parent; then the thread ends.  Nothing touches the proc
 * after proctree_lock is dropped: the parent may free it at once.
 *
 * Lock order: proctree -> (vm map, vm object, pmap, ...).  A sleep in
 * wait() drops proctree (an sx, the sleep's interlock).
 */
#include "kern/counter.h"
#include "kern/kassert.h"
#include "kern/lock.h"
#include "kern/sleepq.h"
#include "kern/sysctl.h"
#include "kern/thread.h"
#include "pmap/pmap.h"
#include "proc/file.h"
#include "proc/proc.h"
#include "proc/proc_int.h"
#include "proc/vfs.h"
#include "vm/uma.h"
#include "vm/vm_map.h"
#include "vm/vm_object.h"
#include "vm/vm_page.h"
#include "vm/vm_pagequeue.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define PID_MAX 99999999
#define PROC_HASHSIZE 65536

struct proc proc0;
struct sx proctree_lock;

static LIST_HEAD(, proc) * proc_hash; /* (t) PROC_HASHSIZE chains */
static int proc_lastpid;	      /* (t) */
static uint64_t proc_nprocs;	      /* (a) reserved slots */
static uint64_t proc_nzombies;	      /* (t) */
static int64_t proc_maxproc_tun;      /* kern.maxproc's storage */
static int64_t proc_maxproc;	      /* (c) kern.maxproc */
static struct thread *proc_reaper_td;
static uint32_t proc_reaper_stop; /* (t) */
static bool proc_booted;

static counter_u64_t proc_forks, proc_execs, proc_exits, proc_kills, proc_reaps;

static const struct counter_spec proc_counters[] = {
	{ &proc_forks, "kern.proc.forks", "processes created" },
	{ &proc_execs, "kern.proc.execs", "successful execs" },
	{ &proc_exits, "kern.proc.exits", "processes that exited" },
	{ &proc_kills, "kern.proc.kills", "SIGKILLs posted" },
	{ &proc_reaps, "kern.proc.reaped", "zombies reaped" },
};

/*
 * Images.
 */
struct proc_image {
	LIST_ENTRY(proc_image) pi_link;
	char pi_name[32];
	struct vm_image pi_layout; /* vi_object referenced */
	int (*pi_main)(intptr_t);
	uint32_t pi_busy; /* (i) execs in progress */
};

static LIST_HEAD(, proc_image) proc_images; /* (i) */
static struct mtx proc_image_mtx;	    /* "proc image" */

struct proc *
curproc_get(void)
{
	struct thread *td = curthread;

	return (td == NULL ? NULL : td->td_proc);
}

static struct proc_image *
proc_image_lookup(const char *name)
{
	struct proc_image *pi;

	LIST_FOREACH (pi, &proc_images, pi_link)
		if (strcmp(pi->pi_name, name) == 0)
			return (pi);
	return (NULL);
}

int
proc_image_register(const char *name, const char *path,
    const struct vm_image *layout, int (*main)(intptr_t), char *err,
    size_t errlen)
{
	struct proc_image *pi;
	struct vm_object *obj;
	int error;

	if (name == NULL || strlen(name) >= sizeof(pi->pi_name) ||
	    main == NULL || layout == NULL || layout->vi_text_pages == 0) {
		snprintf(err, errlen, "bad image name, layout or main");
		return (EINVAL);
	}
	error = vm_object_vnode_open(path,
	    layout->vi_text_pages + layout->vi_data_pages, &obj, err, errlen);
	if (error != 0)
		return (error);
	pi = md_malloc(sizeof(*pi));
	if (pi == NULL) {
		vm_object_deallocate(obj);
		snprintf(err, errlen, "out of memory");
		return (ENOMEM);
	}
	memset(pi, 0, sizeof(*pi));
	strcpy(pi->pi_name, name);
	pi->pi_layout = *layout;
	pi->pi_layout.vi_object = obj;
	pi->pi_main = main;
	mtx_lock(&proc_image_mtx);
	if (proc_image_lookup(name) != NULL) {
		mtx_unlock(&proc_image_mtx);
		vm_object_deallocate(obj);
		md_free(pi);
		snprintf(err, errlen, "image %s already registered", name);
		return (EEXIST);
	}
	LIST_INSERT_HEAD(&proc_images, pi, pi_link);
	mtx_unlock(&proc_image_mtx);
	return (0);
}

int
proc_image_unregister(const char *name)
{
	struct proc_image *pi;

	mtx_lock(&proc_image_mtx);
	pi = proc_image_lookup(name);
	if (pi == NULL || pi->pi_busy != 0) {
		mtx_unlock(&proc_image_mtx);
		return (pi == NULL ? ENOENT : EBUSY);
	}
	LIST_REMOVE(pi, pi_link);
	mtx_unlock(&proc_image_mtx);
	vm_object_deallocate(pi->pi_layout.vi_object);
	md_free(pi);
	return (0);
}

/*
 * The tree.
 */
static struct proc *
pfind_locked(int pid)
{
	struct proc *p;

	LIST_FOREACH (p, &proc_hash[pid & (PROC_HASHSIZE - 1)], p_hash)
		if (p->p_pid == pid)
			return (p);
	return (NULL);
}

/* The next free pid.  proctree_lock held exclusive. */
static int
proc_pid_alloc(void)
{
	int pid = proc_lastpid;

	do {
		if (++pid > PID_MAX)
			pid = 1;
	} while (pfind_locked(pid) != NULL);
	proc_lastpid = pid;
	return (pid);
}

/* A slot under kern.maxproc, or EAGAIN. */
static int
proc_reserve(void)
{
	if (atomic_fetchadd_64(&proc_nprocs, 1) >= (uint64_t)proc_maxproc) {
		(void)atomic_fetchadd_64(&proc_nprocs, (uint64_t)-1);
		return (EAGAIN);
	}
	return (0);
}

static void
proc_unreserve(void)
{
	(void)atomic_fetchadd_64(&proc_nprocs, (uint64_t)-1);
}

static struct proc *
proc_alloc(void)
{
	struct proc *p;

	p = proc_zalloc();
	if (p == NULL)
		return (NULL);
	memset(p, 0, sizeof(*p));
	LIST_INIT(&p->p_children);
	LIST_INIT(&p->p_zombies);
	return (p);
}

/*
 * The first instruction of a process's thread: it adopts its process,
 * enters its address space and runs its program; the return is an exit.
 */
static void
proc_thread_start(void *arg)
{
	struct proc *p = arg;
	struct thread *td = curthread;
	int rv;

	td->td_proc = p;
	vmspace_switch(p->p_vmspace);
	if ((atomic_load_int(&p->p_flag) & P_KILLED) != 0)
		proc_exit(SIGKILL);
	rv = p->p_main(p->p_arg);
	proc_exit(W_EXITCODE(rv, 0));
}

/*
 * Links p (vmspace and files set) under parent and starts its thread.
 * Returns 0 and the pid, or an errno with p freed (its vmspace and files
 * released) and its slot given back.
 */
static int
proc_start(struct proc *p, struct proc *parent, int *pidp)
{
	struct thread *td;
	int error;

	sx_xlock(&proctree_lock);
	p->p_pid = proc_pid_alloc();
	p->p_pptr = parent;
	p->p_state = PRS_NEW;
	LIST_INSERT_HEAD(&proc_hash[p->p_pid & (PROC_HASHSIZE - 1)], p, p_hash);
	LIST_INSERT_HEAD(&parent->p_children, p, p_sibling);
	error = kthread_create(proc_thread_start, p, p->p_bindcpu,
	    KTHR_JOINABLE | (p->p_bindcpu >= 0 ? KTHR_BOUND : 0), &td, "%s %d",
	    p->p_comm, p->p_pid);
	if (error != 0) {
		LIST_REMOVE(p, p_hash);
		LIST_REMOVE(p, p_sibling);
		sx_xunlock(&proctree_lock);
		fd_free(p);
		vmspace_free(p->p_vmspace);
		proc_zfree(p);
		proc_unreserve();
		return (error);
	}
	p->p_thread = td;
	p->p_state = PRS_NORMAL;
	/* A kill that found no thread yet left the flag: deliver it. */
	if ((atomic_load_int(&p->p_flag) & P_KILLED) != 0)
		thread_interrupt(td);
	*pidp = p->p_pid;
	sx_xunlock(&proctree_lock);
	counter_u64_add(proc_forks, 1);
	return (0);
}

int
proc_spawn(const char *name, int (*fn)(intptr_t), intptr_t arg, int *pidp)
{
	return (proc_spawn_cpu(name, -1, fn, arg, pidp));
}

int
proc_spawn_cpu(
    const char *name, int cpu, int (*fn)(intptr_t), intptr_t arg, int *pidp)
{
	struct proc *p;
	int error;

	if (fn == NULL || !proc_booted || cpu < -1 || cpu >= md_ncpus())
		return (EINVAL);
	sx_xlock(&proctree_lock);
	error = proc_zones_init();
	sx_xunlock(&proctree_lock);
	if (error != 0)
		return (error);
	if ((error = proc_reserve()) != 0)
		return (error);
	if ((p = proc_alloc()) == NULL) {
		proc_unreserve();
		return (ENOMEM);
	}
	if ((p->p_vmspace = vmspace_alloc()) == NULL) {
		proc_zfree(p);
		proc_unreserve();
		return (ENOMEM);
	}
	snprintf(
	    p->p_comm, sizeof(p->p_comm), "%s", name != NULL ? name : "spawn");
	p->p_bindcpu = cpu;
	p->p_main = fn;
	p->p_arg = arg;
	return (proc_start(p, &proc0, pidp));
}

int
kern_fork(struct proc *p1, int (*fn)(intptr_t), intptr_t arg, int *pidp)
{
	struct proc *p2;
	int error;

	if (fn == NULL)
		return (EINVAL);
	if ((error = proc_reserve()) != 0)
		return (error);
	if ((p2 = proc_alloc()) == NULL) {
		proc_unreserve();
		return (ENOMEM);
	}
	if ((p2->p_vmspace = vmspace_fork(p1->p_vmspace)) == NULL) {
		proc_zfree(p2);
		proc_unreserve();
		return (ENOMEM);
	}
	if ((error = fd_copy(p1, p2)) != 0) {
		vmspace_free(p2->p_vmspace);
		proc_zfree(p2);
		proc_unreserve();
		return (error);
	}
	memcpy(p2->p_comm, p1->p_comm, sizeof(p2->p_comm));
	p2->p_bindcpu = p1->p_bindcpu;
	p2->p_main = fn;
	p2->p_arg = arg;
	return (proc_start(p2, p1, pidp));
}

int
kern_exec(struct proc *p, const char *name, intptr_t arg)
{
	struct proc_image *pi;
	struct vmspace *vm, *old;
	vm_offset_t entry, stack;
	int error;

	if (name == NULL)
		return (EINVAL);
	mtx_lock(&proc_image_mtx);
	pi = proc_image_lookup(name);
	if (pi != NULL)
		pi->pi_busy++;
	mtx_unlock(&proc_image_mtx);
	if (pi == NULL)
		return (ENOENT);
	error = vmspace_exec(&pi->pi_layout, &vm, &entry, &stack);
	if (error == 0) {
		old = p->p_vmspace;
		atomic_store_ptr((uintptr_t *)&p->p_vmspace, (uintptr_t)vm);
		vmspace_switch(vm);
		vmspace_free(old);
		snprintf(p->p_comm, sizeof(p->p_comm), "%s", pi->pi_name);
		p->p_main = pi->pi_main;
		p->p_arg = arg;
	}
	mtx_lock(&proc_image_mtx);
	pi->pi_busy--;
	mtx_unlock(&proc_image_mtx);
	if (error != 0)
		return (error);
	counter_u64_add(proc_execs, 1);
	/* The old program's frames are abandoned, as exec abandons them. */
	proc_exit(W_EXITCODE(p->p_main(p->p_arg), 0));
}

/*
 * Exit.
 */
void
proc_exit(int xstat)
{
	struct proc *p = curproc, *q, *pp;
	struct vmspace *vm;
	bool wake_reaper = false;

	VM_ASSERT(p != NULL && p != &proc0, ("proc_exit: not a process"));
	atomic_set_int(&p->p_flag, P_WEXIT);
	fd_free(p);
	vm = p->p_vmspace;
	vmspace_switch(NULL);
	atomic_store_ptr((uintptr_t *)&p->p_vmspace, 0);
	vmspace_free(vm);

	sx_xlock(&proctree_lock);
	/* The children go to proc0: the reaper reaps them. */
	while ((q = LIST_FIRST(&p->p_children)) != NULL) {
		LIST_REMOVE(q, p_sibling);
		q->p_pptr = &proc0;
		atomic_set_int(&q->p_flag, P_ORPHAN);
		LIST_INSERT_HEAD(&proc0.p_children, q, p_sibling);
		if (q->p_state == PRS_ZOMBIE) {
			LIST_REMOVE(q, p_zlist);
			LIST_INSERT_HEAD(&proc0.p_zombies, q, p_zlist);
			wake_reaper = true;
		}
	}
	pp = p->p_pptr;
	p->p_state = PRS_ZOMBIE;
	p->p_xstat = xstat;
	proc_nzombies++;
	LIST_INSERT_HEAD(&pp->p_zombies, p, p_zlist);
	if (pp == &proc0 && (atomic_load_int(&p->p_flag) & P_ORPHAN) != 0)
		wake_reaper = true;
	counter_u64_add(proc_exits, 1);
	wakeup(pp);
	if (wake_reaper)
		wakeup(&proc_reaper_td);
	sx_xunlock(&proctree_lock);
	kthread_exit();
}

/*
 * Reaps zombie p: unlinks it (proctree_lock held exclusive, dropped on
 * return), then joins its thread, which may still be switching out of
 * proc_exit(), and frees it.  Returns its pid.
 */
static int
proc_reap(struct proc *p, int *statusp)
{
	struct thread *td = p->p_thread;
	int pid = p->p_pid;

	VM_ASSERT(
	    p->p_state == PRS_ZOMBIE, ("proc_reap: %d not a zombie", pid));
	LIST_REMOVE(p, p_zlist);
	LIST_REMOVE(p, p_sibling);
	LIST_REMOVE(p, p_hash);
	proc_nzombies--;
	if (statusp != NULL)
		*statusp = p->p_xstat;
	sx_xunlock(&proctree_lock);
	kthread_join(td);
	proc_zfree(p);
	proc_unreserve();
	counter_u64_add(proc_reaps, 1);
	return (pid);
}

/*
 * wait() for `parent' (curproc, or proc0 for the kernel).  Returns the
 * pid reaped, 0 (WNOHANG), -ECHILD or -EINTR (killed while waiting).
 * `orphans': whether proc0's orphans count (the reaper) or only the
 * processes it spawned (proc_wait()).
 */
int
kern_wait(struct proc *parent, int pid, int *statusp, int options, bool orphans)
{
	struct proc *p;
	int error;

	sx_xlock(&proctree_lock);
	for (;;) {
		if (pid > 0) {
			p = pfind_locked(pid);
			if (p == NULL || p->p_pptr != parent ||
			    ((atomic_load_int(&p->p_flag) & P_ORPHAN) != 0) !=
				orphans) {
				error = ECHILD;
				break;
			}
			if (p->p_state == PRS_ZOMBIE) {
				return (proc_reap(p, statusp));
			}
		} else {
			LIST_FOREACH (p, &parent->p_zombies, p_zlist)
				if (((atomic_load_int(&p->p_flag) & P_ORPHAN) !=
					0) == orphans)
					break;
			if (p != NULL) {
				return (proc_reap(p, statusp));
			}
			LIST_FOREACH (p, &parent->p_children, p_sibling)
				if (((atomic_load_int(&p->p_flag) & P_ORPHAN) !=
					0) == orphans)
					break;
			if (p == NULL) {
				error = ECHILD;
				break;
			}
		}
		if ((options & WNOHANG) != 0) {
			sx_xunlock(&proctree_lock);
			return (0);
		}
		if (parent == &proc0 && orphans && proc_reaper_stop) {
			error = EINTR;
			break;
		}
		error = msleep(parent, &proctree_lock.lock_object,
		    parent == &proc0 ? 0 : PCATCH, "wait", 0);
		if (error == EINTR)
			break;
	}
	sx_xunlock(&proctree_lock);
	return (-error);
}

int
proc_wait(int pid, int *statusp, int options)
{
	return (kern_wait(&proc0, pid, statusp, options, false));
}

int
kern_kill(struct proc *self, int pid, int sig)
{
	struct proc *p;

	if (sig != SIGKILL && sig != 0)
		return (EINVAL);
	if (pid <= 0)
		return (pid == 0 ? EPERM : ESRCH);
	if (self != NULL && pid == self->p_pid)
		return (EINVAL);
	sx_slock(&proctree_lock);
	p = pfind_locked(pid);
	if (p == NULL || p->p_state == PRS_ZOMBIE) {
		sx_sunlock(&proctree_lock);
		return (ESRCH);
	}
	if (sig == SIGKILL) {
		atomic_set_int(&p->p_flag, P_KILLED);
		/* PRS_NEW: proc_start() delivers it once the thread exists. */
		if (p->p_state == PRS_NORMAL)
			thread_interrupt(p->p_thread);
		counter_u64_add(proc_kills, 1);
	}
	sx_sunlock(&proctree_lock);
	return (0);
}

int
proc_kill(int pid, int sig)
{
	return (kern_kill(NULL, pid, sig));
}

int
proc_kill_children(int ppid, int sig)
{
	struct proc *pp, *p;
	int n = 0;

	if (sig != SIGKILL)
		return (-EINVAL);
	sx_slock(&proctree_lock);
	pp = ppid == 0 ? &proc0 : pfind_locked(ppid);
	if (pp == NULL) {
		sx_sunlock(&proctree_lock);
		return (-ESRCH);
	}
	LIST_FOREACH (p, &pp->p_children, p_sibling) {
		if (p->p_state == PRS_ZOMBIE ||
		    (atomic_load_int(&p->p_flag) & P_KILLED) != 0)
			continue;
		atomic_set_int(&p->p_flag, P_KILLED);
		if (p->p_state == PRS_NORMAL)
			thread_interrupt(p->p_thread);
		n++;
	}
	sx_sunlock(&proctree_lock);
	counter_u64_add(proc_kills, n);
	return (n);
}

/*
 * The reaper: proc0's thread for orphans.
 */
static void
proc_reaper(void *arg)
{
	int pid;

	(void)arg;
	for (;;) {
		pid = kern_wait(&proc0, -1, NULL, 0, true);
		if (pid == -EINTR)
			break;
		if (pid == -ECHILD) {
			sx_xlock(&proctree_lock);
			if (!proc_reaper_stop)
				(void)msleep(&proc_reaper_td,
				    &proctree_lock.lock_object, 0, "reaper", 0);
			pid = proc_reaper_stop ? -1 : 0;
			sx_xunlock(&proctree_lock);
			if (pid < 0)
				break;
		}
	}
}

void
proc_stats(struct proc_stats *st)
{
	sx_slock(&proctree_lock);
	st->nprocs = atomic_load_64(&proc_nprocs);
	st->nzombies = proc_nzombies;
	sx_sunlock(&proctree_lock);
	st->forks = counter_u64_fetch(proc_forks);
	st->execs = counter_u64_fetch(proc_execs);
	st->exits = counter_u64_fetch(proc_exits);
	st->kills = counter_u64_fetch(proc_kills);
	st->reaped = counter_u64_fetch(proc_reaps);
	st->maxproc = (uint64_t)proc_maxproc;
}

static void
proc_zone_pages(const struct uma_zone_stats *zs, void *arg)
{
	*(uint64_t *)arg += zs->pages;
}

uint64_t
proc_pages_in_use(void)
{
	struct sysctl_info si;
	uint64_t n, zpages = 0;

	/* Pages whose free a batch deferred are freed when it is applied. */
	(void)vm_pagequeue_drain_all();
	n = vm_page_count_allocated();

	PMAP_LOCK(kernel_pmap);
	n -= kernel_pmap->pm_ptpages;
	PMAP_UNLOCK(kernel_pmap);
	if (sysctl_get("vm.pmap.pv_chunks", &si))
		n -= (uint64_t)si.si_value;
	(void)uma_zone_foreach(proc_zone_pages, &zpages);
	return (n - zpages);
}

int
proc_check(void)
{
	struct proc *p, *q;
	uint64_t n = 0, nz = 0;
	int nerr = 0, i;

	sx_slock(&proctree_lock);
	for (i = 0; i < PROC_HASHSIZE; i++)
		LIST_FOREACH (p, &proc_hash[i], p_hash) {
			n++;
			if ((p->p_pid & (PROC_HASHSIZE - 1)) != i)
				vm_check_fail(&nerr, "proc %d on hash chain %d",
				    p->p_pid, i);
			if (p->p_state == PRS_ZOMBIE)
				nz++;
			LIST_FOREACH (q, &p->p_pptr->p_children, p_sibling)
				if (q == p)
					break;
			if (q == NULL)
				vm_check_fail(&nerr,
				    "proc %d not among its parent %d's "
				    "children",
				    p->p_pid, p->p_pptr->p_pid);
			if (p->p_state == PRS_NORMAL &&
			    atomic_load_ptr((uintptr_t *)&p->p_vmspace) == 0 &&
			    (atomic_load_int(&p->p_flag) & P_WEXIT) == 0)
				vm_check_fail(&nerr,
				    "running proc %d has no vmspace", p->p_pid);
		}
	if (nz != proc_nzombies)
		vm_check_fail(&nerr, "%ju zombies hashed, %ju counted",
		    (uintmax_t)nz, (uintmax_t)proc_nzombies);
	/* Slots being forked are reserved but not hashed yet: <=. */
	if (n > atomic_load_64(&proc_nprocs))
		vm_check_fail(&nerr, "%ju procs hashed, %ju reserved",
		    (uintmax_t)n, (uintmax_t)atomic_load_64(&proc_nprocs));
	sx_sunlock(&proctree_lock);
	return (nerr);
}

/*
 * Boot.
 */
int
proc_tunables(void)
{
	int error;

	if ((error = tunable_int_register("kern.maxproc", &proc_maxproc_tun,
		 262144, 1, 4194304,
		 "most processes (zombies included); fork fails with EAGAIN "
		 "beyond")) != 0 ||
	    (error = pipe_tunables()) != 0 || (error = vfs_tunables()) != 0)
		return (error);
	return (0);
}

int
proc_init(void)
{
	static const struct lock_rank ranks[] = {
		{ "proctree", 400, 0 },
		{ "proc image", 410, 0 },
	};
	int error, i;

	if ((error = witness_register(ranks, nitems(ranks))) != 0)
		return (error);
	proc_hash = md_malloc(PROC_HASHSIZE * sizeof(*proc_hash));
	if (proc_hash == NULL)
		return (ENOMEM);
	for (i = 0; i < PROC_HASHSIZE; i++)
		LIST_INIT(&proc_hash[i]);
	if ((error = counter_u64_alloc_table(
		 proc_counters, nitems(proc_counters))) != 0) {
		md_free(proc_hash);
		proc_hash = NULL;
		return (error);
	}
	sx_init(&proctree_lock, "proctree");
	mtx_init(&proc_image_mtx, "proc image", MTX_DEF);
	LIST_INIT(&proc_images);
	memset(&proc0, 0, sizeof(proc0));
	LIST_INIT(&proc0.p_children);
	LIST_INIT(&proc0.p_zombies);
	proc0.p_flag = P_SYSTEM;
	proc0.p_state = PRS_NORMAL;
	proc0.p_pptr = &proc0;
	strcpy(proc0.p_comm, "kernel");
	proc_maxproc = proc_maxproc_tun;
	proc_lastpid = 0;
	proc_nprocs = 0;
	proc_nzombies = 0;
	proc_reaper_stop = 0;
	proc_reaper_td = NULL;
	if ((error = pipe_init()) != 0 || (error = vfs_init()) != 0 ||
	    /*
	     * On CPU 0, not round-robin: a daemon made at boot would move
	     * every later thread's CPU by one (tests place threads on
	     * CPUs relative to the round-robin order).
	     */
	    (error = kthread_create(proc_reaper, NULL, 0,
		 KTHR_SYSTEM | KTHR_JOINABLE, &proc_reaper_td,
		 "proc reaper")) != 0) {
		proc_fini();
		return (error);
	}
	proc_booted = true;
	return (0);
}

/*
 * Stop (a kernel thread, CPUs running): kill what is left, reap it, stop
 * the reaper.  A scenario that stopped halfway leaves processes behind;
 * they are killed rather than leaked.
 */
void
proc_stop(void)
{
	struct proc_image *pi;
	struct proc *p;
	int i, pid, tries;

	if (!proc_booted)
		return;
	for (tries = 0; tries < 1000000; tries++) {
		pid = 0;
		sx_slock(&proctree_lock);
		for (i = 0; i < PROC_HASHSIZE && pid == 0; i++)
			LIST_FOREACH (p, &proc_hash[i], p_hash)
				if (p->p_state == PRS_NORMAL &&
				    (atomic_load_int(&p->p_flag) & P_KILLED) ==
					0) {
					pid = p->p_pid;
					break;
				}
		sx_sunlock(&proctree_lock);
		if (pid == 0)
			break;
		(void)proc_kill(pid, SIGKILL);
	}
	/* Reap the kernel's own children; the reaper takes the orphans. */
	while (proc_wait(-1, NULL, 0) > 0)
		;
	/* A process that makes no system call never dies: report it. */
	for (tries = 0; atomic_load_64(&proc_nprocs) != 0; tries++) {
		if (tries == 10000) {
			md_printf("proc_stop: %ju processes do not exit\n",
			    (uintmax_t)atomic_load_64(&proc_nprocs));
			break;
		}
		pause_ns("procstop", 1000000);
	}
	sx_xlock(&proctree_lock);
	proc_reaper_stop = 1;
	wakeup(&proc_reaper_td);
	wakeup(&proc0);
	sx_xunlock(&proctree_lock);
	if (proc_reaper_td != NULL)
		kthread_join(proc_reaper_td);
	proc_reaper_td = NULL;
	pipe_stop();
	/* Every file is closed: the names go, and the nodes with them. */
	vfs_stop();
	while ((pi = LIST_FIRST(&proc_images)) != NULL) {
		LIST_REMOVE(pi, pi_link);
		vm_object_deallocate(pi->pi_layout.vi_object);
		md_free(pi);
	}
	proc_zones_fini();
	proc_booted = false;
}

void
proc_fini(void)
{
	vfs_fini();
	pipe_fini();
	counter_u64_free_table(proc_counters, nitems(proc_counters));
	if (proc_hash != NULL) {
		sx_destroy(&proctree_lock);
		mtx_destroy(&proc_image_mtx);
		md_free(proc_hash);
		proc_hash = NULL;
	}
	proc_booted = false;
}
