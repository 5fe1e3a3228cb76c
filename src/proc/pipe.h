/*
 * pipe.h: what the rest of the system sees of pipes (sys_pipe.c).
 * Pipes are made by the pipe() system call (syscall.h); the kernel
 * reads their statistics and drains the per-CPU caches.
 */
#ifndef VMLAB_PIPE_H
#define VMLAB_PIPE_H

#include <stdint.h>

struct pipe_stats {
	uint64_t live;	     /* pipes allocated (in use or cached) */
	uint64_t cached;     /* of which in the CPUs' caches */
	uint64_t creates;    /* pipe() calls that succeeded */
	uint64_t cache_hits; /* of which served from a cache */
	uint64_t kva_frees;  /* buffers freed through the kernel map */
};

void pipe_stats(struct pipe_stats *st);
/* Frees every cached pipe: after it, live counts pipes in use. */
void pipe_drain(void);

#endif /* !VMLAB_PIPE_H */
