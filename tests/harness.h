/*
 * harness.h: the in-tree test harness.
 *
 * A test executable lists its cases and calls test_main():
 *
 *	static void test_foo(void) { CHECK(1 + 1 == 2); }
 *	static const struct test_case cases[] = { TEST_CASE(test_foo) };
 *	int main(int argc, char **argv) {
 *		return (test_main(argc, argv, cases, TEST_NCASES(cases)));
 *	}
 *
 * CHECK() records a failure (with file, line and the expression) and
 * carries on; CHECKF() adds a formatted message.  Checks may run in
 * kernel threads and on any CPU.  Every run prints its seed (from
 * VMLAB_SEED, or the clock) and ends with the line "N passed, N failed".
 * `test -k NAME' runs the cases whose name contains NAME.
 */
#ifndef VMLAB_TEST_HARNESS_H
#define VMLAB_TEST_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

struct test_case {
	const char *tc_name;
	void (*tc_fn)(void);
};

#define TEST_CASE(fn)                                                          \
	{                                                                      \
#fn, fn                                                        \
	}
#define TEST_NCASES(a) ((int)(sizeof(a) / sizeof((a)[0])))

int test_main(int argc, char **argv, const struct test_case *cases, int n);
void test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The run's seed, and a scale factor: 1, or smaller under sanitizers. */
uint64_t test_seed(void);
bool test_sanitizer(void);
/*
 * Boots a machine of `ncpus' CPUs (tunables: NULL-terminated list).  With
 * VMLAB_TEST_BACKEND=sim in the environment the machine is simulated, and
 * VMLAB_TEST_CPUS=N raises its CPU count to N.
 */
bool test_sim(void);
/* test_boot() with a domain count and memory size (0: the defaults). */
void test_boot_mem(
    int ncpus, int ndomains, uint64_t physmem, const char *const *tunables);
const char *test_progname(void);
/* Checks failed so far in the current case. */
uint64_t test_failures(void);
void test_boot(int ncpus, const char *const *tunables);
/* VMLAB_TEST_TUNABLES's words, then `own' (harness.c). */
int test_env_tunables(const char *const *own, const char **out, int max);
void test_shutdown(void);
/* Runs fn(arg) in a kernel thread of the booted machine. */
void test_run(void (*fn)(void *), void *arg);
uint64_t test_rand(uint64_t *state);

#define CHECK(e)                                                               \
	do {                                                                   \
		if (!(e))                                                      \
			test_fail(__FILE__, __LINE__, "%s", #e);               \
	} while (0)
#define CHECKF(e, ...)                                                         \
	do {                                                                   \
		if (!(e))                                                      \
			test_fail(__FILE__, __LINE__, __VA_ARGS__);            \
	} while (0)

#endif /* !VMLAB_TEST_HARNESS_H */
