/*
 * syscall.h: the system calls programs make (see proc.h).
 *
 * Called only from a process's thread.  Each returns a non-negative
 * result or -errno (as the raw system-call interface of Linux does).
 * User buffers are addresses in the process's address space, reached
 * through uaccess: an unmapped or protected buffer gives -EFAULT.  A
 * process with a SIGKILL pending exits at the end of the call (the call
 * does not return).
 *
 *	u_fork(fn, arg)	 child runs fn(arg) in a copy of the address
 *			 space with the descriptors; parent gets its pid
 *	u_exec(image, arg) runs a registered image's main(arg) in a fresh
 *			 address space; returns only on error
 *	u_exit(status)	 does not return
 *	u_wait(pid, statusp, options) pid or -1; the status is stored at
 *			 user address statusp (0: not stored); 0 with
 *			 WNOHANG and nothing exited
 *	u_kill(pid, sig) SIGKILL or 0; -EINVAL for a process killing itself
 *			 (use u_exit)
 *	u_mmap(addr, len, prot, flags) anonymous memory (MAP_ANON with
 *			 MAP_PRIVATE or MAP_SHARED, shared with forked
 *			 children); the address
 *	u_pipe(fdsp, flags) two descriptors stored at user address fdsp:
 *			 [0] reads, [1] writes; flags 0 or O_NONBLOCK
 *	u_read/u_write(fd, buf, len) bytes moved; 0 at EOF
 *	u_fcntl_nonblock(fd, on) sets or clears O_NONBLOCK
 *	u_clock_ns()	 the machine's clock in ns (virtual on the
 *			 simulated machine), as clock_gettime(CLOCK_MONOTONIC)
 */
#ifndef VMLAB_SYSCALL_H
#define VMLAB_SYSCALL_H

#include "vm/vm_param.h"

#include <stddef.h>
#include <stdint.h>

#define O_NONBLOCK 0x4

int u_getpid(void);
int u_getppid(void);
int u_fork(int (*fn)(intptr_t), intptr_t arg);
int u_exec(const char *image, intptr_t arg);
void u_exit(int status) __attribute__((noreturn));
int u_wait(int pid, vm_offset_t statusp, int options);
int u_kill(int pid, int sig);
int64_t u_mmap(vm_offset_t addr, size_t len, int prot, int flags);
int u_munmap(vm_offset_t addr, size_t len);
int u_mprotect(vm_offset_t addr, size_t len, int prot);
int u_pipe(vm_offset_t fdsp, int flags);
int64_t u_read(int fd, vm_offset_t buf, size_t len);
int64_t u_write(int fd, vm_offset_t buf, size_t len);
int u_close(int fd);
int u_fcntl_nonblock(int fd, int on);
int64_t u_clock_ns(void);

#endif /* !VMLAB_SYSCALL_H */
