/*
 * report.c: results, the progress line, the lock-profile table, counters
 * and JSON.
 */
/* clock_gettime() for the progress line's pacing. */
#define _POSIX_C_SOURCE 200809L
#include "kern/lock.h"
#include "kern/sysctl.h"
#include "vm/uma.h"
#include "vmlab/vmlab.h"
#include "vmlab_cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const struct scen_opt *
scen_find_opt(const struct scen_ctx *ctx, const char *name, int *kp)
{
	int k;

	for (k = 0; k < ctx->sx_scen->sc_nopts; k++)
		if (strcmp(ctx->sx_scen->sc_opts[k].so_name, name) == 0) {
			*kp = k;
			return (&ctx->sx_scen->sc_opts[k]);
		}
	fprintf(stderr, "vmlab: scenario %s has no option %s\n",
	    ctx->sx_scen->sc_name, name);
	abort();
}

bool
scen_knob_set(struct scen_ctx *ctx, const char *name, int64_t value)
{
	char err[256];

	if (sysctl_set(name, value, err, sizeof(err)) == 0)
		return (true);
	scen_progress_end(ctx);
	fprintf(stderr, "%s: %s\n", ctx->sx_scen->sc_name, err);
	ctx->sx_failed = 1;
	return (false);
}

int64_t
scen_knob_get(const char *name)
{
	struct sysctl_info si;

	return (sysctl_get(name, &si) ? si.si_value : 0);
}

bool
report_gnuplot_found(void)
{
	return (system("command -v gnuplot >/dev/null 2>&1") == 0);
}

bool
report_gnuplot_run(
    FILE *out, const char *cmd, const char *png, const char *data)
{
	if (system(cmd) != 0)
		return (false);
	fprintf(out, "\nplot: %s (its data: %s)\n", png, data);
	return (true);
}

void
report_plot_fallback(FILE *out, const char *png)
{
	fprintf(out,
	    "\n(--plot %s: no gnuplot, or it failed; 'apt-get install "
	    "gnuplot-nox' gives PNG plots; a text plot instead)\n",
	    png);
}

/* splitmix64. */
uint64_t
scen_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return (z ^ (z >> 31));
}

int64_t
scen_opt(const struct scen_ctx *ctx, const char *name, int i)
{
	int k;

	(void)scen_find_opt(ctx, name, &k);
	return (ctx->sx_optval[k][i < ctx->sx_optcount[k] ? i : 0]);
}

int
scen_opt_count(const struct scen_ctx *ctx, const char *name)
{
	int k;

	(void)scen_find_opt(ctx, name, &k);
	return (ctx->sx_optcount[k]);
}

const char *
scen_opt_word(const struct scen_ctx *ctx, const char *name, int i)
{
	const struct scen_opt *so;
	int k;

	so = scen_find_opt(ctx, name, &k);
	if (so->so_words == NULL) {
		fprintf(stderr,
		    "vmlab: option %s of scenario %s is not a word\n", name,
		    ctx->sx_scen->sc_name);
		abort();
	}
	return (so->so_words[scen_opt(ctx, name, i)]);
}

void
report_result(
    struct scen_ctx *ctx, const char *key, double value, const char *unit)
{
	struct report_result *r;

	if (ctx->sx_nresults == REPORT_MAXRESULTS)
		return;
	r = &ctx->sx_results[ctx->sx_nresults++];
	snprintf(r->rr_key, sizeof(r->rr_key), "%s", key);
	snprintf(r->rr_unit, sizeof(r->rr_unit), "%s", unit);
	r->rr_value = value;
}

int
report_row_add(struct scen_ctx *ctx)
{
	struct report_row *rows;

	rows =
	    realloc(ctx->sx_rows, (size_t)(ctx->sx_nrows + 1) * sizeof(*rows));
	if (rows == NULL)
		return (-1);
	ctx->sx_rows = rows;
	memset(&rows[ctx->sx_nrows], 0, sizeof(rows[0]));
	return (ctx->sx_nrows++);
}

/* Field `key' of row i: found, or added; NULL if i is bad or it is full. */
static struct report_field *
report_row_field(struct scen_ctx *ctx, int i, const char *key)
{
	struct report_row *rw;
	struct report_field *f;
	int k;

	if (i < 0 || i >= ctx->sx_nrows)
		return (NULL);
	rw = &ctx->sx_rows[i];
	for (k = 0; k < rw->rw_n; k++)
		if (strcmp(rw->rw_fields[k].rf_key, key) == 0) {
			f = &rw->rw_fields[k];
			free(f->rf_text);
			f->rf_text = NULL;
			return (f);
		}
	if (rw->rw_n == REPORT_ROWFIELDS)
		return (NULL);
	f = &rw->rw_fields[rw->rw_n++];
	snprintf(f->rf_key, sizeof(f->rf_key), "%s", key);
	return (f);
}

void
report_row_num(struct scen_ctx *ctx, int i, const char *key, double v)
{
	struct report_field *f = report_row_field(ctx, i, key);

	if (f != NULL)
		f->rf_num = v;
}

static void
report_row_text(
    struct scen_ctx *ctx, int i, const char *key, const char *text, bool json)
{
	struct report_field *f = report_row_field(ctx, i, key);

	if (f == NULL)
		return;
	f->rf_text = strdup(text);
	f->rf_json = json;
	if (f->rf_text == NULL)
		f->rf_num = 0; /* out of memory: a number, 0 */
}

void
report_row_str(struct scen_ctx *ctx, int i, const char *key, const char *s)
{
	report_row_text(ctx, i, key, s, false);
}

void
report_row_json(struct scen_ctx *ctx, int i, const char *key, const char *json)
{
	report_row_text(ctx, i, key, json, true);
}

void
report_rows_free(struct scen_ctx *ctx)
{
	int i, k;

	for (i = 0; i < ctx->sx_nrows; i++)
		for (k = 0; k < ctx->sx_rows[i].rw_n; k++)
			free(ctx->sx_rows[i].rw_fields[k].rf_text);
	free(ctx->sx_rows);
	ctx->sx_rows = NULL;
	ctx->sx_nrows = 0;
}

/*
 * The progress line.  Paced by the host's clock, not md_nanotime(): on
 * the simulated machine that is virtual time, which says nothing about
 * how often a person at the terminal sees the line change.
 */
#define PROGRESS_INTERVAL_NS 250000000ull /* at most 4 lines a second */

static uint64_t
progress_host_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec);
}

/* `n' with a comma every three digits ("180,000"). */
static const char *
progress_count(char *buf, size_t len, uint64_t n)
{
	char digits[32];
	size_t i, j = 0, nd;

	nd = (size_t)snprintf(
	    digits, sizeof(digits), "%llu", (unsigned long long)n);
	for (i = 0; i < nd && j + 2 < len; i++) {
		if (i > 0 && (nd - i) % 3 == 0)
			buf[j++] = ',';
		buf[j++] = digits[i];
	}
	buf[j] = '\0';
	return (buf);
}

void
scen_progress(struct scen_ctx *ctx, const char *what, uint64_t done,
    uint64_t total, const char *unit)
{
	char line[160], d[32], t[32];
	uint64_t now;
	int n;

	if (!ctx->sx_progress)
		return;
	now = progress_host_ns();
	if (ctx->sx_progress_len > 0 &&
	    now - ctx->sx_progress_ns < PROGRESS_INTERVAL_NS)
		return;
	ctx->sx_progress_ns = now;
	if (done > total)
		done = total;
	n = snprintf(line, sizeof(line), "%s: %s, %d%% (%s of %s %s)",
	    ctx->sx_scen->sc_name, what,
	    total > 0 ? (int)(done * 100 / total) : 100,
	    progress_count(d, sizeof(d), done),
	    progress_count(t, sizeof(t), total), unit);
	if (n < 0)
		return;
	if (n >= (int)sizeof(line))
		n = (int)sizeof(line) - 1;
	/* Over the previous line; blanks cover what was longer. */
	fprintf(stderr, "\r%s%*s", line,
	    ctx->sx_progress_len > n ? ctx->sx_progress_len - n : 0, "");
	fflush(stderr);
	if (n > ctx->sx_progress_len)
		ctx->sx_progress_len = n;
}

void
scen_progress_end(struct scen_ctx *ctx)
{
	if (ctx->sx_progress_len == 0)
		return;
	fprintf(stderr, "\r%*s\r", ctx->sx_progress_len, "");
	fflush(stderr);
	ctx->sx_progress_len = 0;
}

const struct report_result *
report_find(const struct scen_ctx *ctx, const char *key)
{
	int i;

	for (i = 0; i < ctx->sx_nresults; i++)
		if (strcmp(ctx->sx_results[i].rr_key, key) == 0)
			return (&ctx->sx_results[i]);
	return (NULL);
}

static struct lock_prof_row *
report_snapshot(int *np)
{
	struct lock_prof_row *rows;
	int n = lock_prof_count() + 16;

	rows = calloc((size_t)n, sizeof(*rows));
	if (rows == NULL) {
		*np = 0;
		return (NULL);
	}
	*np = lock_prof_snapshot(rows, n);
	return (rows);
}

static void
report_lockrow_add(struct scen_lockrow *r, const struct lock_prof_row *pr)
{
	snprintf(r->name, sizeof(r->name), "%s", pr->lpr_name);
	snprintf(r->cls, sizeof(r->cls), "%s", pr->lpr_class);
	r->wait_ns += pr->lpr_wait_total_ns;
	r->acq += pr->lpr_acquisitions;
	r->cont += pr->lpr_contentions;
}

int
report_top_locks(struct scen_lockrow *out, int max)
{
	struct lock_prof_row *rows;
	int i, n, k = 0;

	rows = report_snapshot(&n);
	for (i = 0; i < n && k < max; i++) {
		if (rows[i].lpr_wait_total_ns == 0)
			continue;
		memset(&out[k], 0, sizeof(out[k]));
		report_lockrow_add(&out[k++], &rows[i]);
	}
	free(rows);
	return (k);
}

void
report_lock_sum(const char *name, struct scen_lockrow *sum)
{
	struct lock_prof_row *rows;
	int i, n;

	memset(sum, 0, sizeof(*sum));
	rows = report_snapshot(&n);
	for (i = 0; i < n; i++)
		if (strcmp(rows[i].lpr_name, name) == 0)
			report_lockrow_add(sum, &rows[i]);
	free(rows);
}

void
report_lockstat(FILE *out, int max)
{
	struct lock_prof_row *rows, *r;
	int i, n;

	rows = report_snapshot(&n);
	fprintf(out, "%14s %12s %14s %12s %12s %14s  %s\n", "wait_total_us",
	    "wait_max_us", "hold_total_us", "hold_max_us", "contentions",
	    "count", "(class:name)");
	for (i = 0; i < n && i < max; i++) {
		r = &rows[i];
		if (r->lpr_acquisitions == 0 && r->lpr_contentions == 0)
			continue;
		fprintf(out,
		    "%14.1f %12.1f %14.1f %12.1f %12llu %14llu  (%s:%s)\n",
		    r->lpr_wait_total_ns / 1e3, r->lpr_wait_max_ns / 1e3,
		    r->lpr_hold_total_ns / 1e3, r->lpr_hold_max_ns / 1e3,
		    (unsigned long long)r->lpr_contentions,
		    (unsigned long long)r->lpr_acquisitions, r->lpr_class,
		    r->lpr_name);
	}
	free(rows);
}

static void
json_string(const char *s)
{
	putchar('"');
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

static void
json_number(double v)
{
	if (v == (double)(long long)v && v < 9e15 && v > -9e15)
		printf("%lld", (long long)v);
	else
		printf("%.3f", v);
}

static int
json_counter(const struct sysctl_info *si, void *arg)
{
	int *first = arg;

	if (si->si_kind != SYSCTL_STAT)
		return (0);
	printf("%s", *first ? "" : ", ");
	*first = 0;
	json_string(si->si_name);
	printf(": %lld", (long long)si->si_value);
	return (0);
}

static int
json_tunable(const struct sysctl_info *si, void *arg)
{
	int *first = arg;

	if (si->si_kind == SYSCTL_STAT)
		return (0);
	printf("%s", *first ? "" : ", ");
	*first = 0;
	json_string(si->si_name);
	printf(": ");
	if (si->si_kind == SYSCTL_TUNABLE_ENUM)
		json_string(si->si_enum[si->si_value]);
	else if (si->si_kind == SYSCTL_TUNABLE_STR)
		json_string(si->si_str);
	else
		printf("%lld", (long long)si->si_value);
	return (0);
}

/*
 * The scenario's options as run (given or default): a number, a word, or
 * an array of them for a list.
 */
static void
report_json_options(const struct scen_ctx *ctx)
{
	const struct scen_opt *so;
	int i, k, n;

	for (k = 0; k < ctx->sx_scen->sc_nopts; k++) {
		so = &ctx->sx_scen->sc_opts[k];
		n = ctx->sx_optcount[k];
		printf("%s", k == 0 ? "" : ", ");
		json_string(so->so_name);
		printf(": %s", so->so_list ? "[" : "");
		for (i = 0; i < n; i++) {
			printf("%s", i == 0 ? "" : ", ");
			if (so->so_words != NULL)
				json_string(so->so_words[ctx->sx_optval[k][i]]);
			else
				printf("%lld", (long long)ctx->sx_optval[k][i]);
		}
		printf("%s", so->so_list ? "]" : "");
	}
}

/* The table, as the last member of "results". */
static void
report_json_rows(const struct scen_ctx *ctx)
{
	const struct report_field *f;
	int i, k;

	if (ctx->sx_nrows == 0)
		return;
	printf("%s", ctx->sx_nresults == 0 ? "" : ", ");
	json_string(ctx->sx_rows_name != NULL ? ctx->sx_rows_name : "rows");
	printf(": [");
	for (i = 0; i < ctx->sx_nrows; i++) {
		printf("%s{", i == 0 ? "" : ", ");
		for (k = 0; k < ctx->sx_rows[i].rw_n; k++) {
			f = &ctx->sx_rows[i].rw_fields[k];
			printf("%s", k == 0 ? "" : ", ");
			json_string(f->rf_key);
			printf(": ");
			if (f->rf_text == NULL)
				json_number(f->rf_num);
			else if (f->rf_json)
				printf("%s", f->rf_text);
			else
				json_string(f->rf_text);
		}
		printf("}");
	}
	printf("]");
}

void
report_json(const struct scen_ctx *ctx, const char *backend, uint64_t seed)
{
	struct lock_prof_row *rows, *r;
	int i, n, first;

	printf("{\"scenario\": ");
	json_string(ctx->sx_scen->sc_name);
	printf(", \"backend\": ");
	json_string(backend);
	printf(", \"cpus\": %d, \"seed\": %llu", ctx->sx_ncpus,
	    (unsigned long long)seed);
	if (strcmp(backend, "sim") == 0)
		printf(", \"trace_hash\": \"%016llx\", \"sim_events\": %llu",
		    (unsigned long long)vmlab_sim_trace_hash(),
		    (unsigned long long)vmlab_sim_events());
	printf(", \"options\": {");
	report_json_options(ctx);
	printf("}, \"results\": {");
	for (i = 0; i < ctx->sx_nresults; i++) {
		printf("%s", i == 0 ? "" : ", ");
		json_string(ctx->sx_results[i].rr_key);
		printf(": ");
		json_number(ctx->sx_results[i].rr_value);
	}
	report_json_rows(ctx);
	printf("}, \"units\": {");
	for (i = 0; i < ctx->sx_nresults; i++) {
		printf("%s", i == 0 ? "" : ", ");
		json_string(ctx->sx_results[i].rr_key);
		printf(": ");
		json_string(ctx->sx_results[i].rr_unit);
	}
	printf("}, \"lockstat\": [");
	rows = report_snapshot(&n);
	for (i = 0, first = 1; i < n; i++) {
		r = &rows[i];
		if (r->lpr_acquisitions == 0 && r->lpr_contentions == 0)
			continue;
		printf("%s{\"name\": ", first ? "" : ", ");
		first = 0;
		json_string(r->lpr_name);
		printf(", \"class\": ");
		json_string(r->lpr_class);
		printf(", \"acquisitions\": %llu, \"contentions\": %llu, "
		       "\"wait_total_ns\": %llu, \"wait_max_ns\": %llu, "
		       "\"hold_total_ns\": %llu, \"hold_max_ns\": %llu}",
		    (unsigned long long)r->lpr_acquisitions,
		    (unsigned long long)r->lpr_contentions,
		    (unsigned long long)r->lpr_wait_total_ns,
		    (unsigned long long)r->lpr_wait_max_ns,
		    (unsigned long long)r->lpr_hold_total_ns,
		    (unsigned long long)r->lpr_hold_max_ns);
	}
	free(rows);
	printf("], \"counters\": {");
	first = 1;
	(void)sysctl_foreach(json_counter, &first);
	printf("}, \"tunables\": {");
	first = 1;
	(void)sysctl_foreach(json_tunable, &first);
	printf("}, \"zones\": [");
	report_zones(stdout, ctx, true);
	printf("]}\n");
	fflush(stdout);
}

static void
zone_snapshot_fn(const struct uma_zone_stats *st, void *arg)
{
	struct scen_ctx *ctx = arg;
	struct uma_zone_stats *nz;

	nz = realloc(ctx->sx_zones, sizeof(*nz) * (size_t)(ctx->sx_nzones + 1));
	if (nz == NULL)
		return;
	ctx->sx_zones = nz;
	nz[ctx->sx_nzones++] = *st;
}

void
report_zones_snapshot(struct scen_ctx *ctx)
{
	report_zones_free(ctx);
	(void)uma_zone_foreach(zone_snapshot_fn, ctx);
}

void
report_zones_free(struct scen_ctx *ctx)
{
	free(ctx->sx_zones);
	ctx->sx_zones = NULL;
	ctx->sx_nzones = 0;
}

void
report_zones(FILE *out, const struct scen_ctx *ctx, bool json)
{
	const struct uma_zone_stats *rz;
	int i;

	if (!json)
		fprintf(out, "%-24s %6s %8s %8s %8s %12s %6s %6s %8s %8s\n",
		    "ITEM", "SIZE", "LIMIT", "USED", "FREE", "REQ", "FAIL",
		    "SLEEP", "XDOMAIN", "PAGES");
	for (i = 0; i < ctx->sx_nzones; i++) {
		rz = &ctx->sx_zones[i];
		if (!json) {
			fprintf(out,
			    "%-24s %6llu %8llu %8llu %8llu %12llu %6llu %6llu "
			    "%8llu %8llu\n",
			    rz->name, (unsigned long long)rz->size,
			    (unsigned long long)rz->limit,
			    (unsigned long long)rz->used,
			    (unsigned long long)rz->free,
			    (unsigned long long)rz->requests,
			    (unsigned long long)rz->fails,
			    (unsigned long long)rz->sleeps,
			    (unsigned long long)rz->xdomain,
			    (unsigned long long)rz->pages);
			continue;
		}
		/* JSON goes to stdout, where json_string() writes. */
		fprintf(out, "%s{\"name\": ", i == 0 ? "" : ", ");
		json_string(rz->name);
		fprintf(out,
		    ", \"size\": %llu, \"limit\": %llu, \"used\": %llu, "
		    "\"free\": %llu, \"requests\": %llu, \"fails\": %llu, "
		    "\"sleeps\": %llu, \"xdomain\": %llu, \"pages\": %llu}",
		    (unsigned long long)rz->size, (unsigned long long)rz->limit,
		    (unsigned long long)rz->used, (unsigned long long)rz->free,
		    (unsigned long long)rz->requests,
		    (unsigned long long)rz->fails,
		    (unsigned long long)rz->sleeps,
		    (unsigned long long)rz->xdomain,
		    (unsigned long long)rz->pages);
	}
}

static int
print_counter(const struct sysctl_info *si, void *arg)
{
	FILE *out = arg;

	if (si->si_kind == SYSCTL_STAT && si->si_value != 0)
		fprintf(out, "  %-36s %lld\n", si->si_name,
		    (long long)si->si_value);
	return (0);
}

void
report_counters(FILE *out)
{
	fprintf(out, "\ncounters:\n");
	(void)sysctl_foreach(print_counter, out);
}

struct sysctl_print {
	FILE *sp_out;
	const char *const *sp_names;
	int sp_n;
	int *sp_found;
};

static int
print_sysctl(const struct sysctl_info *si, void *arg)
{
	struct sysctl_print *sp = arg;
	int i;

	if (sp->sp_n > 0) {
		for (i = 0; i < sp->sp_n; i++)
			if (strcmp(sp->sp_names[i], si->si_name) == 0)
				break;
		if (i == sp->sp_n)
			return (0);
		sp->sp_found[i] = 1;
	}
	if (si->si_kind == SYSCTL_TUNABLE_ENUM)
		fprintf(sp->sp_out, "%s: %s", si->si_name,
		    si->si_enum[si->si_value]);
	else if (si->si_kind == SYSCTL_TUNABLE_STR)
		fprintf(sp->sp_out, "%s: \"%s\"", si->si_name, si->si_str);
	else
		fprintf(sp->sp_out, "%s: %lld", si->si_name,
		    (long long)si->si_value);
	fprintf(sp->sp_out, "%s\t# %s%s\n",
	    si->si_kind == SYSCTL_STAT ? "" : "", si->si_descr,
	    si->si_kind == SYSCTL_STAT ? "" : " (tunable)");
	return (0);
}

int
report_sysctl(FILE *out, const char *const *names, int n)
{
	struct sysctl_print sp = { out, names, n, NULL };
	char w[SYSCTL_WORDBUF];
	int i, rv = 0;

	sp.sp_found = calloc((size_t)(n > 0 ? n : 1), sizeof(int));
	if (sp.sp_found == NULL)
		return (1);
	(void)sysctl_foreach(print_sysctl, &sp);
	for (i = 0; i < n; i++)
		if (!sp.sp_found[i]) {
			fprintf(stderr, "vmlab: %s: unknown sysctl\n",
			    sysctl_word(w, names[i]));
			rv = 2;
		}
	free(sp.sp_found);
	return (rv);
}
