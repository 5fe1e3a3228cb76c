/*
 * kern_syscall.c: the system calls programs make (syscall.h).
 *
 * Each call runs its kernel half and then returns to "user mode" through
 * syscall_ret(), which delivers a pending SIGKILL: the process exits
 * there, killed, and the call never returns (as a signal is delivered on
 * the way back to user mode).  The file calls of vfs.h are here too;
 * their kernel halves are in vfs_vnops.c.
 */
#include "kern/kassert.h"
#include "md/md_atomic.h"
#include "proc/file.h"
#include "proc/proc.h"
#include "proc/proc_int.h"
#include "proc/syscall.h"
#include "proc/vfs.h"
#include "vm/vm_map.h"
#include "vm/vm_uaccess.h"

#include <errno.h>

static struct proc *
syscall_enter(void)
{
	struct proc *p = curproc;

	VM_ASSERT(p != NULL && p != &proc0,
	    ("system call from a thread that is not a process's"));
	return (p);
}

/* The way back to user mode: -error, or the value. */
static int64_t
syscall_ret(struct proc *p, int64_t rv)
{
	if (__predict_false((atomic_load_int(&p->p_flag) & P_KILLED) != 0))
		proc_exit(SIGKILL);
	return (rv);
}

int
u_getpid(void)
{
	struct proc *p = syscall_enter();

	return ((int)syscall_ret(p, p->p_pid));
}

int
u_getppid(void)
{
	struct proc *p = syscall_enter();
	int ppid;

	sx_slock(&proctree_lock);
	ppid = p->p_pptr->p_pid;
	sx_sunlock(&proctree_lock);
	return ((int)syscall_ret(p, ppid));
}

int
u_fork(int (*fn)(intptr_t), intptr_t arg)
{
	struct proc *p = syscall_enter();
	int error, pid = 0;

	error = kern_fork(p, fn, arg, &pid);
	return ((int)syscall_ret(p, error != 0 ? -error : pid));
}

int
u_exec(const char *image, intptr_t arg)
{
	struct proc *p = syscall_enter();

	return ((int)syscall_ret(p, -kern_exec(p, image, arg)));
}

void
u_exit(int status)
{
	(void)syscall_enter();
	proc_exit(W_EXITCODE(status, 0));
}

int
u_wait(int pid, vm_offset_t statusp, int options)
{
	struct proc *p = syscall_enter();
	int error, rv, status = 0;

	if (pid == 0 || pid < -1 || (options & ~WNOHANG) != 0)
		return ((int)syscall_ret(p, -EINVAL));
	rv = kern_wait(p, pid, &status, options, false);
	if (rv > 0 && statusp != 0 &&
	    (error = copyout(&status, statusp, sizeof(status))) != 0)
		rv = -error; /* reaped all the same, as on BSD */
	return ((int)syscall_ret(p, rv));
}

int
u_kill(int pid, int sig)
{
	struct proc *p = syscall_enter();

	return ((int)syscall_ret(p, -kern_kill(p, pid, sig)));
}

int64_t
u_mmap(vm_offset_t addr, size_t len, int prot, int flags)
{
	struct proc *p = syscall_enter();
	vm_offset_t a = addr;
	int error;

	if ((flags & MAP_ANON) == 0)
		return (syscall_ret(p, -ENODEV));
	error = vm_mmap(&p->p_vmspace->vm_map, &a, len, (vm_prot_t)prot,
	    VM_PROT_ALL, flags, NULL, 0);
	return (syscall_ret(p, error != 0 ? -error : (int64_t)a));
}

int
u_munmap(vm_offset_t addr, size_t len)
{
	struct proc *p = syscall_enter();

	return (
	    (int)syscall_ret(p, -vm_munmap(&p->p_vmspace->vm_map, addr, len)));
}

int
u_mprotect(vm_offset_t addr, size_t len, int prot)
{
	struct proc *p = syscall_enter();

	return ((int)syscall_ret(p,
	    -vm_mprotect(&p->p_vmspace->vm_map, addr, len, (vm_prot_t)prot)));
}

int
u_pipe(vm_offset_t fdsp, int flags)
{
	struct proc *p = syscall_enter();
	int error, fds[2];

	if ((flags & ~O_NONBLOCK) != 0)
		return ((int)syscall_ret(p, -EINVAL));
	if ((error = kern_pipe(p, fds, flags)) == 0 &&
	    (error = copyout(fds, fdsp, sizeof(fds))) != 0) {
		(void)fd_close(p, fds[0]);
		(void)fd_close(p, fds[1]);
	}
	return ((int)syscall_ret(p, -error));
}

int64_t
u_read(int fd, vm_offset_t buf, size_t len)
{
	struct proc *p = syscall_enter();
	struct file *fp = fd_get(p, fd);

	if (fp == NULL || (atomic_load_int(&fp->f_flag) & FREAD) == 0)
		return (syscall_ret(p, -EBADF));
	return (syscall_ret(p, fp->f_ops->fo_read(fp, buf, len)));
}

int64_t
u_write(int fd, vm_offset_t buf, size_t len)
{
	struct proc *p = syscall_enter();
	struct file *fp = fd_get(p, fd);

	if (fp == NULL || (atomic_load_int(&fp->f_flag) & FWRITE) == 0)
		return (syscall_ret(p, -EBADF));
	return (syscall_ret(p, fp->f_ops->fo_write(fp, buf, len)));
}

int
u_close(int fd)
{
	struct proc *p = syscall_enter();

	return ((int)syscall_ret(p, -fd_close(p, fd)));
}

int
u_fcntl_nonblock(int fd, int on)
{
	struct proc *p = syscall_enter();
	struct file *fp = fd_get(p, fd);

	if (fp == NULL)
		return ((int)syscall_ret(p, -EBADF));
	if (on)
		atomic_set_int(&fp->f_flag, FNONBLOCK);
	else
		atomic_clear_int(&fp->f_flag, FNONBLOCK);
	return ((int)syscall_ret(p, 0));
}

int64_t
u_clock_ns(void)
{
	struct proc *p = syscall_enter();

	return (syscall_ret(p, (int64_t)md_nanotime()));
}

int
u_open(const char *path, int flags)
{
	struct proc *p = syscall_enter();
	int error, fd = -1;

	error = kern_open(p, path, flags, &fd);
	return ((int)syscall_ret(p, error != 0 ? -error : fd));
}

int
u_unlink(const char *path)
{
	struct proc *p = syscall_enter();

	return ((int)syscall_ret(p, -kern_unlink(path)));
}

int64_t
u_lseek(int fd, int64_t off, int whence)
{
	struct proc *p = syscall_enter();
	int64_t res = 0;
	int error;

	error = kern_lseek(p, fd, off, whence, &res);
	return (syscall_ret(p, error != 0 ? -error : res));
}

int64_t
u_fsize(int fd)
{
	struct proc *p = syscall_enter();
	int64_t size = 0;
	int error;

	error = kern_fsize(p, fd, &size);
	return (syscall_ret(p, error != 0 ? -error : size));
}

int64_t
u_mmap_file(
    vm_offset_t addr, size_t len, int prot, int flags, int fd, int64_t off)
{
	struct proc *p = syscall_enter();
	vm_offset_t a = addr;
	int error;

	error = kern_mmap_file(p, &a, len, prot, flags, fd, off);
	return (syscall_ret(p, error != 0 ? -error : (int64_t)a));
}
