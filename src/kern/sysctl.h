/*
 * sysctl.h: one registry of named knobs and statistics.
 *
 * Tunables are set before boot (`-o name=value') and read by their module
 * at boot; they keep their value until changed or reset.  Statistics are
 * read-only values computed by a handler (counters register themselves);
 * they exist while a machine is booted.  `vmlab sysctl' prints both.
 *
 * Values of integer tunables accept a decimal or 0x number with an
 * optional k/m/g/t suffix (powers of 1024); enum tunables accept one of
 * their names; string tunables accept any string that fits their buffer
 * (with its terminating NUL).  Errors are returned with a one-line message
 * naming the offending word.
 *
 * The registry is protected by a spin mutex, so registration may happen
 * from kernel threads and from the booting (external) thread.
 */
#ifndef VMLAB_SYSCTL_H
#define VMLAB_SYSCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SYSCTL_TUNABLE_INT 1
#define SYSCTL_TUNABLE_ENUM 2
#define SYSCTL_STAT 3
#define SYSCTL_TUNABLE_STR 4

struct sysctl_info {
	const char *si_name;
	const char *si_descr;
	int si_kind;
	int64_t si_value; /* tunables: current value; stats: reading */
	int64_t si_default;
	int64_t si_min, si_max;
	const char *const *si_enum; /* enum names, si_max + 1 of them */
	/*
	 * String tunables: the current value, which is the tunable's own
	 * buffer (valid until the tunable is next set); NULL otherwise.
	 * si_value, si_default, si_min and si_max are 0.
	 */
	const char *si_str;
};

int tunable_int_register(const char *name, int64_t *ptr, int64_t def,
    int64_t min, int64_t max, const char *descr);
int tunable_enum_register(const char *name, int64_t *ptr, int64_t def,
    const char *const *names, int nnames, const char *descr);
/*
 * A string tunable: `buf' holds the value (at most buflen - 1 characters);
 * `def' (which must fit) is copied into it at registration and reset.
 */
int tunable_str_register(const char *name, char *buf, size_t buflen,
    const char *def, const char *descr);
/* Parses and (unless check_only) sets; 0 or EINVAL/ENOENT with `err'. */
int tunable_set(const char *name, const char *value, bool check_only, char *err,
    size_t errlen);
/* Puts every tunable back to its default. */
void tunable_reset_all(void);

int sysctl_stat_register(const char *name, uint64_t (*handler)(void *),
    void *arg, const char *descr);
/* Removes statistic `name' if `arg' is its handler's argument. */
void sysctl_stat_unregister(const char *name, const void *arg);
void sysctl_stat_unregister_all(void);
/* Reads one node; returns false if there is none of that name. */
bool sysctl_get(const char *name, struct sysctl_info *info);
/* Calls fn for every node, sorted by name; stops when fn returns non-0. */
int sysctl_foreach(int (*fn)(const struct sysctl_info *, void *), void *arg);
/* Parses an integer with an optional k/m/g/t suffix. */
int sysctl_parse_int(const char *s, int64_t *vp);
/*
 * Words in one-line messages.  sysctl_word() copies `word' into buf
 * (SYSCTL_WORDBUF bytes), cut to SYSCTL_WORDMAX characters: a longer word
 * keeps its start and ends with "...".  sysctl_fmt_size() writes a byte
 * count as "1000 bytes", "64 KiB", "23.4 GiB" (powers of 1024, one decimal
 * rounded down when not whole).  Both return buf.
 */
#define SYSCTL_WORDMAX 80
#define SYSCTL_WORDBUF (SYSCTL_WORDMAX + 1)
const char *sysctl_word(char *buf, const char *word);
const char *sysctl_fmt_size(char *buf, size_t len, uint64_t bytes);
void sysctl_fini(void);

#endif /* !VMLAB_SYSCTL_H */
