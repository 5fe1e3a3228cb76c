/*
 * proc_int.h: what the files of src/proc share and nothing else sees.
 */
#ifndef VMLAB_PROC_INT_H
#define VMLAB_PROC_INT_H

#include "proc/proc.h"

/* kern_proc.c: the system calls' kernel halves (errno, 0 on success). */
int kern_fork(struct proc *p1, int (*fn)(intptr_t), intptr_t arg, int *pidp);
/* Returns only on failure. */
int kern_exec(struct proc *p, const char *name, intptr_t arg);
int kern_wait(
    struct proc *parent, int pid, int *statusp, int options, bool orphans);
int kern_kill(struct proc *self, int pid, int sig);

/* kern_descrip.c: the zones of procs and files. */
int proc_zones_init(void);
void proc_zones_fini(void);
struct proc *proc_zalloc(void);
void proc_zfree(struct proc *p);
struct pipe *pipe_zalloc(void);
void pipe_zfree(struct pipe *pi);
/* Frees a file that never reached a table (no close). */
void ffree_unused(struct file *fp);

/* sys_pipe.c */
int pipe_tunables(void);
int pipe_init(void);
void pipe_stop(void);
void pipe_fini(void);
int kern_pipe(struct proc *p, int fds[2], int flags);

/* vfs_cache.c (the rest of the file layer's boot is in vfs.h). */
int vfs_tunables(void);
/* vfs_vnops.c: the kernel halves of vfs.h's system calls (errno). */
int kern_open(struct proc *p, const char *path, int flags, int *fdp);
int kern_unlink(const char *path);
int kern_lseek(struct proc *p, int fd, int64_t off, int whence, int64_t *resp);
int kern_fsize(struct proc *p, int fd, int64_t *sizep);
int kern_mmap_file(struct proc *p, vm_offset_t *addrp, size_t len, int prot,
    int flags, int fd, int64_t off);

#endif /* !VMLAB_PROC_INT_H */
