/*
 * main.c: the vmlab command line.
 *
 *	vmlab run SCENARIO [options]	run a scenario
 *	vmlab list			scenarios and their options
 *	vmlab sysctl [NAME...]		tunables and statistics
 *	vmlab --help | --version
 *
 * Global options may appear anywhere: --cpus N[,N...], --mem SIZE,
 * --domains N, --seed N, --backend host|sim, --pin, -o name=value, --json,
 * --zones.
 * Any bad word gets a one-line message naming it (at most WORDMAX of its
 * characters) and exit status 2, as does a machine that cannot boot.
 */
/* isatty() for the progress line. */
#define _POSIX_C_SOURCE 200809L
#include "vmlab/vmlab.h"
#include "vmlab_cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_TUNABLES 64
#define MAX_CPULIST 32
#define WORDMAX 80 /* characters of a word quoted in a message */
#define WORDRING 4 /* words quoted in one message */

static const struct scenario *const scenarios[] = {
	&scen_micro,
	&scen_lockstorm,
	&scen_scaling,
	&scen_superpage,
	&scen_pressure,
	&scen_fault,
	&scen_pipechain,
	&scen_build,
};
#define NSCENARIOS ((int)(sizeof(scenarios) / sizeof(scenarios[0])))

struct cli {
	const char *cmd;
	const char *scen_name;
	const char *words[64]; /* sysctl names */
	int nwords;
	int cpus[MAX_CPULIST];
	int ncpus;
	int domains;
	uint64_t mem;
	uint64_t seed;
	int backend;
	bool pin;
	bool json;
	const char *plot; /* --plot: a PNG the scenario draws */
	bool zones;
	const char *tunables[MAX_TUNABLES];
	int ntunables;
	const char *scen_args[SCEN_MAXOPTS]; /* raw --opt values */
};

static void check_knob(const struct scenario *sc, const char *assignment);

/*
 * A word to quote in a message: itself, or its first WORDMAX - 3
 * characters and "...".  The result stays valid for WORDRING calls.
 */
static const char *
word(const char *s)
{
	static char ring[WORDRING][WORDMAX + 1];
	static int next;
	char *buf = ring[next++ % WORDRING];

	if (strlen(s) <= WORDMAX)
		return (s);
	snprintf(buf, WORDMAX + 1, "%.*s...", WORDMAX - 3, s);
	return (buf);
}

static void __attribute__((noreturn, format(printf, 1, 2)))
usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vmlab: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'vmlab --help')\n");
	exit(2);
}

#define USAGE "usage: vmlab [options] COMMAND [args]"

static void
print_help(void)
{
	printf(USAGE
	    "\n"
	    "\n"
	    "commands:\n"
	    "  run SCENARIO [options]  run a scenario (see 'vmlab list')\n"
	    "  list                    list scenarios and their options\n"
	    "  sysctl [NAME...]        print tunables and statistics\n"
	    "\n"
	    "options:\n"
	    "  --cpus N[,N...]     CPUs (default: host CPUs online); a list\n"
	    "                      runs once per count and prints a scaling "
	    "table\n"
	    "  --mem SIZE          physical memory, e.g. 256m, 1g (default "
	    "256m)\n"
	    "  --domains N         memory domains, 1..8 (default 1)\n"
	    "  --seed N            seed of the schedule (sim) and of the\n"
	    "                      scenario's workload (default 1)\n"
	    "  --backend host|sim  machine backend (default host)\n"
	    "  --pin               pin CPU threads to host CPUs\n"
	    "  -o NAME=VALUE       set a tunable (see 'vmlab sysctl')\n"
	    "  --json              print one JSON object per run on stdout\n"
	    "  --plot FILE.png     draw the scenario's plot with gnuplot\n"
	    "                      (a text plot is printed without it)\n"
	    "  --zones             print the zone table (vmstat -z) after "
	    "a run\n"
	    "  --help, --version\n");
}

static const struct scenario *
find_scenario(const char *name)
{
	int i;

	for (i = 0; i < NSCENARIOS; i++)
		if (strcmp(scenarios[i]->sc_name, name) == 0)
			return (scenarios[i]);
	return (NULL);
}

static int64_t
parse_int_word(const char *opt, const char *s, int64_t min, int64_t max)
{
	uint64_t v;

	if (vmlab_parse_size(s, &v) != 0)
		usage_error("%s: malformed value '%s'", opt, word(s));
	if ((int64_t)v < min || (int64_t)v > max)
		usage_error("%s: %s is out of range (%lld to %lld)", opt,
		    word(s), (long long)min, (long long)max);
	return ((int64_t)v);
}

/* The index of word p among so's words, or a usage error naming them. */
static int64_t
parse_word(const char *opt, const char *p, const struct scen_opt *so)
{
	char choices[256];
	int w;

	for (w = 0; so->so_words[w] != NULL; w++)
		if (strcmp(p, so->so_words[w]) == 0)
			return (w);
	choices[0] = '\0';
	for (w = 0; so->so_words[w] != NULL; w++)
		snprintf(choices + strlen(choices),
		    sizeof(choices) - strlen(choices), "%s%s",
		    w == 0 ? "" : "|", so->so_words[w]);
	usage_error("%s: unknown value '%s' (%s)", opt, word(p), choices);
}

/*
 * Parses "a,b,c" into vals; returns the count.  Each item is a number in
 * [min, max], or, when `so' is not NULL, one of so's words (its index).
 */
static int
parse_list(const char *opt, const char *s, int64_t min, int64_t max,
    const struct scen_opt *so, int64_t *vals, int maxn, bool list_ok)
{
	char buf[512], *p, *comma;
	int n = 0;

	if (strlen(s) >= sizeof(buf))
		usage_error("%s: value too long", opt);
	if (!list_ok && strchr(s, ',') != NULL)
		usage_error(
		    "%s: takes one value, not a list: '%s'", opt, word(s));
	strcpy(buf, s);
	if (buf[0] == '\0' || buf[strlen(buf) - 1] == ',')
		usage_error("%s: malformed list '%s'", opt, word(s));
	for (p = buf; p != NULL; p = comma == NULL ? NULL : comma + 1) {
		comma = strchr(p, ',');
		if (comma != NULL)
			*comma = '\0';
		if (n == maxn)
			usage_error("%s: more than %d values", opt, maxn);
		vals[n++] = so != NULL ? parse_word(opt, p, so)
				       : parse_int_word(opt, p, min, max);
	}
	return (n);
}

static const char *
need_arg(int argc, char **argv, int *i)
{
	if (*i + 1 >= argc)
		usage_error("%s: missing value", word(argv[*i]));
	return (argv[++*i]);
}

static void
parse_global(
    struct cli *cli, int argc, char **argv, int *i, const struct scenario *sc)
{
	const char *a = argv[*i], *v;
	uint64_t ram;
	char err[256];
	int64_t vals[MAX_CPULIST];
	int k, n;

	if (strcmp(a, "--cpus") == 0) {
		n = parse_list(a, need_arg(argc, argv, i), 1, 1024, NULL, vals,
		    MAX_CPULIST, true);
		for (k = 0; k < n; k++)
			cli->cpus[k] = (int)vals[k];
		cli->ncpus = n;
	} else if (strcmp(a, "--mem") == 0) {
		v = need_arg(argc, argv, i);
		cli->mem =
		    (uint64_t)parse_int_word(a, v, 16ll << 20, INT64_MAX);
		ram = vmlab_host_physmem();
		if (ram != 0 && cli->mem > ram)
			usage_error("--mem: %s is more than the host's RAM "
				    "(%llu MiB)",
			    word(v), (unsigned long long)(ram >> 20));
	} else if (strcmp(a, "--domains") == 0) {
		cli->domains =
		    (int)parse_int_word(a, need_arg(argc, argv, i), 1, 8);
	} else if (strcmp(a, "--seed") == 0) {
		cli->seed = (uint64_t)parse_int_word(
		    a, need_arg(argc, argv, i), 0, INT64_MAX);
	} else if (strcmp(a, "--backend") == 0) {
		v = need_arg(argc, argv, i);
		if (strcmp(v, "host") == 0)
			cli->backend = VMLAB_BACKEND_HOST;
		else if (strcmp(v, "sim") == 0)
			cli->backend = VMLAB_BACKEND_SIM;
		else
			usage_error("--backend: unknown backend '%s'", word(v));
	} else if (strcmp(a, "--pin") == 0) {
		cli->pin = true;
	} else if (strcmp(a, "--json") == 0) {
		cli->json = true;
	} else if (strcmp(a, "--plot") == 0) {
		v = need_arg(argc, argv, i);
		if (v[0] == '\0' || v[0] == '-')
			usage_error("--plot: %s is not a file name", word(v));
		cli->plot = v;
	} else if (strcmp(a, "--zones") == 0) {
		cli->zones = true;
	} else if (strcmp(a, "-o") == 0 || strncmp(a, "-o", 2) == 0) {
		v = a[2] != '\0' ? a + 2 : need_arg(argc, argv, i);
		if (vmlab_tunable_check(v, err, sizeof(err)) != 0)
			usage_error("-o %s", err);
		check_knob(sc, v);
		if (cli->ntunables == MAX_TUNABLES)
			usage_error("-o: more than %d tunables", MAX_TUNABLES);
		cli->tunables[cli->ntunables++] = v;
	} else if (sc != NULL && strncmp(a, "--", 2) == 0) {
		for (k = 0; k < sc->sc_nopts; k++)
			if (strcmp(a + 2, sc->sc_opts[k].so_name) == 0)
				break;
		if (k == sc->sc_nopts)
			usage_error("%s: unknown option of scenario %s",
			    word(a), sc->sc_name);
		cli->scen_args[k] = need_arg(argc, argv, i);
	} else
		usage_error("%s: unknown option", word(a));
}

/*
 * A tunable that the scenario sets itself for each of its variants would
 * be silently overridden: refuse it, naming the option that chooses it.
 */
static void
check_knob(const struct scenario *sc, const char *assignment)
{
	const struct scen_knob *sk;
	size_t n = strcspn(assignment, "=");

	if (sc == NULL)
		return;
	for (sk = sc->sc_knobs; sk->sk_tunable != NULL; sk++) {
		if (strlen(sk->sk_tunable) != n ||
		    strncmp(sk->sk_tunable, assignment, n) != 0)
			continue;
		if (sk->sk_option != NULL)
			usage_error(
			    "-o %s: scenario %s sets %s itself for each "
			    "variant; choose them with --%s %s",
			    word(assignment), sc->sc_name, sk->sk_tunable,
			    sk->sk_option,
			    word(assignment + n + (assignment[n] == '=')));
		usage_error("-o %s: scenario %s measures every value of %s "
			    "itself",
		    word(assignment), sc->sc_name, sk->sk_tunable);
	}
}

static bool
flag_without_value(const char *a)
{
	return (strcmp(a, "--pin") == 0 || strcmp(a, "--json") == 0 ||
	    strcmp(a, "--zones") == 0 || strcmp(a, "--help") == 0 ||
	    strcmp(a, "-h") == 0 || strcmp(a, "--version") == 0 ||
	    (strncmp(a, "-o", 2) == 0 && a[2]));
}

static void
parse_args(struct cli *cli, int argc, char **argv)
{
	const struct scenario *sc = NULL;
	const char *words[2];
	int i, nw = 0;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			print_help();
			exit(0);
		}
		if (strcmp(argv[i], "--version") == 0) {
			printf("vmlab %s\n", vmlab_version());
			exit(0);
		}
	}
	/*
	 * The scenario must be known before its options are parsed: find
	 * the first two words that are neither options nor their values.
	 */
	for (i = 1; i < argc && nw < 2; i++) {
		if (argv[i][0] == '-' && argv[i][1] != '\0') {
			if (!flag_without_value(argv[i]))
				i++;
			continue;
		}
		words[nw++] = argv[i];
	}
	if (nw >= 1 && strcmp(words[0], "run") == 0) {
		if (nw < 2)
			usage_error("run: missing scenario");
		sc = find_scenario(words[1]);
		if (sc == NULL)
			usage_error("%s: unknown scenario", word(words[1]));
	}
	for (i = 1; i < argc; i++) {
		if (argv[i][0] == '-' && argv[i][1] != '\0') {
			parse_global(cli, argc, argv, &i, sc);
			continue;
		}
		if (cli->cmd == NULL)
			cli->cmd = argv[i];
		else if (strcmp(cli->cmd, "run") == 0 && cli->scen_name == NULL)
			cli->scen_name = argv[i];
		else if (strcmp(cli->cmd, "sysctl") == 0 && cli->nwords < 64)
			cli->words[cli->nwords++] = argv[i];
		else
			usage_error("%s: unexpected argument", word(argv[i]));
	}
}

static struct scen_ctx *run_ctx;

static void
run_thread(void *arg)
{
	struct scen_ctx *ctx = arg;

	ctx->sx_scen->sc_run(ctx);
	scen_progress_end(ctx);
	report_zones_snapshot(ctx);
}

static void
boot_or_die(const struct cli *cli, int ncpus, uint64_t need,
    const char *const *extra, int nextra)
{
	const char *tun[MAX_TUNABLES * 2];
	struct vmlab_config cfg;
	char err[256];
	int i;

	vmlab_config_default(&cfg);
	/* What the scenario needs, when no --mem says otherwise. */
	if (need > cfg.physmem)
		cfg.physmem = need;
	cfg.backend = cli->backend;
	cfg.ncpus = ncpus;
	cfg.ndomains = cli->domains;
	if (cli->mem != 0)
		cfg.physmem = cli->mem;
	cfg.seed = cli->seed;
	cfg.pin = cli->pin;
	for (i = 0; i < cli->ntunables; i++)
		tun[i] = cli->tunables[i];
	for (i = 0; i < nextra && i < MAX_TUNABLES; i++)
		tun[cli->ntunables + i] = extra[i];
	cfg.tunables = tun;
	cfg.ntunables = cli->ntunables + i;
	if (vmlab_boot(&cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "vmlab: %s\n", err);
		exit(2);
	}
}

static void
parse_scen_opts(
    const struct cli *cli, const struct scenario *sc, struct scen_ctx *ctx)
{
	const struct scen_opt *so;
	char name[64], err[256];
	const char *v;
	int k;

	for (k = 0; k < sc->sc_nopts; k++) {
		so = &sc->sc_opts[k];
		snprintf(name, sizeof(name), "--%s", so->so_name);
		v = cli->scen_args[k] != NULL ? cli->scen_args[k]
					      : so->so_default;
		ctx->sx_optcount[k] = parse_list(name, v, so->so_min,
		    so->so_max, so->so_words != NULL ? so : NULL,
		    ctx->sx_optval[k], 32, so->so_list);
	}
	if (sc->sc_check != NULL && sc->sc_check(ctx, err, sizeof(err)) != 0)
		usage_error("%s", err);
}

/*
 * Whether figure j of the first run is a scaling figure: one that another
 * run reports too.  A figure named after its run's CPU count (the fault
 * scenario's shootdown_ns_cpus4) is in that run's report only.
 */
static bool
scaling_figure(const struct scen_ctx *ctxs, int n, int j)
{
	int i;

	for (i = 1; i < n; i++)
		if (report_find(&ctxs[i], ctxs[0].sx_results[j].rr_key) != NULL)
			return (true);
	return (false);
}

/* A text plot of each figure against the CPU count (no tool needed). */
static void
print_scaling_plot(const struct scen_ctx *ctxs, int n, FILE *out)
{
	const struct report_result *r;
	double max;
	int i, j, w;

	for (j = 0; j < ctxs[0].sx_nresults; j++) {
		if (!scaling_figure(ctxs, n, j))
			continue;
		max = 0;
		for (i = 0; i < n; i++)
			if ((r = report_find(&ctxs[i],
				 ctxs[0].sx_results[j].rr_key)) != NULL &&
			    r->rr_value > max)
				max = r->rr_value;
		fprintf(out, "\n%s (%s)\n", ctxs[0].sx_results[j].rr_key,
		    ctxs[0].sx_results[j].rr_unit);
		for (i = 0; i < n; i++) {
			r = report_find(&ctxs[i], ctxs[0].sx_results[j].rr_key);
			w = r == NULL || max <= 0
			    ? 0
			    : (int)(50 * r->rr_value / max);
			fprintf(out, "  cpus=%-5d |%.*s %.1f\n",
			    ctxs[i].sx_ncpus, w,
			    "#################################################"
			    "#",
			    r == NULL ? 0.0 : r->rr_value);
		}
	}
}

/*
 * With --plot and a --cpus list: gnuplot draws the scaling figures that
 * share the first one's unit against the CPU count (the runs' own plots
 * are not drawn then); false if it cannot.
 */
static bool
plot_scaling(const struct scen_ctx *ctxs, int n, const char *png, FILE *out)
{
	const struct report_result *r;
	const char *unit = NULL;
	char data[1024], cmd[2400];
	int i, j, nf = 0;
	FILE *f;

	if (!report_gnuplot_found())
		return (false);
	snprintf(data, sizeof(data), "%s.dat", png);
	if ((f = fopen(data, "w")) == NULL)
		return (false);
	for (j = 0; j < ctxs[0].sx_nresults; j++) {
		if (!scaling_figure(ctxs, n, j))
			continue;
		if (unit == NULL)
			unit = ctxs[0].sx_results[j].rr_unit;
		if (strcmp(unit, ctxs[0].sx_results[j].rr_unit) != 0)
			continue;
		fprintf(f, "\"%s\"\n", ctxs[0].sx_results[j].rr_key);
		for (i = 0; i < n; i++)
			if ((r = report_find(&ctxs[i],
				 ctxs[0].sx_results[j].rr_key)) != NULL)
				fprintf(f, "%d %.6g\n", ctxs[i].sx_ncpus,
				    r->rr_value);
		fprintf(f, "\n\n");
		nf++;
	}
	fclose(f);
	if (nf == 0)
		return (false);
	snprintf(cmd, sizeof(cmd),
	    "gnuplot -e \"set terminal png noenhanced size 800,500; set output "
	    "'%s'; "
	    "set key left top; set grid; set xlabel 'CPUs'; "
	    "set ylabel '%s'; set title '%s: scaling'; "
	    "plot for [i=0:%d] '%s' index i using 1:2 with linespoints "
	    "title columnheader(1)\"",
	    png, unit, ctxs[0].sx_scen->sc_name, nf - 1, data);
	return (report_gnuplot_run(out, cmd, png, data));
}

static void
print_scaling(const struct scen_ctx *ctxs, int n, FILE *out)
{
	int i, j;

	fprintf(
	    out, "\nscaling (%s):\n%-28s", ctxs[0].sx_scen->sc_name, "figure");
	for (i = 0; i < n; i++)
		fprintf(out, " %10s%-3d", "cpus=", ctxs[i].sx_ncpus);
	fprintf(out, "\n");
	for (j = 0; j < ctxs[0].sx_nresults; j++) {
		if (!scaling_figure(ctxs, n, j))
			continue;
		fprintf(out, "%-28s", ctxs[0].sx_results[j].rr_key);
		for (i = 0; i < n; i++) {
			const struct report_result *r =
			    report_find(&ctxs[i], ctxs[0].sx_results[j].rr_key);
			if (r != NULL)
				fprintf(out, " %13.1f", r->rr_value);
			else
				fprintf(out, " %13s", "-");
		}
		fprintf(out, "\n");
	}
}

/*
 * One machine of a run: boots it with the variant's tunables (if the
 * scenario has variants), runs the scenario, reports.  The JSON object of
 * a run with variants is printed after its last variant.
 */
static void
run_machine(const struct cli *cli, struct scen_ctx *ctx)
{
	const struct scenario *sc = ctx->sx_scen;
	const char *extra[MAX_TUNABLES];
	const char *backend =
	    cli->backend == VMLAB_BACKEND_SIM ? "sim" : "host";
	bool last = ctx->sx_variant == ctx->sx_nvariants - 1;
	int nextra = 0;

	if (sc->sc_variant_tunables != NULL)
		nextra = sc->sc_variant_tunables(
		    ctx, ctx->sx_variant, extra, MAX_TUNABLES);
	boot_or_die(cli, ctx->sx_ncpus,
	    sc->sc_physmem != NULL ? sc->sc_physmem(ctx) : 0, extra, nextra);
	fprintf(ctx->sx_out, "vmlab %s: scenario %s, %d CPUs (%s)",
	    vmlab_version(), sc->sc_name, ctx->sx_ncpus, backend);
	if (ctx->sx_nvariants > 1)
		fprintf(ctx->sx_out, ", machine %d of %d", ctx->sx_variant + 1,
		    ctx->sx_nvariants);
	fprintf(ctx->sx_out, "\n");
	if (vmlab_run(run_thread, ctx) != 0) {
		fprintf(stderr, "vmlab: cannot start the scenario\n");
		exit(1);
	}
	if (!cli->json && ctx->sx_nvariants == 1) {
		fprintf(stdout, "\nlock profile (sorted by total wait):\n");
		report_lockstat(stdout, 20);
	} else if (cli->json && last)
		report_json(ctx, backend, cli->seed);
	if (cli->zones) {
		fprintf(ctx->sx_out, "\nzones (vmstat -z):\n");
		report_zones(ctx->sx_out, ctx, false);
	}
	report_zones_free(ctx);
	if (vmlab_shutdown() != 0) {
		fprintf(stderr, "vmlab: kernel threads left running\n");
		exit(1);
	}
}

static int
cmd_run(const struct cli *cli)
{
	const struct scenario *sc = find_scenario(cli->scen_name);
	struct scen_ctx *ctxs, *ctx;
	int i, n, v, failed = 0;
	int defcpus = vmlab_host_cpus();

	n = cli->ncpus > 0 ? cli->ncpus : 1;
	ctxs = calloc((size_t)n, sizeof(*ctxs));
	if (ctxs == NULL)
		return (1);
	for (i = 0; i < n; i++) {
		ctx = run_ctx = &ctxs[i];
		ctx->sx_scen = sc;
		ctx->sx_json = cli->json;
		/* A --cpus list plots the scaling instead (plot_scaling). */
		ctx->sx_plot = n > 1 ? NULL : cli->plot;
		ctx->sx_out = cli->json ? stderr : stdout;
		ctx->sx_ncpus = cli->ncpus > 0 ? cli->cpus[i] : defcpus;
		ctx->sx_seed = cli->seed;
		ctx->sx_sim = cli->backend == VMLAB_BACKEND_SIM;
		ctx->sx_progress = isatty(STDERR_FILENO) != 0;
		ctx->sx_mem = cli->mem; /* 0: the default, or the need */
		parse_scen_opts(cli, sc, ctx);
		ctx->sx_nvariants =
		    sc->sc_nvariants != NULL ? sc->sc_nvariants(ctx) : 1;
		for (v = 0; v < ctx->sx_nvariants; v++) {
			ctx->sx_variant = v;
			run_machine(cli, ctx);
		}
		failed |= ctx->sx_failed;
	}
	if (n > 1) {
		print_scaling(ctxs, n, cli->json ? stderr : stdout);
		if (cli->plot == NULL ||
		    !plot_scaling(
			ctxs, n, cli->plot, cli->json ? stderr : stdout))
			print_scaling_plot(
			    ctxs, n, cli->json ? stderr : stdout);
	}
	for (i = 0; i < n; i++)
		report_rows_free(&ctxs[i]);
	free(ctxs);
	return (failed ? 1 : 0);
}

static int
cmd_list(void)
{
	const struct scen_opt *so;
	int i, k;

	for (i = 0; i < NSCENARIOS; i++) {
		printf("%-12s %s\n", scenarios[i]->sc_name,
		    scenarios[i]->sc_descr);
		for (k = 0; k < scenarios[i]->sc_nopts; k++) {
			so = &scenarios[i]->sc_opts[k];
			printf("    --%-14s %s (default %s)\n", so->so_name,
			    so->so_help, so->so_default);
		}
	}
	printf("\ntunables: see 'vmlab sysctl'\n");
	return (0);
}

static void
sysctl_noop(void *arg)
{
	(void)arg;
}

static int
cmd_sysctl(const struct cli *cli)
{
	int i;

	boot_or_die(
	    cli, cli->ncpus > 0 ? cli->cpus[0] : vmlab_host_cpus(), 0, NULL, 0);
	(void)vmlab_run(sysctl_noop, NULL);
	i = report_sysctl(stdout, cli->words, cli->nwords);
	(void)vmlab_shutdown();
	return (i);
}

int
main(int argc, char **argv)
{
	struct cli cli;
	int i;

	memset(&cli, 0, sizeof(cli));
	cli.seed = 1;
	cli.domains = 1;
	if (vmlab_tunables_init() != 0) {
		fprintf(stderr, "vmlab: cannot register tunables\n");
		return (1);
	}
	for (i = 0; i < NSCENARIOS; i++)
		if (scenarios[i]->sc_tunables != NULL)
			scenarios[i]->sc_tunables();
	parse_args(&cli, argc, argv);
	/* Sim runs repeat byte for byte only with fixed addresses. */
	if (cli.backend == VMLAB_BACKEND_SIM)
		vmlab_sim_exec_norandom(argv);
	if (cli.cmd == NULL) {
		fprintf(stderr, "%s (see 'vmlab --help')\n", USAGE);
		return (2);
	}
	if (strcmp(cli.cmd, "run") == 0)
		return (cmd_run(&cli));
	if (strcmp(cli.cmd, "list") == 0)
		return (cmd_list());
	if (strcmp(cli.cmd, "sysctl") == 0)
		return (cmd_sysctl(&cli));
	usage_error("%s: unknown command", word(cli.cmd));
}
