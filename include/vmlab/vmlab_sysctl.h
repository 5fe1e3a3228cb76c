/*
 * vmlab_sysctl.h: statistics and tunables of the machine (included by
 * vmlab.h; the conventions on errors and calling contexts are stated
 * there once).
 *
 * One registry names both, as `vmlab sysctl' prints them:
 *	- statistics: read-only 64-bit values computed when read
 *	  (vm.stats.page.free, vm.stats.pgcache.cached, kern.sched.switches,
 *	  ...).  They exist while a machine is booted.
 *	- tunables: knobs read at boot (vm.pgcache.enable, vm.phys.sparse,
 *	  ...): integers, enums (one of a few names, read as its index) and
 *	  strings.  They exist always.
 *
 * Tunable values for a boot come from two places: vmlab_tunable_set()
 * calls made before it, then the assignments of vmlab_config.tunables
 * (which win).  Every boot starts from the defaults and consumes the
 * vmlab_tunable_set() values made before it; later boots start from the
 * defaults again.  While a machine runs its tunables are read-only: the
 * modules copied them at boot.
 */
#ifndef VMLAB_VMLAB_SYSCTL_H
#define VMLAB_VMLAB_SYSCTL_H

#include "vmlab/vmlab_export.h"

#include <stddef.h>
#include <stdint.h>

/*
 * The statistic `name' into *valuep.  EINVAL: a NULL argument; ENOENT: no
 * statistic of that name (a tunable is not one; without a booted machine
 * there are none).  Any thread.
 */
VMLAB_EXPORT int vmlab_stat(const char *name, uint64_t *valuep);

/*
 * Calls fn(name, value, descr, arg) for every statistic, sorted by name,
 * until fn returns non-zero.  Returns 0, fn's non-zero value, ENOMEM
 * (no snapshot could be taken) or EINVAL (fn NULL).  The strings live as
 * long as the machine.  fn may call vmlab_stat() but not boot or shut
 * down.  Any thread.
 */
VMLAB_EXPORT int vmlab_stat_foreach(
    int (*fn)(const char *name, uint64_t value, const char *descr, void *arg),
    void *arg);

/*
 * The integer or enum tunable `name' into *valuep (an enum's index).
 * EINVAL: a NULL argument, or a string tunable (use
 * vmlab_tunable_get_str()); ENOENT: no tunable of that name.  Any
 * thread.
 */
VMLAB_EXPORT int vmlab_tunable_get(const char *name, int64_t *valuep);

/*
 * Any tunable as text into buf (len bytes with the NUL): an integer in
 * decimal, an enum's name, a string as it is.  EINVAL: a NULL argument
 * or len 0; ENOENT: no tunable of that name; ERANGE: the text does not
 * fit (buf untouched).  Any thread.
 */
VMLAB_EXPORT int vmlab_tunable_get_str(const char *name, char *buf, size_t len);

/*
 * Sets tunable `name' to `value' (as `-o name=value' would: "64m", an
 * enum's name, a string) for the next boot; vmlab_tunable_get() shows it
 * at once.  EINVAL: a NULL argument or a bad value; ENOENT: no tunable
 * of that name; EBUSY: a machine is booted (its tunables were read at its
 * boot); ENOMEM.  Host thread, no machine booted.
 */
VMLAB_EXPORT int vmlab_tunable_set(
    const char *name, const char *value, char *err, size_t errlen);

#endif /* !VMLAB_VMLAB_SYSCTL_H */
