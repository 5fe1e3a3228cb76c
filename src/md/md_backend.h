/*
 * md_backend.h: what a backend provides to md_common.c.
 *
 * md_common.c implements the parts of the contract that do not depend on
 * the backend (configuration, IPI mailboxes, interrupt nesting, the
 * console) and forwards the rest through the active struct md_backend.
 * Private to src/md.
 */
#ifndef VMLAB_MD_BACKEND_H
#define VMLAB_MD_BACKEND_H

#include "md/md.h"

struct md_backend {
	const char *mb_name;
	int (*mb_init)(const struct md_config *cfg);
	int (*mb_start)(void (*cpu_main)(int));
	void (*mb_halt)(void);
	void (*mb_join)(void);
	void (*mb_shutdown)(void);
	void (*mb_external_wait)(const int *flag);
	void (*mb_external_notify)(void);
	uint64_t (*mb_nanotime)(void);
	void (*mb_cost)(uint64_t ns);
	/* A sync point (md_sync_slow(); only backends that set md_sim_enabled). */
	void (*mb_sync)(const void *addr, int kind);
	void (*mb_cpu_idle)(uint64_t deadline);
	void (*mb_cpu_wake)(int cpu);
	void (*mb_spin_wait)(const void *addr);
	void (*mb_spin_delay)(uint64_t ns);
	/* The kernel switched the current CPU to `to' (sim bookkeeping). */
	void (*mb_ctx_switched)(struct md_ctx *to);
	/* Describes the running CPU's own context (md_ctx_self). */
	void (*mb_ctx_self)(struct md_ctx *ctx);
	/* An IPI was posted to / handled by a CPU (costs, sim). */
	void (*mb_ipi_cost)(bool send);
	/*
	 * When an IPI posted now may be taken (sim: its flight time); NULL:
	 * at once.  md_ipi_poll() leaves a request pending until then.
	 */
	uint64_t (*mb_ipi_due)(void);
};

extern const struct md_backend md_host_backend;
extern const struct md_backend md_sim_backend;
extern const struct md_backend *md_backend; /* (c) active backend */
extern struct md_config md_cfg;		    /* (c) */

/* The kernel's stall hooks (md.h), or NULL. */
extern const struct md_stall_hooks *md_stall_hooks; /* (c) */

/* What both backends share (common/: md_ctx.c, md_mem.c). */
int md_phys_init(uint64_t size);
void md_phys_fini(void);
void md_ctx_fini(void);
void md_ctx_swap_raw(struct md_ctx *from, struct md_ctx *to, bool dying);
void md_ctx_self_host(struct md_ctx *ctx);
/* The cost of a disk transfer of `bytes' (md_disk_*: latency + bytes). */
void md_disk_charge(uint64_t bytes);
/* Mailbox state, for backends that must know whether an IPI waits. */
bool md_ipi_pending(int cpu);
/*
 * Sim only (one host thread): whether an IPI pending for cpu is due at
 * `now', and the earliest due time of its pending IPIs (0: none).
 */
bool md_ipi_ready(int cpu, uint64_t now);
uint64_t md_ipi_next_due(int cpu);
int md_common_init(int ncpus);
void md_common_fini(void);

#endif /* !VMLAB_MD_BACKEND_H */
