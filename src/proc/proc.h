/*
 * proc.h: processes, their file tables, and programs.
 *
 * The process layer sits above the VM (it uses vmspaces, uaccess, kmem
 * and zones) and below the front door.  A process has a pid, a parent and
 * children (the process tree), an address space, a table of open files
 * and exactly one kernel thread, which runs a program "in user mode": a C
 * function that touches memory only through uaccess (vm_uaccess.h) and
 * enters the kernel only by the system calls of syscall.h.
 *
 * Programs.  A program is a function int main(intptr_t arg) whose return
 * value is the exit status.  fork() starts the child at a function of the
 * caller's choice in a copy-on-write copy of the caller's address space
 * (the stack of a C function cannot be duplicated, so fork takes its
 * continuation); exec() replaces the address space by that of a
 * registered image, a file-backed executable (text shared read-only,
 * data private copy-on-write, bss and stack zero-fill), and runs the
 * image's main.
 *
 * Life cycle.  PRS_NEW while fork builds it, PRS_NORMAL while it runs,
 * PRS_ZOMBIE from exit until its parent waits for it; then it is freed.
 * exit closes the files, releases the address space, gives the children
 * to proc0 (the kernel, whose reaper thread reaps orphans) and wakes the
 * parent.  Processes started by the kernel (proc_spawn()) are children
 * of proc0 that the kernel waits for with proc_wait().
 *
 * Signals: only SIGKILL (and 0, which tests existence).  kill() marks the
 * process and interrupts its thread: an interruptible sleep (a pipe read
 * or write, wait) ends with EINTR, and the process exits at the end of
 * the system call, killed, as when a signal is delivered on the way back
 * to user mode.  A process that never makes a system call is not killed.
 *
 * Locking key:
 *	(c) constant after creation
 *	(t) proctree_lock (an sx named "proctree"): the tree, the pid hash,
 *	    the zombie lists, states
 *	(o) only the process's own thread (processes are single-threaded)
 *	(a) atomic
 */
#ifndef VMLAB_PROC_H
#define VMLAB_PROC_H

#include "kern/queue.h"
#include "kern/rwlock.h"
#include "vm/vm_param.h"

#include <stdbool.h>
#include <stdint.h>

struct thread;
struct vmspace;
struct file;
struct vm_image;

#define PRS_NEW 0
#define PRS_NORMAL 1
#define PRS_ZOMBIE 2

/* p_flag */
#define P_SYSTEM 0x01 /* proc0 */
#define P_KILLED 0x02 /* SIGKILL posted */
#define P_WEXIT 0x04  /* exiting */
#define P_ORPHAN 0x08 /* the reaper reaps it */

#define SIGKILL 9

/* Wait status, as <sys/wait.h>. */
#define W_EXITCODE(ret, sig) (((ret)&0xff) << 8 | (sig))
#define WIFEXITED(s) (((s)&0x7f) == 0)
#define WEXITSTATUS(s) (((s) >> 8) & 0xff)
#define WIFSIGNALED(s) (((s)&0x7f) != 0)
#define WTERMSIG(s) ((s)&0x7f)
#define WNOHANG 0x1

/* A file table: fd_ofiles[fd], NULL when free. */
struct filedesc {
	struct file **fd_ofiles; /* (o) */
	int fd_nfiles;		 /* (o) slots */
	int fd_nopen;		 /* (o) open descriptors */
};

struct proc {
	LIST_ENTRY(proc) p_hash;      /* (t) pid hash chain */
	LIST_ENTRY(proc) p_sibling;   /* (t) parent's children */
	LIST_ENTRY(proc) p_zlist;     /* (t) parent's zombie children */
	LIST_HEAD(, proc) p_children; /* (t) */
	LIST_HEAD(, proc) p_zombies;  /* (t) children to be waited for */
	struct proc *p_pptr;	      /* (t) parent */
	int p_pid;		      /* (c) */
	int p_state;		      /* (t) PRS_* */
	int p_xstat;		      /* (t) wait status once a zombie */
	uint32_t p_flag;	      /* (a) P_* */
	struct thread *p_thread;      /* (t) */
	struct vmspace *p_vmspace;    /* (o), atomic: others read it */
	struct filedesc p_fd;	      /* (o) */
	int p_bindcpu;		      /* (c) CPU its thread is bound to,
					 inherited by fork; -1: none */
	int (*p_main)(intptr_t);      /* (c) what the thread runs first */
	intptr_t p_arg;		      /* (c) */
	char p_comm[32];	      /* (o) program name */
};

extern struct proc proc0;	/* the kernel; parent of orphans */
extern struct sx proctree_lock; /* "proctree" */

/* The process curthread runs for, or NULL (a kernel thread). */
struct proc *curproc_get(void);
#define curproc (curproc_get())

/*
 * Images.  proc_image_register(): `name' runs `main' in an address space
 * laid out by `layout' (its sizes; vi_object ignored) over the file at
 * `path', which must be at least text + data pages long.  Returns 0,
 * EEXIST (the name is taken), ENOMEM, or the file's error with a one-line
 * message in `err'.  Images live until proc_fini() (or unregister, which
 * fails with EBUSY while an exec is using it).
 */
int proc_image_register(const char *name, const char *path,
    const struct vm_image *layout, int (*main)(intptr_t), char *err,
    size_t errlen);
int proc_image_unregister(const char *name);

/*
 * The kernel's side (called from kernel threads, not from programs).
 * proc_spawn(): a new child of proc0 named `name' with an empty address
 * space and no files, running fn(arg) in user mode; 0 and *pidp, or
 * EAGAIN (kern.maxproc reached) or ENOMEM.  proc_wait(): waits for a
 * child of proc0 (pid, or -1 for any spawned one) to exit and reaps it;
 * the pid and *statusp, 0 (WNOHANG and none exited yet), or -ECHILD.
 * proc_kill(): 0, ESRCH (no such process, or a zombie), EINVAL (bad
 * signal), EPERM (proc0).
 */
int proc_spawn(const char *name, int (*fn)(intptr_t), intptr_t arg, int *pidp);
/* proc_spawn() with the process (and its descendants) bound to `cpu'. */
int proc_spawn_cpu(
    const char *name, int cpu, int (*fn)(intptr_t), intptr_t arg, int *pidp);
int proc_wait(int pid, int *statusp, int options);
int proc_kill(int pid, int sig);
/*
 * Kills every live child of `ppid' at once (a job's ^C, as killpg()):
 * the number killed, or -ESRCH / -EINVAL.
 */
int proc_kill_children(int ppid, int sig);

/* Statistics and checks. */
struct proc_stats {
	uint64_t nprocs;   /* processes not yet reaped */
	uint64_t nzombies; /* of which zombies */
	uint64_t forks, execs, exits, kills, reaped;
	uint64_t maxproc;
};
void proc_stats(struct proc_stats *st);
/*
 * Pages allocated less those of the kernel's long-lived structures (the
 * kernel pmap's page tables, pv chunks, zone slabs): what a workload's
 * pages are counted against to find a leak.  Racy while things run.
 */
uint64_t proc_pages_in_use(void);
/* Tree, hash and counts agree; returns violations (vm_check_fail). */
int proc_check(void);

/* The file table (kern_descrip.c). */
int fd_alloc(struct proc *p, struct file *fp, int *fdp);
struct file *fd_get(struct proc *p, int fd);
int fd_close(struct proc *p, int fd);
int fd_copy(struct proc *src, struct proc *dst);
void fd_free(struct proc *p);

/* Boot (front door). */
int proc_tunables(void);
int proc_init(void);
void proc_stop(void);
void proc_fini(void);

/* Internal to src/proc. */
void proc_exit(int xstat) __attribute__((noreturn));

#endif /* !VMLAB_PROC_H */
