/*
 * vmlab_int.h: what the front door's files (src/vmlab/) share.
 */
#ifndef VMLAB_VMLAB_INT_H
#define VMLAB_VMLAB_INT_H

#include <stddef.h>

/*
 * Applies the assignments vmlab_tunable_set() recorded since the last
 * boot, after the boot has put every tunable back to its default and
 * before it applies vmlab_config.tunables, and forgets them.  0, or the
 * errno of an assignment the registry no longer accepts (with `err').
 * vmlab_boot(), on its host thread.
 */
int vmlab_tunables_apply_pending(char *err, size_t errlen);

#endif /* !VMLAB_VMLAB_INT_H */
