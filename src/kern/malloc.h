/*
 * malloc.h: the allocation flags every kernel allocator takes (kmem,
 * vmem, uma), as FreeBSD's sys/malloc.h.
 *
 * Exactly one of M_NOWAIT (fail rather than sleep) and M_WAITOK (sleep
 * until the request can be met) may be given; neither means M_NOWAIT.
 * vmem takes one fit strategy as well (M_BESTFIT, M_INSTANTFIT (the
 * default), M_FIRSTFIT).
 */
#ifndef VMLAB_KERN_MALLOC_H
#define VMLAB_KERN_MALLOC_H

#define M_NOWAIT 0x0001
#define M_WAITOK 0x0002
#define M_ZERO 0x0100
#define M_USE_RESERVE 0x0400 /* may dip into the emergency page reserve */

#define M_BESTFIT 0x2000
#define M_INSTANTFIT 0x4000
#define M_FIRSTFIT 0x8000
#define M_FITMASK (M_BESTFIT | M_INSTANTFIT | M_FIRSTFIT)

#endif /* !VMLAB_KERN_MALLOC_H */
