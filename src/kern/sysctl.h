/*
 * sysctl.h: one registry of named knobs and statistics.
 *
 * Tunables are set before boot (`-o name=value') and read by their module
 * at boot, which copies the value into its own state: no module writes a
 * tunable's storage, which belongs to the registry.  They keep their
 * value until changed or reset (each boot resets them to their defaults
 * and applies the boot's assignments).  A tunable that may change while
 * a machine runs has a set handler (tunable_set_handler()): sysctl_set()
 * checks the value as at boot, calls the handler, which applies it to the
 * running machine, and records it; any other tunable is refused at run
 * time (EPERM, "can be set at boot only").  Statistics are
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
/* Puts every tunable back to its default, none of them assigned. */
void tunable_reset_all(void);
/* Whether the tunable was assigned (tunable_set) since the last reset. */
bool tunable_is_assigned(const char *name);

/*
 * Run-time changes (see above).  The handler runs in the calling kernel
 * thread with no lock held and returns 0 or an errno (then nothing is
 * recorded).  tunable_set_handler(): once per tunable, after registering
 * it; EEXIST for a second handler, ENOENT for no such tunable.
 * sysctl_set(): an integer or enum tunable's new value (enum: the index
 * of its name); 0, or ENOENT/EINVAL/EPERM or the handler's errno, with a
 * message in `err'.  Kernel thread of a booted machine, no lock held.
 */
typedef int sysctl_set_fn(int64_t value, void *arg);
int tunable_set_handler(const char *name, sysctl_set_fn *fn, void *arg);
int sysctl_set(const char *name, int64_t value, char *err, size_t errlen);

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
