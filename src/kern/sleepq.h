/*
 * sleepq.h: sleep queues, and sleep/wakeup built on them.
 *
 * Threads sleep on a wait channel (any address).  Channels hash into
 * SLEEPQ_CHAINS chains, each with a spin lock; a channel with sleepers has
 * one struct sleepqueue, lent by its first sleeper (every thread owns one
 * and gets one back when woken).  A sleep queue has SLEEPQ_NQUEUES FIFO
 * sub-queues (rw locks keep readers and writers apart).
 *
 * No lost wakeups: a sleeper takes the chain lock before it drops its
 * interlock and the waker takes the chain lock, so a wakeup either finds the
 * sleeper queued or happens before the sleeper's check under the interlock.
 *
 * Low-level protocol (for locks): sleepq_lock(wchan); check the condition;
 * sleepq_add(); sleepq_wait() (which drops the chain lock).  Wakers:
 * sleepq_lock(wchan); sleepq_signal() or sleepq_broadcast();
 * sleepq_release(wchan).
 */
#ifndef VMLAB_SLEEPQ_H
#define VMLAB_SLEEPQ_H

#include <stdbool.h>
#include <stdint.h>

struct thread;

struct lock_object;

#define SLEEPQ_NQUEUES 2

/*
 * Locks (mtx, qmtx, rw, sx, lockmgr) sleep on the turnstile channel of
 * their address: an odd address that hashes into a separate table of chains
 * ("turnstile chain", ranked after "sleepq chain").  msleep() may release
 * a contested mutex, taking its turnstile chain, while it holds the sleep
 * channel's chain; with one table a hash collision could deadlock two
 * such sleeps.
 */
#define TS_WCHAN(lk) ((const void *)((uintptr_t)(lk) | 1))
#define PDROP 0x1  /* msleep(): do not reacquire the interlock */
#define PCATCH 0x2 /* msleep(): interruptible (thread_interrupt) */

void sleepq_lock(const void *wchan);
void sleepq_release(const void *wchan);
void sleepq_add(
    const void *wchan, const char *wmesg, int queue, uint64_t timo_ns);
int sleepq_wait(void);
int sleepq_signal(const void *wchan, int queue);
int sleepq_broadcast(const void *wchan, int queue);
uint32_t sleepq_count(const void *wchan, int queue);
struct thread *sleepq_first(const void *wchan, int queue);

/*
 * msleep(): atomically drops `interlock' (may be NULL) and sleeps on `chan'
 * until woken or `timo_ns' nanoseconds pass (0: no timeout).  Reacquires
 * the interlock unless PDROP.  Returns 0, or EWOULDBLOCK on timeout.
 * With PCATCH the sleep is interruptible: it returns EINTR at once if an
 * interrupt is pending for the thread (thread_interrupt()), or as soon
 * as one is posted while it sleeps (as a signal ends a PCATCH sleep).
 */
int msleep(const void *chan, struct lock_object *interlock, int flags,
    const char *wmesg, uint64_t timo_ns);
/* Wake every thread / the oldest thread sleeping on `chan'. */
void wakeup(const void *chan);
void wakeup_one(const void *chan);
/* Sleeps without a channel for `ns' nanoseconds. */
void pause_ns(const char *wmesg, uint64_t ns);

/*
 * Posts an interrupt for `td' (a SIGKILL): its PCATCH sleeps fail with
 * EINTR from now on, and a PCATCH sleep it is in now ends.  Lockless
 * with respect to the sleeper: the sleeper publishes its channel and
 * then reads td_intr, this stores td_intr and then reads the channel,
 * both with a full fence in between, so one of them sees the other.
 * thread_interrupt_clear(): curthread forgets its interrupt.
 */
void thread_interrupt(struct thread *td);
void thread_interrupt_clear(void);

struct sleepqueue *sleepq_alloc(void);
void sleepq_free(struct sleepqueue *sq);
int sleepq_init(void);
void sleepq_fini(void);
uint64_t sleepq_wakeups(void);

#endif /* !VMLAB_SLEEPQ_H */
