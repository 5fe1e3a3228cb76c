/*
 * explore.c: schedule exploration on the simulated machine (explore.h).
 */
#define _POSIX_C_SOURCE 200809L /* fileno, ftruncate */
#include "explore.h"

#include "harness.h"
#include "vmlab/vmlab.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int
explore_nseeds(int def)
{
	const char *s = getenv("VMLAB_EXPLORE_SEEDS");

	if (s != NULL && atoi(s) > 0)
		return (atoi(s));
	/* A lighter pass (e.g. under other tunables): a fraction of each. */
	s = getenv("VMLAB_EXPLORE_DIV");
	if (s != NULL && atoi(s) > 1)
		def = def / atoi(s) > 0 ? def / atoi(s) : 1;
		/* Sanitizers slow every run down 5x (ASan) to 20x (TSan fibers). */
#ifdef VMLAB_TSAN
	return (def >= 20 ? def / 20 : 1);
#else
	return (test_sanitizer() ? (def + 4) / 5 : def);
#endif
}

struct explore_child {
	void (*ec_body)(void *);
	void (*ec_check)(void *);
	void *ec_arg;
};

static void
explore_thread(void *arg)
{
	struct explore_child *ec = arg;

	ec->ec_body(ec->ec_arg);
	if (ec->ec_check != NULL)
		ec->ec_check(ec->ec_arg);
}

/* Runs one seed in this (child) process; returns the exit status. */
static int
explore_one(const struct explore_opts *o, uint64_t seed,
    struct explore_child *ec, int hashfd)
{
	struct vmlab_config cfg;
	char sched[32], jitter[48], depth[48], steps[48], err[256];
	const char *tun[64];
	uint64_t h, f0 = test_failures();
	int ntun = 4;

	snprintf(sched, sizeof(sched), "sim.sched=%s",
	    o->eo_mode == EXPLORE_PCT ? "pct" : "time");
	snprintf(jitter, sizeof(jitter), "sim.jitter=%d", o->eo_jitter);
	snprintf(depth, sizeof(depth), "sim.pct.depth=%d", o->eo_pct_depth);
	snprintf(steps, sizeof(steps), "sim.pct.steps=%d",
	    o->eo_pct_steps > 0 ? o->eo_pct_steps : 20000);
	tun[0] = sched;
	tun[1] = jitter;
	tun[2] = depth;
	tun[3] = steps;
	ntun += test_env_tunables(o->eo_tunables, tun + 4, 60);
	vmlab_config_default(&cfg);
	cfg.backend = VMLAB_BACKEND_SIM;
	cfg.ncpus = o->eo_ncpus;
	cfg.seed = seed;
	if (o->eo_physmem != 0)
		cfg.physmem = o->eo_physmem;
	cfg.tunables = tun;
	cfg.ntunables = ntun;
	if (vmlab_boot(&cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "explore: %s\n", err);
		return (2);
	}
	if (vmlab_run(explore_thread, ec) != 0)
		return (2);
	h = vmlab_sim_trace_hash();
	if (vmlab_shutdown() != 0)
		return (3);
	if (write(hashfd, &h, sizeof(h)) != (ssize_t)sizeof(h))
		return (2);
	/* Failures the parent had before the fork are not ours. */
	return (test_failures() == f0 ? 0 : 1);
}

/*
 * Runs one seed in a forked child; returns false if the fork failed.
 * *statusp: the child's wait status; *hp: its trace hash (0 if none).
 * With `errf', the child's stderr goes there.
 */
static bool
explore_fork(const struct explore_opts *o, uint64_t seed, bool quiet,
    struct explore_child *ec, FILE *errf, int *statusp, uint64_t *hp)
{
	int fds[2], devnull;
	pid_t pid;

	if (pipe(fds) != 0)
		return (false);
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		if (quiet) {
			devnull = open("/dev/null", O_WRONLY);
			dup2(devnull, 2);
			dup2(devnull, 1);
		}
		if (errf != NULL)
			dup2(fileno(errf), 2);
		_exit(explore_one(o, seed, ec, fds[1]));
	}
	close(fds[1]);
	*hp = 0;
	if (read(fds[0], hp, sizeof(*hp)) != (ssize_t)sizeof(*hp))
		*hp = 0;
	close(fds[0]);
	return (pid > 0 && waitpid(pid, statusp, 0) == pid);
}

/*
 * Empties `errf' for the next child, first copying what this one wrote
 * into o->eo_errbuf if `keep'.
 */
static void
explore_capture(const struct explore_opts *o, FILE *errf, bool keep)
{
	size_t n;

	rewind(errf);
	if (keep) {
		n = fread(o->eo_errbuf, 1, o->eo_errlen - 1, errf);
		o->eo_errbuf[n] = '\0';
		rewind(errf);
	}
	if (ftruncate(fileno(errf), 0) != 0)
		test_fail(__FILE__, __LINE__, "explore: cannot reuse stderr");
}

static void
explore_report(const struct explore_opts *o, uint64_t seed, int status)
{
	bool stall =
	    WIFEXITED(status) && WEXITSTATUS(status) == VMLAB_EXIT_STALL;

	fprintf(stderr,
	    "  explore: %s %s with seed %llu (%s %d%s); "
	    "reproduce: VMLAB_EXPLORE_SEED=%llu %s -k %s\n",
	    o->eo_name, stall ? "stalled" : "failed", (unsigned long long)seed,
	    WIFSIGNALED(status) ? "signal" : "status",
	    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status),
	    stall ? ": no thread could run, see the report above" : "",
	    (unsigned long long)seed, test_progname(), o->eo_name);
}

void
explore(const struct explore_opts *o, void (*body)(void *),
    void (*check)(void *), void *arg, struct explore_result *res)
{
	struct explore_child ec = { body, check, arg };
	const char *only = o->eo_fixed ? NULL : getenv("VMLAB_EXPLORE_SEED");
	uint64_t seed, base = test_seed(), h;
	FILE *errf = NULL;
	int i, n, status;
	bool ok;

	memset(res, 0, sizeof(*res));
	n = only != NULL
	    ? 1
	    : (o->eo_fixed ? o->eo_seeds : explore_nseeds(o->eo_seeds));
	if (o->eo_fixed)
		base = o->eo_seed_base;
	if (o->eo_errbuf != NULL && (errf = tmpfile()) == NULL) {
		test_fail(__FILE__, __LINE__, "explore: no temporary file");
		return;
	}
	fflush(NULL);
	for (i = 0; i < n; i++) {
		seed =
		    only != NULL ? strtoull(only, NULL, 0) : base + (uint64_t)i;
		ok = explore_fork(o, seed, o->eo_quiet && only == NULL, &ec,
		    errf, &status, &h);
		if (!ok) {
			test_fail(__FILE__, __LINE__, "explore: fork failed");
			break;
		}
		res->er_runs++;
		res->er_hash = h;
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			if (errf != NULL)
				explore_capture(o, errf, res->er_failed == 0);
			continue;
		}
		if (WIFEXITED(status) &&
		    WEXITSTATUS(status) == VMLAB_EXIT_STALL)
			res->er_stalled++;
		if (res->er_failed++ == 0) {
			res->er_first_failed = seed;
			res->er_first_status = WIFSIGNALED(status)
			    ? -WTERMSIG(status)
			    : WEXITSTATUS(status);
		}
		if (errf != NULL)
			explore_capture(o, errf, res->er_failed == 1);
		if (!o->eo_quiet)
			explore_report(o, seed, status);
		if (o->eo_stop_first)
			break;
	}
	if (errf != NULL)
		fclose(errf);
}
