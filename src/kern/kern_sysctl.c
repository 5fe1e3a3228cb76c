/*
 * kern_sysctl.c: the registry of tunables and statistics.
 *
 * Nodes live in one array sorted by name (binary search on lookup).  There
 * are a few hundred at most, registered at init, so insertion by moving
 * the tail is fine.
 *
 * Locking key: (g) sysctl_mtx.
 */
#include "kern/kassert.h"
#include "kern/mutex.h"
#include "kern/sysctl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sysctl_node {
	const char *sn_name;
	const char *sn_descr;
	int sn_kind;
	int64_t *sn_ptr; /* integer and enum tunables */
	int64_t sn_default, sn_min, sn_max;
	const char *const *sn_enum;
	char *sn_buf; /* string tunables: value, sn_buflen bytes */
	size_t sn_buflen;
	const char *sn_defstr;
	uint64_t (*sn_handler)(void *); /* stats */
	void *sn_arg;
	sysctl_set_fn *sn_set; /* tunables: run-time changes, or NULL */
	void *sn_setarg;
	bool sn_assigned; /* tunables: set since the last reset */
};

static struct mtx sysctl_mtx = {
	.lock_object = {
	    .lo_name = "sysctl",
	    .lo_class = &lock_class_mtx_spin,
	    .lo_flags = LO_NOPROFILE | LO_INITED,
	},
};
static struct sysctl_node *sysctl_nodes; /* (g) sorted by name */
static size_t sysctl_nnodes, sysctl_cap; /* (g) */

/* Index of `name', or -(insertion point) - 1.  Called with sysctl_mtx. */
static long
sysctl_find(const char *name)
{
	size_t lo = 0, hi = sysctl_nnodes, mid;
	int c;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		c = strcmp(sysctl_nodes[mid].sn_name, name);
		if (c == 0)
			return ((long)mid);
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (-(long)lo - 1);
}

static int
sysctl_insert(const struct sysctl_node *sn)
{
	struct sysctl_node *n;
	long i;
	size_t cap;
	int error;

	mtx_lock_spin(&sysctl_mtx);
	i = sysctl_find(sn->sn_name);
	if (i >= 0) {
		/* Re-registration of the same node is harmless: -1. */
		error = sysctl_nodes[i].sn_kind == sn->sn_kind ? -1 : EEXIST;
		mtx_unlock_spin(&sysctl_mtx);
		return (error);
	}
	i = -i - 1;
	if (sysctl_nnodes == sysctl_cap) {
		cap = sysctl_cap == 0 ? 64 : sysctl_cap * 2;
		n = md_realloc(sysctl_nodes, cap * sizeof(*n));
		if (n == NULL) {
			mtx_unlock_spin(&sysctl_mtx);
			return (ENOMEM);
		}
		sysctl_nodes = n;
		sysctl_cap = cap;
	}
	memmove(&sysctl_nodes[i + 1], &sysctl_nodes[i],
	    (sysctl_nnodes - (size_t)i) * sizeof(*sysctl_nodes));
	sysctl_nodes[i] = *sn;
	sysctl_nnodes++;
	mtx_unlock_spin(&sysctl_mtx);
	return (0);
}

int
tunable_int_register(const char *name, int64_t *ptr, int64_t def, int64_t min,
    int64_t max, const char *descr)
{
	struct sysctl_node sn = { .sn_name = name,
		.sn_descr = descr,
		.sn_kind = SYSCTL_TUNABLE_INT,
		.sn_ptr = ptr,
		.sn_default = def,
		.sn_min = min,
		.sn_max = max };
	int error;

	error = sysctl_insert(&sn);
	if (error == 0)
		*ptr = def;
	return (error == -1 ? 0 : error);
}

int
tunable_enum_register(const char *name, int64_t *ptr, int64_t def,
    const char *const *names, int nnames, const char *descr)
{
	struct sysctl_node sn = { .sn_name = name,
		.sn_descr = descr,
		.sn_kind = SYSCTL_TUNABLE_ENUM,
		.sn_ptr = ptr,
		.sn_default = def,
		.sn_min = 0,
		.sn_max = nnames - 1,
		.sn_enum = names };
	int error;

	error = sysctl_insert(&sn);
	if (error == 0)
		*ptr = def;
	return (error == -1 ? 0 : error);
}

int
tunable_str_register(const char *name, char *buf, size_t buflen,
    const char *def, const char *descr)
{
	struct sysctl_node sn = { .sn_name = name,
		.sn_descr = descr,
		.sn_kind = SYSCTL_TUNABLE_STR,
		.sn_buf = buf,
		.sn_buflen = buflen,
		.sn_defstr = def };
	int error;

	if (strlen(def) >= buflen)
		return (EINVAL);
	error = sysctl_insert(&sn);
	if (error == 0)
		strcpy(buf, def);
	return (error == -1 ? 0 : error);
}

int
sysctl_parse_int(const char *s, int64_t *vp)
{
	unsigned long long v;
	char *end;
	int shift = 0;

	if (s == NULL || *s == '\0' || *s == '-' || *s == '+' || *s == ' ')
		return (EINVAL);
	/* Decimal, or hexadecimal after 0x (a leading 0 is not octal). */
	errno = 0;
	v = strtoull(
	    s, &end, s[0] == '0' && (s[1] == 'x' || s[1] == 'X') ? 16 : 10);
	if (errno != 0 || end == s)
		return (EINVAL);
	switch (*end) {
	case '\0':
		break;
	case 'k':
	case 'K':
		shift = 10;
		end++;
		break;
	case 'm':
	case 'M':
		shift = 20;
		end++;
		break;
	case 'g':
	case 'G':
		shift = 30;
		end++;
		break;
	case 't':
	case 'T':
		shift = 40;
		end++;
		break;
	default:
		return (EINVAL);
	}
	if (*end == 'i' || *end == 'I')
		end++;
	if (*end == 'b' || *end == 'B')
		end++;
	if (*end != '\0' || v > (unsigned long long)INT64_MAX >> shift)
		return (EINVAL);
	*vp = (int64_t)(v << shift);
	return (0);
}

const char *
sysctl_word(char *buf, const char *word)
{
	size_t n = strlen(word);

	if (n <= SYSCTL_WORDMAX) {
		memcpy(buf, word, n + 1);
		return (buf);
	}
	memcpy(buf, word, SYSCTL_WORDMAX - 3);
	strcpy(buf + SYSCTL_WORDMAX - 3, "...");
	return (buf);
}

const char *
sysctl_fmt_size(char *buf, size_t len, uint64_t bytes)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB",
		"EiB" };
	uint64_t mask;
	int u = -1, shift;

	while (u + 1 < (int)nitems(units) && bytes >> (10 * (u + 2)) != 0)
		u++;
	if (u < 0) {
		snprintf(buf, len, "%llu bytes", (unsigned long long)bytes);
		return (buf);
	}
	shift = 10 * (u + 1);
	mask = (1ull << shift) - 1;
	if ((bytes & mask) == 0)
		snprintf(buf, len, "%llu %s",
		    (unsigned long long)(bytes >> shift), units[u]);
	else /* Rounded down: never more than there is. */
		snprintf(buf, len, "%llu.%llu %s",
		    (unsigned long long)(bytes >> shift),
		    (unsigned long long)(((bytes & mask) * 10) >> shift),
		    units[u]);
	return (buf);
}

int
tunable_set(const char *name, const char *value, bool check_only, char *err,
    size_t errlen)
{
	char wn[SYSCTL_WORDBUF], wv[SYSCTL_WORDBUF];
	struct sysctl_node *sn;
	int64_t v = 0;
	long i;
	int k;

	mtx_lock_spin(&sysctl_mtx);
	i = sysctl_find(name);
	if (i < 0 || sysctl_nodes[i].sn_kind == SYSCTL_STAT) {
		mtx_unlock_spin(&sysctl_mtx);
		snprintf(err, errlen, "%s: %s", sysctl_word(wn, name),
		    i < 0 ? "unknown tunable" : "read-only statistic");
		return (ENOENT);
	}
	sn = &sysctl_nodes[i];
	if (sn->sn_kind == SYSCTL_TUNABLE_STR) {
		if (strlen(value) >= sn->sn_buflen)
			goto bad;
		if (!check_only) {
			strcpy(sn->sn_buf, value);
			sn->sn_assigned = true;
		}
		mtx_unlock_spin(&sysctl_mtx);
		return (0);
	}
	if (sn->sn_kind == SYSCTL_TUNABLE_ENUM) {
		for (k = 0; k <= sn->sn_max; k++)
			if (strcmp(sn->sn_enum[k], value) == 0)
				break;
		if (k > sn->sn_max)
			goto bad;
		v = k;
	} else if (sysctl_parse_int(value, &v) != 0 || v < sn->sn_min ||
	    v > sn->sn_max)
		goto bad;
	if (!check_only) {
		*sn->sn_ptr = v;
		sn->sn_assigned = true;
	}
	mtx_unlock_spin(&sysctl_mtx);
	return (0);
bad:
	(void)sysctl_word(wn, name);
	(void)sysctl_word(wv, value);
	if (sn->sn_kind == SYSCTL_TUNABLE_ENUM)
		snprintf(err, errlen, "%s: bad value '%s' (one of: %s%s%s%s%s)",
		    wn, wv, sn->sn_enum[0], sn->sn_max >= 1 ? ", " : "",
		    sn->sn_max >= 1 ? sn->sn_enum[1] : "",
		    sn->sn_max >= 2 ? ", " : "",
		    sn->sn_max >= 2 ? sn->sn_enum[2] : "");
	else if (sn->sn_kind == SYSCTL_TUNABLE_STR)
		snprintf(err, errlen,
		    "%s: value too long ('%.24s...', %zu characters; at most "
		    "%zu)",
		    wn, value, strlen(value), sn->sn_buflen - 1);
	else
		snprintf(err, errlen,
		    "%s: bad value '%s' (an integer from %lld to %lld)", wn, wv,
		    (long long)sn->sn_min, (long long)sn->sn_max);
	mtx_unlock_spin(&sysctl_mtx);
	return (EINVAL);
}

void
tunable_reset_all(void)
{
	size_t i;

	mtx_lock_spin(&sysctl_mtx);
	for (i = 0; i < sysctl_nnodes; i++) {
		sysctl_nodes[i].sn_assigned = false;
		if (sysctl_nodes[i].sn_kind == SYSCTL_TUNABLE_STR)
			strcpy(
			    sysctl_nodes[i].sn_buf, sysctl_nodes[i].sn_defstr);
		else if (sysctl_nodes[i].sn_kind != SYSCTL_STAT)
			*sysctl_nodes[i].sn_ptr = sysctl_nodes[i].sn_default;
	}
	mtx_unlock_spin(&sysctl_mtx);
}

bool
tunable_is_assigned(const char *name)
{
	bool assigned;
	long i;

	mtx_lock_spin(&sysctl_mtx);
	i = sysctl_find(name);
	assigned = i >= 0 && sysctl_nodes[i].sn_assigned;
	mtx_unlock_spin(&sysctl_mtx);
	return (assigned);
}

int
tunable_set_handler(const char *name, sysctl_set_fn *fn, void *arg)
{
	struct sysctl_node *sn;
	int error = 0;
	long i;

	mtx_lock_spin(&sysctl_mtx);
	i = sysctl_find(name);
	if (i < 0 || sysctl_nodes[i].sn_kind == SYSCTL_STAT ||
	    sysctl_nodes[i].sn_kind == SYSCTL_TUNABLE_STR)
		error = ENOENT;
	else if ((sn = &sysctl_nodes[i])->sn_set != NULL)
		/* Registration is once per process: the same is harmless. */
		error = sn->sn_set == fn && sn->sn_setarg == arg ? 0 : EEXIST;
	else {
		sn->sn_set = fn;
		sn->sn_setarg = arg;
	}
	mtx_unlock_spin(&sysctl_mtx);
	return (error);
}

int
sysctl_set(const char *name, int64_t value, char *err, size_t errlen)
{
	char wn[SYSCTL_WORDBUF];
	struct sysctl_node sn;
	int error;
	long i;

	(void)sysctl_word(wn, name);
	mtx_lock_spin(&sysctl_mtx);
	i = sysctl_find(name);
	if (i >= 0)
		sn = sysctl_nodes[i];
	mtx_unlock_spin(&sysctl_mtx);
	if (i < 0 || sn.sn_kind == SYSCTL_STAT ||
	    sn.sn_kind == SYSCTL_TUNABLE_STR) {
		snprintf(err, errlen, "%s: %s", wn,
		    i < 0 ? "unknown tunable" : "not an integer tunable");
		return (ENOENT);
	}
	if (value < sn.sn_min || value > sn.sn_max) {
		snprintf(err, errlen, "%s: %lld is out of range (%lld to %lld)",
		    wn, (long long)value, (long long)sn.sn_min,
		    (long long)sn.sn_max);
		return (EINVAL);
	}
	if (sn.sn_set == NULL) {
		snprintf(err, errlen, "%s: can be set at boot only", wn);
		return (EPERM);
	}
	/* Unlocked: the handler may sleep (drains, IPIs). */
	if ((error = sn.sn_set(value, sn.sn_setarg)) != 0) {
		snprintf(err, errlen, "%s: cannot change it now: %s", wn,
		    strerror(error));
		return (error);
	}
	mtx_lock_spin(&sysctl_mtx);
	if ((i = sysctl_find(name)) >= 0)
		*sysctl_nodes[i].sn_ptr = value;
	mtx_unlock_spin(&sysctl_mtx);
	return (0);
}

int
sysctl_stat_register(
    const char *name, uint64_t (*handler)(void *), void *arg, const char *descr)
{
	struct sysctl_node sn = { .sn_name = name,
		.sn_descr = descr,
		.sn_kind = SYSCTL_STAT,
		.sn_handler = handler,
		.sn_arg = arg };

	int error = sysctl_insert(&sn);

	return (error == -1 ? 0 : error);
}

void
sysctl_stat_unregister(const char *name, const void *arg)
{
	long i;

	mtx_lock_spin(&sysctl_mtx);
	i = sysctl_find(name);
	if (i >= 0 && sysctl_nodes[i].sn_kind == SYSCTL_STAT &&
	    sysctl_nodes[i].sn_arg == arg) {
		memmove(&sysctl_nodes[i], &sysctl_nodes[i + 1],
		    (sysctl_nnodes - (size_t)i - 1) * sizeof(*sysctl_nodes));
		sysctl_nnodes--;
	}
	mtx_unlock_spin(&sysctl_mtx);
}

void
sysctl_stat_unregister_all(void)
{
	size_t i, j;

	mtx_lock_spin(&sysctl_mtx);
	for (i = j = 0; i < sysctl_nnodes; i++)
		if (sysctl_nodes[i].sn_kind != SYSCTL_STAT)
			sysctl_nodes[j++] = sysctl_nodes[i];
	sysctl_nnodes = j;
	mtx_unlock_spin(&sysctl_mtx);
}

static void
sysctl_fill(const struct sysctl_node *sn, struct sysctl_info *si)
{
	si->si_name = sn->sn_name;
	si->si_descr = sn->sn_descr;
	si->si_kind = sn->sn_kind;
	si->si_default = sn->sn_default;
	si->si_min = sn->sn_min;
	si->si_max = sn->sn_max;
	si->si_enum = sn->sn_enum;
	si->si_str = sn->sn_buf;
	si->si_value = sn->sn_ptr != NULL ? *sn->sn_ptr : 0;
}

bool
sysctl_get(const char *name, struct sysctl_info *info)
{
	struct sysctl_node sn;
	long i;

	mtx_lock_spin(&sysctl_mtx);
	i = sysctl_find(name);
	if (i >= 0)
		sn = sysctl_nodes[i];
	mtx_unlock_spin(&sysctl_mtx);
	if (i < 0)
		return (false);
	if (info != NULL) {
		sysctl_fill(&sn, info);
		if (sn.sn_kind == SYSCTL_STAT)
			info->si_value = (int64_t)sn.sn_handler(sn.sn_arg);
	}
	return (true);
}

int
sysctl_foreach(int (*fn)(const struct sysctl_info *, void *), void *arg)
{
	struct sysctl_node *copy;
	struct sysctl_info si;
	size_t i, n;
	int rv = 0;

	/* Handlers may take locks: call them on a copy, unlocked. */
	mtx_lock_spin(&sysctl_mtx);
	n = sysctl_nnodes;
	copy = md_malloc((n == 0 ? 1 : n) * sizeof(*copy));
	if (copy != NULL)
		memcpy(copy, sysctl_nodes, n * sizeof(*copy));
	mtx_unlock_spin(&sysctl_mtx);
	if (copy == NULL)
		return (ENOMEM);
	for (i = 0; i < n && rv == 0; i++) {
		sysctl_fill(&copy[i], &si);
		if (copy[i].sn_kind == SYSCTL_STAT)
			si.si_value =
			    (int64_t)copy[i].sn_handler(copy[i].sn_arg);
		rv = fn(&si, arg);
	}
	md_free(copy);
	return (rv);
}

void
sysctl_fini(void)
{
	mtx_lock_spin(&sysctl_mtx);
	md_free(sysctl_nodes);
	sysctl_nodes = NULL;
	sysctl_nnodes = sysctl_cap = 0;
	mtx_unlock_spin(&sysctl_mtx);
}
