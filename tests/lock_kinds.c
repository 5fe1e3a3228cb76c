/*
 * lock_kinds.c: the kernel's lock kinds behind one interface (see
 * lock_kinds.h).
 */
#include "lock_kinds.h"

#include "harness.h"

const char *const lk_class[LK_NKINDS] = { "mtx", "spin", "qmtx", "rw", "sx",
	"lockmgr" };

bool
lk_has_shared(int kind)
{
	return (kind == LK_RW || kind == LK_SX || kind == LK_LOCKMGR);
}

bool
lk_sleepable(int kind)
{
	return (kind == LK_QMTX || kind == LK_SX || kind == LK_LOCKMGR);
}

bool
lk_is_spin(int kind)
{
	return (kind == LK_SPIN);
}

void
tl_init(struct tlock *tl, int kind, const char *name)
{
	tl->tl_kind = kind;
	switch (kind) {
	case LK_MTX:
		mtx_init(&tl->tl_u.m, name, MTX_DEF);
		break;
	case LK_SPIN:
		mtx_init(&tl->tl_u.m, name, MTX_SPIN);
		break;
	case LK_QMTX:
		qmtx_init(&tl->tl_u.q, name);
		break;
	case LK_RW:
		rw_init(&tl->tl_u.rw, name);
		break;
	case LK_SX:
		sx_init(&tl->tl_u.sx, name);
		break;
	case LK_LOCKMGR:
		lockmgr_init(&tl->tl_u.lk, name);
		break;
	default:
		test_fail(__FILE__, __LINE__, "tl_init: kind %d", kind);
	}
}

void
tl_destroy(struct tlock *tl)
{
	switch (tl->tl_kind) {
	case LK_MTX:
	case LK_SPIN:
		mtx_destroy(&tl->tl_u.m);
		break;
	case LK_QMTX:
		qmtx_destroy(&tl->tl_u.q);
		break;
	case LK_RW:
		rw_destroy(&tl->tl_u.rw);
		break;
	case LK_SX:
		sx_destroy(&tl->tl_u.sx);
		break;
	case LK_LOCKMGR:
		lockmgr_destroy(&tl->tl_u.lk);
		break;
	}
}

struct lock_object *
tl_obj(struct tlock *tl)
{
	switch (tl->tl_kind) {
	case LK_QMTX:
		return (&tl->tl_u.q.lock_object);
	case LK_RW:
		return (&tl->tl_u.rw.lock_object);
	case LK_SX:
		return (&tl->tl_u.sx.lock_object);
	case LK_LOCKMGR:
		return (&tl->tl_u.lk.lock_object);
	default:
		return (&tl->tl_u.m.lock_object);
	}
}

void
tl_xlock(struct tlock *tl)
{
	switch (tl->tl_kind) {
	case LK_MTX:
		mtx_lock(&tl->tl_u.m);
		break;
	case LK_SPIN:
		mtx_lock_spin(&tl->tl_u.m);
		break;
	case LK_QMTX:
		qmtx_lock(&tl->tl_u.q);
		break;
	case LK_RW:
		rw_wlock(&tl->tl_u.rw);
		break;
	case LK_SX:
		sx_xlock(&tl->tl_u.sx);
		break;
	case LK_LOCKMGR:
		lockmgr_xlock(&tl->tl_u.lk);
		break;
	}
}

void
tl_xunlock(struct tlock *tl)
{
	switch (tl->tl_kind) {
	case LK_MTX:
		mtx_unlock(&tl->tl_u.m);
		break;
	case LK_SPIN:
		mtx_unlock_spin(&tl->tl_u.m);
		break;
	case LK_QMTX:
		qmtx_unlock(&tl->tl_u.q);
		break;
	case LK_RW:
		rw_wunlock(&tl->tl_u.rw);
		break;
	case LK_SX:
		sx_xunlock(&tl->tl_u.sx);
		break;
	case LK_LOCKMGR:
		lockmgr_unlock(&tl->tl_u.lk);
		break;
	}
}

void
tl_slock(struct tlock *tl)
{
	switch (tl->tl_kind) {
	case LK_RW:
		rw_rlock(&tl->tl_u.rw);
		break;
	case LK_SX:
		sx_slock(&tl->tl_u.sx);
		break;
	case LK_LOCKMGR:
		lockmgr_slock(&tl->tl_u.lk);
		break;
	default:
		test_fail(__FILE__, __LINE__, "tl_slock: kind %d", tl->tl_kind);
	}
}

void
tl_sunlock(struct tlock *tl)
{
	switch (tl->tl_kind) {
	case LK_RW:
		rw_runlock(&tl->tl_u.rw);
		break;
	case LK_SX:
		sx_sunlock(&tl->tl_u.sx);
		break;
	case LK_LOCKMGR:
		lockmgr_unlock(&tl->tl_u.lk);
		break;
	default:
		test_fail(
		    __FILE__, __LINE__, "tl_sunlock: kind %d", tl->tl_kind);
	}
}

void
tl_lock(struct tlock *tl, bool shared)
{
	if (shared)
		tl_slock(tl);
	else
		tl_xlock(tl);
}

void
tl_unlock(struct tlock *tl, bool shared)
{
	if (shared)
		tl_sunlock(tl);
	else
		tl_xunlock(tl);
}

bool
tl_xowned(struct tlock *tl)
{
	switch (tl->tl_kind) {
	case LK_QMTX:
		return (qmtx_owned(&tl->tl_u.q));
	case LK_RW:
		return (rw_wowned(&tl->tl_u.rw));
	case LK_SX:
		return (sx_xowned(&tl->tl_u.sx));
	case LK_LOCKMGR:
		return (lockmgr_xowned(&tl->tl_u.lk));
	default:
		return (mtx_owned(&tl->tl_u.m));
	}
}
