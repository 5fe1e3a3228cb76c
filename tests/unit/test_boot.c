/*
 * test_boot.c: boot, run, shutdown; kernel threads and joins; bad boot
 * input refused with an errno and a one-line message, after which the
 * same process boots and runs a machine.
 *
 *	- configurations: CPU, domain and tunable counts, backend, physical
 *	  memory of 0, 4095 bytes, 64 KiB for 8 domains and more than the
 *	  host's RAM;
 *	- swap devices: device nodes, a directory, a missing directory, an
 *	  existing file that is not a swap device (refused and left as it
 *	  was, unless vm.swap.force=1), an empty file and a labelled one
 *	  (accepted), a path of 1,000 characters (quoted in at most 80);
 *	- unwinding: a failure injected after each boot step (tunable
 *	  kern.boot.fail_after) undoes that step and all before it.  Debug
 *	  builds check that every lock was destroyed and every kernel stack
 *	  returned, and the next boot runs.
 */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */

#include "harness.h"
#include "kern/thread.h"
#include "vmlab/vmlab.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int boot_ran;

static void
boot_fn(void *arg)
{
	CHECK(arg == &boot_ran);
	CHECK(curthread != NULL);
	CHECK(curcpu >= 0 && curcpu < md_ncpus());
	boot_ran = 1;
}

static void
test_boot_run_shutdown(void)
{
	int i;

	for (i = 0; i < 3; i++) {
		boot_ran = 0;
		test_boot(2, NULL);
		test_run(boot_fn, &boot_ran);
		CHECK(boot_ran == 1);
		test_shutdown();
	}
}

static uint64_t join_sum;

static void
join_child(void *arg)
{
	__atomic_fetch_add(
	    &join_sum, (uint64_t)(uintptr_t)arg, __ATOMIC_RELAXED);
}

static void
join_parent(void *arg)
{
	struct thread *tds[64];
	int i, n = 64;

	(void)arg;
	for (i = 0; i < n; i++)
		CHECK(kthread_create(join_child, (void *)(uintptr_t)(i + 1), -1,
			  KTHR_JOINABLE, &tds[i], "child%d", i) == 0);
	for (i = 0; i < n; i++)
		kthread_join(tds[i]);
	CHECK(join_sum == (uint64_t)n * (n + 1) / 2);
}

static void
test_kthread_join(void)
{
	test_boot(2, NULL);
	join_sum = 0;
	test_run(join_parent, NULL);
	test_shutdown();
}

static void
test_bad_config(void)
{
	struct vmlab_config cfg;
	const char *bad[] = { "no.such.knob=1" };
	char err[256];

	vmlab_config_default(&cfg);
	cfg.ncpus = 2000;
	CHECK(vmlab_boot(&cfg, err, sizeof(err)) != 0);
	CHECK(!vmlab_booted());
	vmlab_config_default(&cfg);
	cfg.ncpus = 2;
	cfg.tunables = bad;
	cfg.ntunables = 1;
	CHECK(vmlab_boot(&cfg, err, sizeof(err)) != 0);
	CHECK(!vmlab_booted());
}

/* A configuration of `ncpus' CPUs on the test's backend. */
static void
bad_config(struct vmlab_config *cfg, int ncpus)
{
	vmlab_config_default(cfg);
	cfg->ncpus = ncpus;
	cfg->physmem = 16ull << 20;
	if (test_sim())
		cfg->backend = VMLAB_BACKEND_SIM;
}

/* Boots, runs a kernel thread and shuts down: the process is sound. */
static void
boot_good(void)
{
	boot_ran = 0;
	test_boot(2, NULL);
	test_run(boot_fn, &boot_ran);
	CHECK(boot_ran == 1);
	test_shutdown();
}

/*
 * Boots `cfg', which must fail with `want' and a one-line message of at
 * most `maxlen' characters containing `word'; then boots a good machine.
 */
static void
boot_refused(
    const struct vmlab_config *cfg, int want, const char *word, size_t maxlen)
{
	char err[256];
	int rv;

	memset(err, 0, sizeof(err));
	rv = vmlab_boot(cfg, err, sizeof(err));
	CHECKF(rv == want, "boot: %d, expected %d (%s)", rv, want, err);
	CHECK(!vmlab_booted());
	if (rv == 0)
		test_shutdown();
	CHECKF(err[0] != '\0' && strchr(err, '\n') == NULL &&
		strlen(err) <= maxlen && strstr(err, word) != NULL,
	    "message \"%s\": want one line of at most %zu characters with "
	    "\"%s\"",
	    err, maxlen, word);
	boot_good();
}

static void
test_bad_machine(void)
{
	const char *neg[] = { "vm.swap.size=4m" };
	struct vmlab_config cfg;

	bad_config(&cfg, -1);
	boot_refused(&cfg, EINVAL, "cpus: -1", 255);
	bad_config(&cfg, 2);
	cfg.ndomains = 0;
	boot_refused(&cfg, EINVAL, "domains: 0", 255);
	bad_config(&cfg, 2);
	cfg.ndomains = 3;
	boot_refused(&cfg, EINVAL, "domains: 3", 255);
	bad_config(&cfg, 2);
	cfg.backend = 7;
	boot_refused(&cfg, EINVAL, "backend: 7", 255);
	bad_config(&cfg, 2);
	cfg.tunables = neg;
	cfg.ntunables = -1;
	boot_refused(&cfg, EINVAL, "tunables: -1", 255);
	bad_config(&cfg, 2);
	cfg.physmem = 0;
	boot_refused(&cfg, EINVAL, "physmem: 0 bytes is too small", 255);
	bad_config(&cfg, 2);
	cfg.physmem = 4095;
	boot_refused(&cfg, EINVAL, "physmem: 3.9 KiB is too small", 255);
	bad_config(&cfg, 8);
	cfg.ndomains = 8;
	cfg.physmem = 64 << 10;
	boot_refused(&cfg, EINVAL, "for 8 domains", 255);
	/* Refused before anything is reserved: no time spent. */
	CHECK(vmlab_host_physmem() > 0);
	bad_config(&cfg, 2);
	cfg.physmem = vmlab_host_physmem() + 4096;
	boot_refused(&cfg, ENOMEM, "more than the host's RAM", 255);
}

/* Boots with vm.swap.path=path (and `more'); expects `want' and `word'. */
static void
swap_refused(const char *path, const char *more, int want, const char *word)
{
	static char assign[2048];
	const char *tun[] = { assign, "vm.swap.size=1m", more };
	struct vmlab_config cfg;

	snprintf(assign, sizeof(assign), "vm.swap.path=%s", path);
	bad_config(&cfg, 2);
	cfg.tunables = tun;
	cfg.ntunables = more != NULL ? 3 : 2;
	boot_refused(&cfg, want, word, 200);
}

/* Boots with vm.swap.path=path (and `more') and runs. */
static void
swap_accepted(const char *path, const char *more)
{
	static char assign[600];
	const char *tun[] = { assign, "vm.swap.size=1m", more, NULL };

	snprintf(assign, sizeof(assign), "vm.swap.path=%s", path);
	boot_ran = 0;
	test_boot(2, tun);
	test_run(boot_fn, &boot_ran);
	CHECK(boot_ran == 1);
	test_shutdown();
}

static bool
file_holds(const char *path, const char *text)
{
	char buf[64];
	FILE *f = fopen(path, "rb");
	size_t n;

	if (f == NULL)
		return (false);
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	return (n == strlen(text) && memcmp(buf, text, n) == 0);
}

static void
test_bad_swap_path(void)
{
	static const char foreign[] = "precious data, not a swap device\n";
	char dir[256], path[512], longpath[1100];
	const char *tmp = getenv("TMPDIR");
	struct stat st;
	FILE *f;

	swap_refused("/dev/full", NULL, EINVAL, "/dev/full is not a regular");
	swap_refused("/dev/null", NULL, EINVAL, "/dev/null is not a regular");
	swap_refused("/dev/zero", NULL, EINVAL, "/dev/zero is not a regular");
	swap_refused("/", NULL, EINVAL, "/ is not a regular file");
	swap_refused(
	    "/nonexistent-vmlab-dir/swap", NULL, ENOENT, "cannot open");
	/* A path of 1,000 characters naming /dev/null: quoted, cut. */
	memset(longpath, '/', 1000);
	strcpy(longpath + 1000, "dev/null");
	swap_refused(longpath, NULL, EINVAL, "...");
	snprintf(dir, sizeof(dir), "%s/vmlab-boot-XXXXXX",
	    tmp != NULL ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		CHECKF(0, "mkdtemp %s", dir);
		return;
	}
	/* Someone's file: refused and untouched, unless forced. */
	snprintf(path, sizeof(path), "%s/file", dir);
	f = fopen(path, "wb");
	CHECK(f != NULL && fputs(foreign, f) >= 0 && fclose(f) == 0);
	swap_refused(path, NULL, EEXIST, "is not a vmlab swap device");
	CHECK(file_holds(path, foreign));
	swap_refused(path, "vm.swap.force=0", EEXIST, "vm.swap.force=1");
	CHECK(file_holds(path, foreign));
	swap_accepted(path, "vm.swap.force=1");
	CHECK(!file_holds(path, foreign));
	/* Now it is a swap device: accepted without force. */
	swap_accepted(path, NULL);
	CHECK(stat(path, &st) == 0 && st.st_size > (1 << 20));
	CHECK(remove(path) == 0);
	/* An empty file is as good as a new one. */
	f = fopen(path, "wb");
	CHECK(f != NULL && fclose(f) == 0);
	swap_accepted(path, NULL);
	CHECK(remove(path) == 0);
	CHECK(rmdir(dir) == 0);
}

/*
 * Every boot step, in order: the front door's (md, kern, vm), with
 * kern_boot.c's inside "kern" and vm_boot.c's inside "vm".
 */
static const char *const boot_steps[] = { "md", "lock_prof", "sched", "counter",
	"kern_stats", "sleepq", "epoch", "kern", "vm_page", "vm_reserv",
	"vm_pgcache", "vm_swap", "vm_pagequeue", "vm_object", "vm_fault",
	"vm_pageout", "vm_pageout_daemons", "vm" };

static void
test_boot_unwind(void)
{
	static char assign[64];
	const char *tun[] = { assign };
	struct vmlab_config cfg;
	size_t i;

	for (i = 0; i < sizeof(boot_steps) / sizeof(boot_steps[0]); i++) {
		snprintf(assign, sizeof(assign), "kern.boot.fail_after=%s",
		    boot_steps[i]);
		bad_config(&cfg, 2);
		cfg.tunables = tun;
		cfg.ntunables = 1;
		boot_refused(&cfg, EIO, boot_steps[i], 255);
	}
}

static const struct test_case cases[] = {
	TEST_CASE(test_boot_run_shutdown),
	TEST_CASE(test_kthread_join),
	TEST_CASE(test_bad_config),
	TEST_CASE(test_bad_machine),
	TEST_CASE(test_bad_swap_path),
	TEST_CASE(test_boot_unwind),
};

int
main(int argc, char **argv)
{
	return (test_main(argc, argv, cases, TEST_NCASES(cases)));
}
