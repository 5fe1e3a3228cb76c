/*
 * harness.c: the in-tree test harness (see harness.h).
 */
#include "harness.h"

#include "vmlab/vmlab.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t harness_failures; /* failures in the current case */
static uint64_t harness_seed;
static const char *harness_prog = "test";

void
test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	__atomic_fetch_add(&harness_failures, 1, __ATOMIC_RELAXED);
	fprintf(stderr, "  check failed at %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (seed %llu)\n", (unsigned long long)harness_seed);
}

const char *
test_progname(void)
{
	return (harness_prog);
}

uint64_t
test_failures(void)
{
	return (__atomic_load_n(&harness_failures, __ATOMIC_RELAXED));
}

uint64_t
test_seed(void)
{
	return (harness_seed);
}

bool
test_sanitizer(void)
{
	const char *s = getenv("VMLAB_TEST_SCALE");

	return (s != NULL && strcmp(s, "sanitizer") == 0);
}

uint64_t
test_rand(uint64_t *state)
{
	/* splitmix64 */
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return (z ^ (z >> 31));
}

bool
test_sim(void)
{
	const char *s = getenv("VMLAB_TEST_BACKEND");

	return (s != NULL && strcmp(s, "sim") == 0);
}

/*
 * The tunables a test boots with: VMLAB_TEST_TUNABLES from the environment
 * (space-separated name=value words, e.g. the pmap's pv lock policy for a
 * whole-suite run under each), then the test's own, which win on a
 * repeated name.  Returns the count; out[] points into a static copy.
 */
int
test_env_tunables(const char *const *own, const char **out, int max)
{
	static char env[1024];
	const char *s = getenv("VMLAB_TEST_TUNABLES");
	char *w;
	int n = 0, i;

	if (s != NULL && strlen(s) < sizeof(env)) {
		strcpy(env, s);
		for (w = env; *w != '\0' && n < max;) {
			if (*w == ' ') {
				*w++ = '\0';
				continue;
			}
			out[n++] = w;
			while (*w != '\0' && *w != ' ')
				w++;
		}
	}
	for (i = 0; own != NULL && own[i] != NULL && n < max; i++)
		out[n++] = own[i];
	return (n);
}

void
test_boot_mem(
    int ncpus, int ndomains, uint64_t physmem, const char *const *tunables)
{
	static const char *tun[64];
	struct vmlab_config cfg;
	const char *s;
	char err[256];
	int n = 0;

	vmlab_config_default(&cfg);
	cfg.ncpus = ncpus;
	if (ndomains > 0)
		cfg.ndomains = ndomains;
	if (physmem > 0)
		cfg.physmem = physmem;
	if (test_sim()) {
		cfg.backend = VMLAB_BACKEND_SIM;
		s = getenv("VMLAB_TEST_CPUS");
		if (s != NULL && atoi(s) > ncpus)
			cfg.ncpus = atoi(s);
	}
	cfg.seed = harness_seed;
	n = test_env_tunables(tunables, tun, 64);
	cfg.tunables = tun;
	cfg.ntunables = n;
	if (vmlab_boot(&cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "test_boot: %s\n", err);
		exit(1);
	}
}

void
test_boot(int ncpus, const char *const *tunables)
{
	test_boot_mem(ncpus, 0, 0, tunables);
}

void
test_shutdown(void)
{
	int error = vmlab_shutdown();

	CHECKF(error == 0, "vmlab_shutdown: error %d", error);
}

void
test_run(void (*fn)(void *), void *arg)
{
	int error = vmlab_run(fn, arg);

	CHECKF(error == 0, "vmlab_run: error %d", error);
}

int
test_main(int argc, char **argv, const struct test_case *cases, int n)
{
	const char *filter = NULL, *s;
	int i, passed = 0, failed = 0;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-k") == 0 && i + 1 < argc)
			filter = argv[++i];
		else {
			fprintf(stderr, "usage: %s [-k NAME]\n", argv[0]);
			return (2);
		}
	}
	harness_prog = argv[0];
	/* Sim runs repeat only with fixed addresses: maybe re-execute. */
	if (test_sim())
		vmlab_sim_exec_norandom(argv);
	s = getenv("VMLAB_SEED");
	harness_seed = s != NULL ? strtoull(s, NULL, 0)
				 : (uint64_t)time(NULL) * 2654435761u;
	printf("%s: seed %llu (rerun with VMLAB_SEED=%llu)%s\n", argv[0],
	    (unsigned long long)harness_seed, (unsigned long long)harness_seed,
	    test_sim() ? ", simulated machine" : "");
	for (i = 0; i < n; i++) {
		if (filter != NULL && strstr(cases[i].tc_name, filter) == NULL)
			continue;
		harness_failures = 0;
		cases[i].tc_fn();
		if (__atomic_load_n(&harness_failures, __ATOMIC_RELAXED) == 0) {
			printf("ok   %s\n", cases[i].tc_name);
			passed++;
		} else {
			printf("FAIL %s\n", cases[i].tc_name);
			failed++;
		}
		fflush(stdout);
	}
	printf("%d passed, %d failed\n", passed, failed);
	return (failed == 0 ? 0 : 1);
}
