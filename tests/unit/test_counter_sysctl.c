/*
 * test_counter_sysctl.c: per-CPU counters and the sysctl registry.
 *
 * Cases:
 *  - counter_u64_add() from many threads on 4 and 8 CPUs, and from the
 *    external thread, sums exactly (negative adds included);
 *  - counter_u64_zero() zeroes, and later adds count from 0;
 *  - a named counter is a statistic whose reading is its value; a freed
 *    counter's statistic is gone, and its slot comes back zeroed;
 *  - counters allocated and freed concurrently by many threads, some
 *    with the same name, get distinct slots and consistent statistics;
 *  - tunables: registration, tunable_set() with good and bad values
 *    (bad integer, out of range, unknown enum name, string too long,
 *    unknown tunable, statistic) with messages naming the offending word,
 *    check-only sets, assignments at boot and reset to defaults;
 *  - sysctl_parse_int(): suffixes, hexadecimal, limits, rejections;
 *  - sysctl_foreach() lists every node once, sorted by name, and stops
 *    when its function returns non-zero.
 */
#include "harness.h"
#include "kern/counter.h"
#include "kern/sysctl.h"
#include "kern/thread.h"
#include "md/md_atomic.h"
#include "vmlab/vmlab.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXCPU 8

/*
 * Sums from many threads.  Thread i adds (i + 1) to cs_up and, in pairs,
 * +3 then -1 to cs_updown, cs_iters times each.
 */
struct cs_state {
	counter_u64_t cs_up;
	counter_u64_t cs_updown;
	uint32_t cs_iters;	    /* (c) */
	uint32_t cs_percpu[MAXCPU]; /* (a) threads seen per CPU */
	uint64_t cs_inside;	    /* counter_u64_fetch() inside the machine */
};

struct cs_arg {
	struct cs_state *ca_s;
	int ca_i;
};

static void
cs_thread(void *arg)
{
	struct cs_arg *ca = arg;
	struct cs_state *s = ca->ca_s;
	uint32_t k;

	atomic_fetchadd_int(&s->cs_percpu[curcpu], 1);
	for (k = 0; k < s->cs_iters; k++) {
		counter_u64_add(s->cs_up, ca->ca_i + 1);
		counter_u64_add(s->cs_updown, 3);
		counter_u64_add(s->cs_updown, -1);
		if (k % 256 == 0)
			maybe_yield();
	}
}

#define CS_THREADS 16

static void
cs_main(void *arg)
{
	struct cs_state *s = arg;
	struct cs_arg args[CS_THREADS];
	struct thread *tds[CS_THREADS];
	int i;

	for (i = 0; i < CS_THREADS; i++) {
		args[i].ca_s = s;
		args[i].ca_i = i;
		CHECK(kthread_create(cs_thread, &args[i], -1, KTHR_JOINABLE,
			  &tds[i], "cs%d", i) == 0);
	}
	for (i = 0; i < CS_THREADS; i++)
		kthread_join(tds[i]);
	s->cs_inside = counter_u64_fetch(s->cs_up);
}

static void
test_counter_sum(void)
{
	struct cs_state s;
	uint64_t up, updown;
	int ncpus[] = { 4, 8 };
	int i, k;

	for (k = 0; k < 2; k++) {
		memset(&s, 0, sizeof(s));
		s.cs_iters = test_sanitizer() ? 2000 : 20000;
		test_boot(ncpus[k], NULL);
		s.cs_up = counter_u64_alloc(NULL, NULL);
		s.cs_updown = counter_u64_alloc(NULL, NULL);
		CHECK(s.cs_up != NULL && s.cs_updown != NULL);
		CHECK(counter_u64_fetch(s.cs_up) == 0);
		/* From the external (non-CPU) thread too. */
		counter_u64_add(s.cs_up, 1000);
		test_run(cs_main, &s);
		counter_u64_add(s.cs_up, 1000);
		up = 2000 +
		    (uint64_t)s.cs_iters * CS_THREADS * (CS_THREADS + 1) / 2;
		updown = (uint64_t)s.cs_iters * CS_THREADS * 2;
		CHECKF(counter_u64_fetch(s.cs_up) == up,
		    "%d CPUs: sum %llu, expected %llu", ncpus[k],
		    (unsigned long long)counter_u64_fetch(s.cs_up),
		    (unsigned long long)up);
		CHECK(s.cs_inside == up - 1000);
		CHECKF(counter_u64_fetch(s.cs_updown) == updown,
		    "%d CPUs: up-down sum %llu, expected %llu", ncpus[k],
		    (unsigned long long)counter_u64_fetch(s.cs_updown),
		    (unsigned long long)updown);
		for (i = 0; i < ncpus[k]; i++)
			CHECKF(s.cs_percpu[i] > 0, "no adder ran on CPU %d", i);
		counter_u64_free(s.cs_up);
		counter_u64_free(s.cs_updown);
		test_shutdown();
	}
}

/*
 * counter_u64_zero().
 */
static void
zero_main(void *arg)
{
	counter_u64_t c = arg;

	counter_u64_add(c, 5);
	counter_u64_zero(c);
	CHECK(counter_u64_fetch(c) == 0);
	counter_u64_add(c, 7);
}

static void
test_counter_zero(void)
{
	counter_u64_t c;

	test_boot(2, NULL);
	c = counter_u64_alloc(NULL, NULL);
	counter_u64_add(c, 11);
	test_run(zero_main, c);
	CHECK(counter_u64_fetch(c) == 7);
	counter_u64_zero(c);
	CHECK(counter_u64_fetch(c) == 0);
	counter_u64_add(c, 2);
	CHECK(counter_u64_fetch(c) == 2);
	counter_u64_free(c);
	test_shutdown();
}

/*
 * Named counters are statistics.
 */
static void
test_counter_stat(void)
{
	struct sysctl_info si;
	counter_u64_t a, b;

	test_boot(2, NULL);
	a = counter_u64_alloc("test.counter.a", "a test counter");
	counter_u64_add(a, 42);
	CHECK(sysctl_get("test.counter.a", &si));
	CHECK(si.si_kind == SYSCTL_STAT && si.si_value == 42);
	CHECK(strcmp(si.si_descr, "a test counter") == 0);
	counter_u64_free(a);
	/* Its statistic goes with it (it would read freed memory). */
	CHECKF(!sysctl_get("test.counter.a", NULL),
	    "the statistic of a freed counter remains");
	/* The slot comes back zeroed; the name can be used again. */
	b = counter_u64_alloc("test.counter.a", "again");
	CHECK(counter_u64_fetch(b) == 0);
	counter_u64_add(b, 3);
	CHECK(sysctl_get("test.counter.a", &si) && si.si_value == 3);
	counter_u64_free(b);
	CHECK(!sysctl_get("test.counter.a", NULL));
	test_shutdown();
	/* Statistics do not outlive the machine. */
	CHECK(!sysctl_get("kern.sched.wakeups", NULL));
}

/*
 * Concurrent allocation.  Thread i allocates CA_PER counters named
 * "test.ca.<i>.<k>", plus one named "test.ca.shared" like every other
 * thread, adds to them, checks them, frees them.
 */
#define CA_THREADS 8
#define CA_PER 24

static char ca_names[CA_THREADS][CA_PER][24]; /* (c) */
static uint32_t ca_bad;			      /* (a) */

static void
ca_thread(void *arg)
{
	int i = (int)(uintptr_t)arg, k;
	counter_u64_t cs[CA_PER], shared;
	struct sysctl_info si;

	shared = counter_u64_alloc("test.ca.shared", NULL);
	for (k = 0; k < CA_PER; k++) {
		cs[k] = counter_u64_alloc(ca_names[i][k], NULL);
		if (cs[k] == NULL) {
			atomic_fetchadd_int(&ca_bad, 1);
			return;
		}
		counter_u64_add(cs[k], k + 1);
		maybe_yield();
	}
	for (k = 0; k < CA_PER; k++) {
		if (counter_u64_fetch(cs[k]) != (uint64_t)k + 1 ||
		    !sysctl_get(ca_names[i][k], &si) || si.si_value != k + 1)
			atomic_fetchadd_int(&ca_bad, 1);
	}
	for (k = 0; k < CA_PER; k++)
		counter_u64_free(cs[k]);
	counter_u64_free(shared);
}

static void
ca_main(void *arg)
{
	struct thread *tds[CA_THREADS];
	int i;

	(void)arg;
	for (i = 0; i < CA_THREADS; i++)
		CHECK(kthread_create(ca_thread, (void *)(uintptr_t)i, -1,
			  KTHR_JOINABLE, &tds[i], "ca%d", i) == 0);
	for (i = 0; i < CA_THREADS; i++)
		kthread_join(tds[i]);
}

static void
test_counter_concurrent_alloc(void)
{
	int i, k, r;

	for (i = 0; i < CA_THREADS; i++)
		for (k = 0; k < CA_PER; k++)
			snprintf(ca_names[i][k], sizeof(ca_names[i][k]),
			    "test.ca.%d.%d", i, k);
	for (r = 0; r < (test_sanitizer() ? 3 : 10); r++) {
		ca_bad = 0;
		test_boot(4, NULL);
		test_run(ca_main, NULL);
		CHECKF(ca_bad == 0, "round %d: %u bad counters", r, ca_bad);
		for (i = 0; i < CA_THREADS; i++)
			for (k = 0; k < CA_PER; k++)
				CHECK(!sysctl_get(ca_names[i][k], NULL));
		test_shutdown();
	}
}

/*
 * Tunables.
 */
static int64_t t_knob, t_mode;
static const char *const t_modes[] = { "fast", "slow", "auto", "off" };
static char t_name[8];

static void
tunables_register(void)
{
	static bool done;

	if (done)
		return;
	done = true;
	CHECK(tunable_int_register(
		  "test.knob", &t_knob, 7, 1, 100, "a test knob") == 0);
	CHECK(tunable_enum_register(
		  "test.mode", &t_mode, 1, t_modes, 4, "a test mode") == 0);
	CHECK(tunable_str_register("test.name", t_name, sizeof(t_name), "abc",
		  "a test string") == 0);
}

/* tunable_set() that must fail with `error' and name `word' and `name'. */
static void
set_bad(const char *name, const char *value, int error, const char *word)
{
	char err[256];
	int rv;

	err[0] = '\0';
	rv = tunable_set(name, value, false, err, sizeof(err));
	CHECKF(rv == error, "tunable_set(%s, \"%s\"): %d, expected %d", name,
	    value, rv, error);
	CHECKF(strstr(err, word) != NULL,
	    "tunable_set(%s, \"%s\"): message \"%s\" lacks \"%s\"", name, value,
	    err, word);
	CHECKF(strstr(err, name) != NULL,
	    "tunable_set(%s, \"%s\"): message \"%s\" lacks the name", name,
	    value, err);
}

static void
test_tunables(void)
{
	struct sysctl_info si;
	char err[256];

	tunables_register();
	CHECK(t_knob == 7 && t_mode == 1);
	/* Registering again is harmless; as another kind it is not. */
	CHECK(tunable_int_register("test.knob", &t_knob, 7, 1, 100, "") == 0);
	CHECK(tunable_enum_register("test.knob", &t_knob, 0, t_modes, 4, "") ==
	    EEXIST);
	CHECK(sysctl_get("test.knob", &si));
	CHECK(si.si_kind == SYSCTL_TUNABLE_INT && si.si_value == 7 &&
	    si.si_default == 7 && si.si_min == 1 && si.si_max == 100);

	/* Good values. */
	CHECK(tunable_set("test.knob", "42", false, err, sizeof(err)) == 0);
	CHECK(t_knob == 42);
	CHECK(tunable_set("test.knob", "0x10", false, err, sizeof(err)) == 0);
	CHECK(t_knob == 16);
	CHECK(tunable_set("test.knob", "100", false, err, sizeof(err)) == 0);
	CHECK(t_knob == 100);
	CHECK(tunable_set("test.knob", "1", false, err, sizeof(err)) == 0);
	CHECK(t_knob == 1);
	CHECK(tunable_set("test.mode", "auto", false, err, sizeof(err)) == 0);
	CHECK(t_mode == 2);
	/* Check-only parses but does not set. */
	CHECK(tunable_set("test.knob", "50", true, err, sizeof(err)) == 0);
	CHECK(t_knob == 1);

	/* Bad values: errors naming the offending word; no change. */
	set_bad("test.knob", "abc", EINVAL, "'abc'");
	set_bad("test.knob", "12q", EINVAL, "'12q'");
	set_bad("test.knob", "", EINVAL, "''");
	set_bad("test.knob", "-5", EINVAL, "'-5'");
	set_bad("test.knob", "0", EINVAL, "'0'");
	set_bad("test.knob", "101", EINVAL, "'101'");
	set_bad("test.knob", "1k", EINVAL, "'1k'");
	set_bad("test.mode", "medium", EINVAL, "'medium'");
	set_bad("test.mode", "FAST", EINVAL, "'FAST'");
	set_bad("test.mode", "", EINVAL, "''");
	set_bad("test.no.such.knob", "1", ENOENT, "unknown");
	CHECK(t_knob == 1 && t_mode == 2);

	/* The name=value form used at boot. */
	CHECK(vmlab_tunable_check("test.knob=5", err, sizeof(err)) == 0);
	CHECK(t_knob == 1);
	CHECK(vmlab_tunable_check("test.knob", err, sizeof(err)) == EINVAL);
	CHECK(strstr(err, "test.knob") != NULL);
	CHECK(vmlab_tunable_check("=5", err, sizeof(err)) == EINVAL);
	CHECK(vmlab_tunable_check("test.knob=500", err, sizeof(err)) == EINVAL);
	CHECK(strstr(err, "500") != NULL);
}

static void
test_tunables_str(void)
{
	struct sysctl_info si;
	char buf[4], err[256];

	tunables_register();
	CHECK(strcmp(t_name, "abc") == 0);
	CHECK(sysctl_get("test.name", &si));
	CHECK(si.si_kind == SYSCTL_TUNABLE_STR && si.si_str == t_name &&
	    si.si_value == 0);
	CHECK(sysctl_get("test.knob", &si) && si.si_str == NULL);
	/* Up to the buffer's size less the NUL; empty is a value too. */
	CHECK(tunable_set("test.name", "hello", false, err, sizeof(err)) == 0);
	CHECK(strcmp(t_name, "hello") == 0);
	CHECK(
	    tunable_set("test.name", "1234567", false, err, sizeof(err)) == 0);
	CHECK(strcmp(t_name, "1234567") == 0);
	CHECK(tunable_set("test.name", "", false, err, sizeof(err)) == 0);
	CHECK(t_name[0] == '\0');
	CHECK(tunable_set("test.name", "xy", true, err, sizeof(err)) == 0);
	CHECK(t_name[0] == '\0');
	set_bad("test.name", "12345678", EINVAL, "too long");
	CHECK(t_name[0] == '\0');
	tunable_reset_all();
	CHECK(strcmp(t_name, "abc") == 0);
	/* A default that does not fit is refused. */
	CHECK(tunable_str_register(
		  "test.bad", buf, sizeof(buf), "toolong", "") == EINVAL);
	CHECK(!sysctl_get("test.bad", NULL));
	/* At boot, and back to the default at the next boot. */
	test_boot(2, (const char *const[]) { "test.name=xyz", NULL });
	CHECK(strcmp(t_name, "xyz") == 0);
	test_shutdown();
	test_boot(2, NULL);
	CHECK(strcmp(t_name, "abc") == 0);
	test_shutdown();
}

static void
test_tunables_at_boot(void)
{
	const char *const good[] = { "test.knob=9", "test.mode=off", NULL };
	const char *bad[] = { "test.knob=3", "test.mode=sideways" };
	struct vmlab_config cfg;
	char err[256];

	tunables_register();
	test_boot(2, good);
	CHECK(t_knob == 9 && t_mode == 3);
	/* Statistics are read-only. */
	CHECK(tunable_set("hw.ncpu", "4", false, err, sizeof(err)) == ENOENT);
	CHECK(strstr(err, "hw.ncpu") != NULL);
	test_shutdown();
	/* Each boot starts from the defaults. */
	test_boot(2, NULL);
	CHECK(t_knob == 7 && t_mode == 1);
	test_shutdown();
	/* A bad assignment fails the boot, naming the word. */
	vmlab_config_default(&cfg);
	cfg.ncpus = 2;
	cfg.tunables = bad;
	cfg.ntunables = 2;
	CHECK(vmlab_boot(&cfg, err, sizeof(err)) == EINVAL);
	CHECK(!vmlab_booted());
	CHECKF(strstr(err, "sideways") != NULL, "boot error \"%s\"", err);
}

/*
 * Run-time changes: only through a set handler, which sees the value
 * first; a tunable without one is boot-only; a refused change records
 * nothing.
 */
static int64_t t_live, t_live_applied = -1, t_live_fail;

static int
t_live_set(int64_t v, void *arg)
{
	CHECK(arg == &t_live_applied);
	if (t_live_fail)
		return (EBUSY);
	t_live_applied = v;
	return (0);
}

static void
t_live_fn(void *arg)
{
	struct sysctl_info si;
	char err[256];

	(void)arg;
	CHECK(sysctl_set("test.live", 42, err, sizeof(err)) == 0);
	CHECK(t_live_applied == 42);
	CHECK(sysctl_get("test.live", &si) && si.si_value == 42);
	/* Out of range: the handler is not called. */
	CHECK(sysctl_set("test.live", 1000, err, sizeof(err)) == EINVAL);
	CHECKF(strstr(err, "out of range") != NULL, "\"%s\"", err);
	CHECK(t_live_applied == 42);
	/* The handler refuses: nothing recorded. */
	t_live_fail = 1;
	CHECK(sysctl_set("test.live", 5, err, sizeof(err)) == EBUSY);
	t_live_fail = 0;
	CHECK(sysctl_get("test.live", &si) && si.si_value == 42);
	/* No handler: boot-only. */
	CHECK(sysctl_set("test.knob", 8, err, sizeof(err)) == EPERM);
	CHECKF(strstr(err, "at boot only") != NULL, "\"%s\"", err);
	CHECK(sysctl_set("hw.ncpu", 8, err, sizeof(err)) == ENOENT);
	CHECK(sysctl_set("no.such", 8, err, sizeof(err)) == ENOENT);
}

static void
test_tunables_runtime(void)
{
	const char *const tun[] = { "test.live=3", NULL };

	tunables_register();
	CHECK(tunable_int_register("test.live", &t_live, 1, 0, 100, "") == 0);
	CHECK(
	    tunable_set_handler("test.live", t_live_set, &t_live_applied) == 0);
	/* One handler per tunable; none for statistics or unknown names. */
	CHECK(tunable_set_handler("test.live", t_live_set, NULL) == EEXIST);
	CHECK(tunable_set_handler("no.such", t_live_set, NULL) == ENOENT);
	test_boot(2, tun);
	CHECK(t_live == 3 && tunable_is_assigned("test.live"));
	CHECK(!tunable_is_assigned("test.knob"));
	test_run(t_live_fn, NULL);
	test_shutdown();
	/* The next boot starts from the default again. */
	test_boot(2, NULL);
	CHECK(t_live == 1 && !tunable_is_assigned("test.live"));
	test_shutdown();
}

/*
 * sysctl_parse_int().
 */
static void
parse_ok(const char *s, int64_t want)
{
	int64_t v = -12345;
	int rv = sysctl_parse_int(s, &v);

	CHECKF(rv == 0 && v == want,
	    "sysctl_parse_int(\"%s\"): rv %d value %lld, expected %lld", s, rv,
	    (long long)v, (long long)want);
}

static void
parse_bad(const char *s)
{
	int64_t v = -12345;
	int rv = sysctl_parse_int(s, &v);

	CHECKF(rv == EINVAL && v == -12345,
	    "sysctl_parse_int(\"%s\"): rv %d value %lld, expected EINVAL", s,
	    rv, (long long)v);
}

static void
test_parse_int(void)
{
	parse_ok("0", 0);
	parse_ok("123", 123);
	parse_ok("4k", 4096);
	parse_ok("4K", 4096);
	parse_ok("4kb", 4096);
	parse_ok("4KiB", 4096);
	parse_ok("2m", 2 << 20);
	parse_ok("2M", 2 << 20);
	parse_ok("1g", 1 << 30);
	parse_ok("3G", 3ll << 30);
	parse_ok("1t", 1ll << 40);
	parse_ok("0x10", 16);
	parse_ok("0X1f", 31);
	parse_ok("0x10k", 16 << 10);
	/* Decimal, not octal: a leading zero changes nothing. */
	parse_ok("010", 10);
	parse_ok("08", 8);
	parse_ok("9223372036854775807", INT64_MAX);
	parse_ok("8589934591g", 8589934591ll << 30);
	parse_bad("");
	parse_bad("-1");
	parse_bad("+1");
	parse_bad(" 1");
	parse_bad("1 ");
	parse_bad("12q");
	parse_bad("k");
	parse_bad("0x");
	parse_bad("1kk");
	parse_bad("1b");
	parse_bad("1.5k");
	parse_bad("9223372036854775808");
	parse_bad("18446744073709551616");
	parse_bad("8589934592g");
	parse_bad("16777216t");
	CHECK(sysctl_parse_int(NULL, &(int64_t) { 0 }) == EINVAL);
}

/*
 * sysctl_foreach().
 */
struct fe_state {
	char fe_prev[128];
	int fe_n;
	int fe_unsorted;
	int fe_found; /* nodes of interest seen */
	int64_t fe_ncpu;
	int fe_stop_at; /* return 7 at this node (0: never) */
};

static int
fe_fn(const struct sysctl_info *si, void *arg)
{
	struct fe_state *fe = arg;

	if (fe->fe_n > 0 && strcmp(fe->fe_prev, si->si_name) >= 0)
		fe->fe_unsorted++;
	snprintf(fe->fe_prev, sizeof(fe->fe_prev), "%s", si->si_name);
	fe->fe_n++;
	if (strcmp(si->si_name, "test.knob") == 0 ||
	    strcmp(si->si_name, "test.mode") == 0 ||
	    strcmp(si->si_name, "kern.sched.wakeups") == 0)
		fe->fe_found++;
	if (strcmp(si->si_name, "hw.ncpu") == 0) {
		fe->fe_found++;
		fe->fe_ncpu = si->si_value;
	}
	return (fe->fe_n == fe->fe_stop_at ? 7 : 0);
}

static void
test_sysctl_foreach(void)
{
	struct fe_state fe;

	tunables_register();
	test_boot(4, NULL);
	memset(&fe, 0, sizeof(fe));
	CHECK(sysctl_foreach(fe_fn, &fe) == 0);
	CHECKF(fe.fe_unsorted == 0, "%d nodes out of order", fe.fe_unsorted);
	CHECKF(fe.fe_found == 4, "found %d of 4 known nodes", fe.fe_found);
	CHECK(fe.fe_ncpu == 4);
	CHECK(fe.fe_n >= 4);
	/* A non-zero return stops the walk and is returned. */
	memset(&fe, 0, sizeof(fe));
	fe.fe_stop_at = 3;
	CHECK(sysctl_foreach(fe_fn, &fe) == 7);
	CHECK(fe.fe_n == 3);
	test_shutdown();
}

static const struct test_case cases[] = {
	TEST_CASE(test_counter_sum),
	TEST_CASE(test_counter_zero),
	TEST_CASE(test_counter_stat),
	TEST_CASE(test_counter_concurrent_alloc),
	TEST_CASE(test_tunables),
	TEST_CASE(test_tunables_str),
	TEST_CASE(test_tunables_at_boot),
	TEST_CASE(test_tunables_runtime),
	TEST_CASE(test_parse_int),
	TEST_CASE(test_sysctl_foreach),
};

int
main(int argc, char **argv)
{
	return (test_main(argc, argv, cases, TEST_NCASES(cases)));
}
