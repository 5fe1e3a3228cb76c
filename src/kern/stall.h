/*
 * stall.h: the kernel's half of stall detection on the simulated machine.
 *
 * md/sim notices when no CPU can run (md.h, "Stall detection"); the hooks
 * registered here decide whether the machine is stalled and report its
 * threads: each one's wait channel (wmesg and address), its timeout, the
 * locks it holds and, for a thread blocked on a lock, who holds it.  The
 * run then ends with exit status VMLAB_EXIT_STALL (vmlab.h).
 *
 * stall_init() registers the hooks (sched_init() calls it once the thread
 * table exists), stall_fini() removes them.  Both are called externally
 * at boot and shutdown.
 */
#ifndef VMLAB_STALL_H
#define VMLAB_STALL_H

/*
 * Virtual time for which only daemons may run, with every other thread
 * asleep without a timeout, before the machine counts as stalled: 100
 * periods of the page daemon's idle sleep.
 */
#define STALL_GRACE_NS (10ull * 1000 * 1000 * 1000)

void stall_init(void);
void stall_fini(void);

#endif /* !VMLAB_STALL_H */
