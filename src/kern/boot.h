/*
 * boot.h: boot steps and boot errors.
 *
 * A layer boots as a table of steps run in order; each step is an init
 * and the fini that undoes it.  The contract of a step:
 *	- bs_init() returns 0, or an errno after undoing everything it did
 *	  (so that nothing of a failed step needs a fini); it may explain
 *	  the failure with boot_error().  NULL: nothing to initialise.
 *	- bs_fini() undoes a successful bs_init(), after the CPUs stopped
 *	  (or before they ever started, when a later step failed).  NULL:
 *	  nothing to undo.
 *	- bs_stop() (optional) runs at shutdown in a kernel thread, in
 *	  reverse order, before the CPUs halt: it ends the step's daemons.
 * boot_steps_init() runs the inits; when step k fails it runs the finis
 * of steps k - 1 .. 0 and returns step k's error, so a failed boot leaves
 * nothing behind.  A step may itself run a table (a layer's own steps).
 *
 * Boot errors.  The front door brackets a boot with boot_msg_begin() and
 * boot_msg_end(); in between, the first boot_error() becomes the boot's
 * one-line message (later ones are dropped).  Outside a boot,
 * boot_error() prints on the console.  A step that fails without
 * explaining gets "<step name>: <strerror>".
 *
 * Failure injection (tests): the tunable kern.boot.fail_after=NAME makes
 * the step named NAME fail with EIO right after its init succeeded (its
 * fini runs first), which exercises the unwinding of every step.
 *
 * Boot runs in one external thread before the CPUs start: no locking.
 */
#ifndef VMLAB_KERN_BOOT_H
#define VMLAB_KERN_BOOT_H

#include <stddef.h>

struct boot_step {
	const char *bs_name;
	int (*bs_init)(void);
	void (*bs_fini)(void);
	void (*bs_stop)(void);
};

int boot_tunables(void);
int boot_steps_init(const struct boot_step *bs, size_t n);
void boot_steps_stop(const struct boot_step *bs, size_t n);
void boot_steps_fini(const struct boot_step *bs, size_t n);

void boot_msg_begin(char *err, size_t errlen);
void boot_msg_end(void);
void boot_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* !VMLAB_KERN_BOOT_H */
