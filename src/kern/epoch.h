/*
 * epoch.h: epoch-based deferred freeing for lockless readers (an SMR).
 *
 * Readers bracket their lockless accesses with epoch_enter()/epoch_exit();
 * they may not sleep in between (the kernel is non-preemptive, so a
 * section is bounded by what the reader does).  A writer unlinks an object
 * and passes it to epoch_call(): fn(arg) runs once every reader that could
 * have seen the object has left its section.  epoch_wait() blocks until
 * all sections open at the call have ended.
 *
 * Correctness is only provided if readers find objects exclusively
 * through pointers that writers update with release stores (or stronger)
 * and unlink before calling epoch_call().
 */
#ifndef VMLAB_EPOCH_H
#define VMLAB_EPOCH_H

#include <stdint.h>

void epoch_enter(void);
void epoch_exit(void);
void epoch_call(void (*fn)(void *), void *arg);
void epoch_wait(void);
/* Runs this CPU's deferred calls whose grace period has ended. */
void epoch_poll(void);
/* Runs every deferred call (shutdown; no readers left). */
void epoch_drain_all(void);
int epoch_init(void);
void epoch_fini(void);
uint64_t epoch_pending(void);

#endif /* !VMLAB_EPOCH_H */
