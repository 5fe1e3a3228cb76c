/*
 * vmlab_sysctl.c: the front door's statistics and tunables
 * (include/vmlab/vmlab_sysctl.h), on the kernel's registry (kern/sysctl.h).
 *
 * Tunables set with vmlab_tunable_set() before a boot.  vmlab_boot() puts
 * every tunable back to its default first (so that one boot's `-o'
 * assignments do not leak into the next), so a value set in the registry
 * alone would be lost.  The assignments are therefore also recorded here,
 * one per name (the last wins), and vmlab_boot() applies them after the
 * reset and before vmlab_config.tunables (vmlab_tunables_apply_pending()),
 * then forgets them.
 *
 * Locking: the registry has its own lock; the record is touched only by
 * vmlab_tunable_set() and vmlab_boot(), which the API says one host thread
 * calls at a time while no machine runs.
 */
#include "kern/sysctl.h"
#include "md/md.h"
#include "vmlab/vmlab.h"
#include "vmlab_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct vmlab_assign {
	char *va_name;
	char *va_value;
};

static struct vmlab_assign *vmlab_pending; /* in order of first setting */
static size_t vmlab_npending, vmlab_pending_cap;

static void
vmlab_err(char *err, size_t errlen, const char *msg)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", msg);
}

int
vmlab_stat(const char *name, uint64_t *valuep)
{
	struct sysctl_info si;

	if (name == NULL || valuep == NULL)
		return (EINVAL);
	if (!sysctl_get(name, &si) || si.si_kind != SYSCTL_STAT)
		return (ENOENT);
	*valuep = (uint64_t)si.si_value;
	return (0);
}

struct vmlab_stat_walk {
	int (*sw_fn)(const char *, uint64_t, const char *, void *);
	void *sw_arg;
};

static int
vmlab_stat_visit(const struct sysctl_info *si, void *arg)
{
	struct vmlab_stat_walk *sw = arg;

	if (si->si_kind != SYSCTL_STAT)
		return (0);
	return (sw->sw_fn(
	    si->si_name, (uint64_t)si->si_value, si->si_descr, sw->sw_arg));
}

int
vmlab_stat_foreach(
    int (*fn)(const char *name, uint64_t value, const char *descr, void *arg),
    void *arg)
{
	struct vmlab_stat_walk sw = { fn, arg };

	if (fn == NULL)
		return (EINVAL);
	return (sysctl_foreach(vmlab_stat_visit, &sw));
}

/* The tunable `name' into *si: 0, EINVAL or ENOENT. */
static int
vmlab_tunable_info(const char *name, struct sysctl_info *si)
{
	if (name == NULL)
		return (EINVAL);
	(void)vmlab_tunables_init();
	if (!sysctl_get(name, si) || si->si_kind == SYSCTL_STAT)
		return (ENOENT);
	return (0);
}

int
vmlab_tunable_get(const char *name, int64_t *valuep)
{
	struct sysctl_info si;
	int error;

	if (valuep == NULL)
		return (EINVAL);
	if ((error = vmlab_tunable_info(name, &si)) != 0)
		return (error);
	if (si.si_kind == SYSCTL_TUNABLE_STR)
		return (EINVAL);
	*valuep = si.si_value;
	return (0);
}

int
vmlab_tunable_get_str(const char *name, char *buf, size_t len)
{
	struct sysctl_info si;
	char num[24];
	const char *text;
	int error;

	if (buf == NULL || len == 0)
		return (EINVAL);
	if ((error = vmlab_tunable_info(name, &si)) != 0)
		return (error);
	if (si.si_kind == SYSCTL_TUNABLE_STR)
		text = si.si_str;
	else if (si.si_kind == SYSCTL_TUNABLE_ENUM)
		text = si.si_enum[si.si_value];
	else {
		snprintf(num, sizeof(num), "%" PRId64, si.si_value);
		text = num;
	}
	if (strlen(text) >= len)
		return (ERANGE);
	strcpy(buf, text);
	return (0);
}

/* strdup() is POSIX, not C11. */
static char *
vmlab_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = md_malloc(n);

	if (d != NULL)
		memcpy(d, s, n);
	return (d);
}

/* Records name=value for the next boot, replacing an earlier value. */
static int
vmlab_pending_record(const char *name, const char *value)
{
	struct vmlab_assign *va, *grown;
	char *v;
	size_t i;

	if ((v = vmlab_strdup(value)) == NULL)
		return (ENOMEM);
	for (i = 0; i < vmlab_npending; i++) {
		va = &vmlab_pending[i];
		if (strcmp(va->va_name, name) == 0) {
			md_free(va->va_value);
			va->va_value = v;
			return (0);
		}
	}
	if (vmlab_npending == vmlab_pending_cap) {
		i = vmlab_pending_cap == 0 ? 8 : 2 * vmlab_pending_cap;
		grown = md_realloc(vmlab_pending, i * sizeof(*grown));
		if (grown == NULL)
			goto fail;
		vmlab_pending = grown;
		vmlab_pending_cap = i;
	}
	va = &vmlab_pending[vmlab_npending];
	if ((va->va_name = vmlab_strdup(name)) == NULL)
		goto fail;
	va->va_value = v;
	vmlab_npending++;
	return (0);
fail:
	md_free(v);
	return (ENOMEM);
}

int
vmlab_tunable_set(const char *name, const char *value, char *err, size_t errlen)
{
	char w[SYSCTL_WORDBUF], msg[256];
	int error;

	if (err == NULL)
		errlen = 0;
	if (errlen > 0)
		err[0] = '\0';
	if (name == NULL || value == NULL) {
		vmlab_err(err, errlen, "vmlab_tunable_set: NULL name or value");
		return (EINVAL);
	}
	if (vmlab_booted()) {
		snprintf(msg, sizeof(msg),
		    "%s: a machine is booted (tunables are read at boot)",
		    sysctl_word(w, name));
		vmlab_err(err, errlen, msg);
		return (EBUSY);
	}
	(void)vmlab_tunables_init();
	/* Check first: a bad value changes neither the registry nor us. */
	if ((error = tunable_set(name, value, true, msg, sizeof(msg))) != 0) {
		vmlab_err(err, errlen, msg);
		return (error);
	}
	if ((error = vmlab_pending_record(name, value)) != 0) {
		vmlab_err(err, errlen, "vmlab_tunable_set: out of memory");
		return (error);
	}
	return (tunable_set(name, value, false, err, errlen));
}

int
vmlab_tunables_apply_pending(char *err, size_t errlen)
{
	struct vmlab_assign *va;
	size_t i;
	int error = 0;

	for (i = 0; i < vmlab_npending; i++) {
		va = &vmlab_pending[i];
		if (error == 0)
			error = tunable_set(
			    va->va_name, va->va_value, false, err, errlen);
		md_free(va->va_name);
		md_free(va->va_value);
	}
	md_free(vmlab_pending);
	vmlab_pending = NULL;
	vmlab_npending = vmlab_pending_cap = 0;
	return (error);
}
