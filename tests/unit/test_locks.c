/*
 * test_locks.c: mutexes (sleep and spin), qmtx, rw, sx and lockmgr locks,
 * their profiles, and the lock-order checker.
 *
 * Cases:
 *  - the lock-order checker (VM_INVARIANTS builds): a rank reversal, the
 *    class rules and planted reversals of VM locks (object after free,
 *    object after page queue) panic, in a forked child that we watch die;
 *  - the ranks that the library's subsystems register at boot are those
 *    of docs/LOCKING.md, row for row;
 *  - mutual exclusion, for every lock kind held exclusively, on 2 and 4
 *    CPUs: a plain counter incremented inside the critical section ends
 *    at threads * iterations and an atomic "inside" count never sees two
 *    holders; the lock profile counts exactly our acquisitions;
 *  - readers and writers of rw, sx and lockmgr locks: readers never meet
 *    a writer, writers never meet anyone; exact profile counts;
 *  - readers really share, and exclude a writer while they hold;
 *  - the profile of uncontended use: exact acquisitions, no contention;
 *  - the profile of contended use (contention forced): contentions and
 *    waits recorded, exact acquisitions;
 *  - qmtx hands the lock over in FIFO order;
 *  - lockmgr wakes every waiter at each release (about N^2/2 wakeups to
 *    drain N waiters) where qmtx wakes exactly one (N wakeups).
 */

/* fork(), pipe() and waitpid() for the death tests. */
#define _POSIX_C_SOURCE 200809L
#include "harness.h"
#include "kern/lock.h"
#include "kern/lockmgr.h"
#include "kern/mutex.h"
#include "kern/rwlock.h"
#include "kern/sleepq.h"
#include "kern/thread.h"
#include "kern_test.h"
#include "lock_kinds.h"
#include "md/md_atomic.h"
#include "vm/vm_domain.h"
#include "vm/vm_object.h"
#include "vm/vm_pagequeue.h"
#include "vmlab/vmlab.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Bounds every wait for another thread: turns a hang into a failure. */
#define WAIT_NS (60ull * 1000000000ull)

/*
 * Inside a critical section: sometimes yield (any lock but a spin mutex;
 * waiters then find the owner off-CPU and sleep), sometimes sleep
 * (sleepable locks), otherwise stay a little while.
 */
static void
cs_dawdle(int kind, uint64_t *rng)
{
	uint64_t r = test_rand(rng);
	int i;

	if (!lk_is_spin(kind) && r % 16 == 0)
		kthread_yield();
	else if (lk_sleepable(kind) && r % 64 == 1)
		pause_ns("dawdle", 1 + (r >> 8) % (5 * US));
	else
		for (i = 0; i < (int)((r >> 16) % 16); i++)
			md_cpu_relax();
}

/* The profile row of (name, class); false if there is none. */
static bool
prof_row(const char *name, const char *class, struct lock_prof_row *out)
{
	struct lock_prof_row *rows;
	bool found = false;
	int i, n;

	rows = calloc(1024, sizeof(*rows));
	n = lock_prof_snapshot(rows, 1024);
	for (i = 0; i < n; i++) {
		if (strcmp(rows[i].lpr_name, name) == 0 &&
		    strcmp(rows[i].lpr_class, class) == 0) {
			*out = rows[i];
			found = true;
		}
	}
	free(rows);
	return (found);
}

/* Runs fn on each of `n' args (of `argsize' bytes) in joinable threads. */
struct spawn {
	int sp_n;
	void (*sp_fn)(void *);
	void *sp_args;
	size_t sp_argsize;
};

static void
spawn_main(void *arg)
{
	struct spawn *sp = arg;
	struct thread **tds = calloc((size_t)sp->sp_n, sizeof(*tds));
	int i;

	for (i = 0; i < sp->sp_n; i++)
		CHECK(kthread_create(sp->sp_fn,
			  (char *)sp->sp_args + sp->sp_argsize * (size_t)i, -1,
			  KTHR_JOINABLE, &tds[i], "lk%d", i) == 0);
	for (i = 0; i < sp->sp_n; i++)
		kthread_join(tds[i]);
	free(tds);
}

static void
spawn_run(int n, void (*fn)(void *), void *args, size_t argsize)
{
	struct spawn sp = { n, fn, args, argsize };

	test_run(spawn_main, &sp);
}

/*
 * Lock-order checker: death tests.  They run first, before any machine
 * has started threads in this process, so that fork() copies a
 * single-threaded process (ThreadSanitizer insists).
 */
/* The ranks this program registers for its own locks. */
static const struct lock_rank test_ranks[] = {
	{ "test outer", 300, 0 },
	{ "test inner", 310, 0 },
};

#ifdef VM_INVARIANTS
struct death {
	const char *d_name;
	void (*d_body)(void *);
	const char *d_expect; /* in the panic message; NULL: must live */
};

static void
death_reversal(void *arg)
{
	struct mtx inner, outer;

	(void)arg;
	mtx_init(&inner, "test inner", MTX_DEF);
	mtx_init(&outer, "test outer", MTX_DEF);
	mtx_lock(&inner);
	mtx_lock(&outer); /* rank 300 while holding rank 310 */
	mtx_unlock(&outer);
	mtx_unlock(&inner);
	mtx_destroy(&outer);
	mtx_destroy(&inner);
}

static void
death_ordered(void *arg)
{
	struct mtx inner, outer;

	(void)arg;
	mtx_init(&inner, "test inner", MTX_DEF);
	mtx_init(&outer, "test outer", MTX_DEF);
	mtx_lock(&outer);
	mtx_lock(&inner);
	mtx_unlock(&inner);
	mtx_unlock(&outer);
	mtx_destroy(&outer);
	mtx_destroy(&inner);
}

static void
death_sleepable_under_mtx(void *arg)
{
	struct mtx m;
	struct sx sx;

	(void)arg;
	mtx_init(&m, "test d1", MTX_DEF);
	sx_init(&sx, "test d2");
	mtx_lock(&m);
	sx_xlock(&sx);
	sx_xunlock(&sx);
	mtx_unlock(&m);
	sx_destroy(&sx);
	mtx_destroy(&m);
}

static void
death_sleep_lock_under_spin(void *arg)
{
	struct mtx s, m;

	(void)arg;
	mtx_init(&s, "test d1", MTX_SPIN);
	mtx_init(&m, "test d2", MTX_DEF);
	mtx_lock_spin(&s);
	mtx_lock(&m);
	mtx_unlock(&m);
	mtx_unlock_spin(&s);
	mtx_destroy(&m);
	mtx_destroy(&s);
}

static void
death_sleep_holding_mtx(void *arg)
{
	struct mtx m;

	(void)arg;
	mtx_init(&m, "test d1", MTX_DEF);
	mtx_lock(&m);
	pause_ns("holding", 1000);
	mtx_unlock(&m);
	mtx_destroy(&m);
}

/* The object lock after the domain free lock (a spin lock). */
static void
death_vm_object_after_free(void *arg)
{
	struct vm_object *obj = vm_object_allocate(OBJT_DEFAULT, 1);

	(void)arg;
	vm_domain_free_lock(VM_DOMAIN(0));
	vm_object_lock(obj);
	vm_object_unlock(obj);
	vm_domain_free_unlock(VM_DOMAIN(0));
	vm_object_deallocate(obj);
}

/* The object lock (rank 520) after a page-queue lock (rank 600). */
static void
death_vm_object_after_pagequeue(void *arg)
{
	struct vm_object *obj = vm_object_allocate(OBJT_DEFAULT, 1);
	struct vm_pagequeue *pq = vm_pagequeue_get(0, PQ_INACTIVE);

	(void)arg;
	mtx_lock(&pq->pq_mutex);
	vm_object_lock(obj);
	vm_object_unlock(obj);
	mtx_unlock(&pq->pq_mutex);
	vm_object_deallocate(obj);
}

/* A shadow object's lock, then its backing object's: allowed (DUPOK). */
static void
death_vm_object_chain(void *arg)
{
	struct vm_object *a = vm_object_allocate(OBJT_DEFAULT, 1);
	struct vm_object *b = vm_object_allocate(OBJT_DEFAULT, 1);

	(void)arg;
	vm_object_lock(a);
	vm_object_lock(b);
	vm_object_unlock(b);
	vm_object_unlock(a);
	vm_object_deallocate(b);
	vm_object_deallocate(a);
}

static const struct death deaths[] = {
	{ "reversal", death_reversal, "lock order reversal: 'test outer'" },
	{ "vm object after free", death_vm_object_after_free,
	    "rw lock 'vm object' acquired while holding spin lock 'vm domain "
	    "free'" },
	{ "vm object after pagequeue", death_vm_object_after_pagequeue,
	    "lock order reversal: 'vm object' (rank 520) acquired while "
	    "holding 'vm pagequeue' (rank 600)" },
	{ "vm object chain", death_vm_object_chain, NULL },
	{ "ordered", death_ordered, NULL },
	{ "sleepable under mtx", death_sleepable_under_mtx,
	    "sleepable sx lock 'test d2' acquired while holding "
	    "non-sleepable mtx lock 'test d1'" },
	{ "sleep lock under spin", death_sleep_lock_under_spin,
	    "mtx lock 'test d2' acquired while holding spin lock 'test d1'" },
	{ "sleep holding mtx", death_sleep_holding_mtx, "may not sleep here" },
};

/*
 * Child: boots, runs the body, shuts down.  Exits 0 only if the body
 * returned and the machine shut down cleanly.
 */
static void
death_child(const struct death *d)
{
	struct vmlab_config cfg;
	char err[256];

	vmlab_config_default(&cfg);
	cfg.ncpus = 2;
	if (vmlab_boot(&cfg, err, sizeof(err)) != 0 ||
	    vmlab_run(d->d_body, NULL) != 0 || vmlab_shutdown() != 0)
		_exit(3);
	_exit(0);
}

/* Forks a child for `d'; returns its wait status, its stderr in out. */
static int
death_fork(const struct death *d, char *out, size_t outlen)
{
	char scratch[256];
	size_t n = 0;
	ssize_t r;
	pid_t pid;
	int fds[2], status = 0;

	out[0] = '\0';
	fflush(stdout);
	fflush(stderr);
	if (pipe(fds) != 0) {
		test_fail(__FILE__, __LINE__, "pipe() failed");
		return (-1);
	}
	pid = fork();
	if (pid < 0) {
		test_fail(__FILE__, __LINE__, "fork() failed");
		return (-1);
	}
	if (pid == 0) {
		close(fds[0]);
		dup2(fds[1], 2);
		death_child(d);
	}
	close(fds[1]);
	for (;;) {
		if (n + 1 < outlen)
			r = read(fds[0], out + n, outlen - 1 - n);
		else
			r = read(fds[0], scratch, sizeof(scratch));
		if (r <= 0)
			break;
		if (n + 1 < outlen)
			n += (size_t)r;
	}
	out[n] = '\0';
	close(fds[0]);
	if (waitpid(pid, &status, 0) != pid)
		test_fail(__FILE__, __LINE__, "waitpid() failed");
	return (status);
}

static void
test_witness(void)
{
	char out[4096];
	size_t i;
	int st;

	CHECK(witness_register(test_ranks, TEST_NCASES(test_ranks)) == 0);
	/* Again: the same ranks are no change; another rank is refused. */
	CHECK(witness_register(test_ranks, TEST_NCASES(test_ranks)) == 0);
	CHECK(witness_register(
		  &(struct lock_rank) { "test outer", 301, 0 }, 1) == EEXIST);
	CHECK(witness_register(
		  &(struct lock_rank) { "test outer", 300, LOCK_RANK_DUPOK },
		  1) == EEXIST);

	for (i = 0; i < sizeof(deaths) / sizeof(deaths[0]); i++) {
		st = death_fork(&deaths[i], out, sizeof(out));
		if (deaths[i].d_expect == NULL) {
			CHECKF(WIFEXITED(st) && WEXITSTATUS(st) == 0,
			    "%s: child status %#x, stderr: %s",
			    deaths[i].d_name, st, out);
			continue;
		}
		CHECKF(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT,
		    "%s: child status %#x, not killed by SIGABRT; stderr: %s",
		    deaths[i].d_name, st, out);
		CHECKF(strstr(out, "vmlab: panic: ") != NULL,
		    "%s: no panic message; stderr: %s", deaths[i].d_name, out);
		CHECKF(strstr(out, deaths[i].d_expect) != NULL,
		    "%s: panic message lacks \"%s\"; stderr: %s",
		    deaths[i].d_name, deaths[i].d_expect, out);
	}
}
#else
static void
test_witness(void)
{
	/* No lock-order checker without VM_INVARIANTS. */
}
#endif

/*
 * docs/LOCKING.md against the registrations: after a boot every library
 * subsystem has registered its ranks; the rank table of the document
 * (the rows after "Ranks (outer first)") must list exactly those, with
 * the same ranks, besides this program's own.
 */
struct doc_rank {
	char dr_name[64];
	int dr_rank;
	bool dr_seen;
};

#define DOC_MAXRANKS 64

struct doc_ranks {
	struct doc_rank dr[DOC_MAXRANKS];
	int n;
};

static void
doc_ranks_read(struct doc_ranks *d)
{
	char line[512], *name, *end;
	FILE *f = fopen(VMLAB_SOURCE_DIR "/docs/LOCKING.md", "r");
	bool in = false, table = false;

	d->n = 0;
	CHECKF(
	    f != NULL, "cannot open %s", VMLAB_SOURCE_DIR "/docs/LOCKING.md");
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "Ranks (outer first)", 19) == 0)
			in = true;
		if (!in)
			continue;
		if (line[0] != '|') {
			if (table)
				break;
			continue;
		}
		table = true;
		name = strchr(line, '`');
		end = name != NULL ? strchr(name + 1, '`') : NULL;
		if (name == NULL || end == NULL || d->n == DOC_MAXRANKS ||
		    end - name - 1 >= (long)sizeof(d->dr[0].dr_name))
			continue; /* the header and its rule */
		*end = '\0';
		snprintf(d->dr[d->n].dr_name, sizeof(d->dr[0].dr_name), "%s",
		    name + 1);
		d->dr[d->n].dr_rank = atoi(line + 1);
		d->dr[d->n].dr_seen = false;
		d->n++;
	}
	fclose(f);
}

static int
doc_rank_check(const struct lock_rank *r, void *arg)
{
	struct doc_ranks *d = arg;
	size_t k;
	int i;

	for (k = 0; k < sizeof(test_ranks) / sizeof(test_ranks[0]); k++)
		if (strcmp(test_ranks[k].lr_name, r->lr_name) == 0)
			return (0);
	for (i = 0; i < d->n; i++)
		if (strcmp(d->dr[i].dr_name, r->lr_name) == 0)
			break;
	CHECKF(i < d->n,
	    "lock '%s' (rank %d) is registered but not in "
	    "docs/LOCKING.md",
	    r->lr_name, r->lr_rank);
	if (i == d->n)
		return (0);
	d->dr[i].dr_seen = true;
	CHECKF(d->dr[i].dr_rank == r->lr_rank,
	    "lock '%s': rank %d registered, %d in docs/LOCKING.md", r->lr_name,
	    r->lr_rank, d->dr[i].dr_rank);
	return (0);
}

static void
test_lock_ranks_doc(void)
{
	struct doc_ranks d;
	int i;

	doc_ranks_read(&d);
	CHECKF(d.n >= 10, "only %d ranks read from docs/LOCKING.md", d.n);
	test_boot(2, NULL);
	(void)witness_rank_foreach(doc_rank_check, &d);
	test_shutdown();
	for (i = 0; i < d.n; i++)
		CHECKF(d.dr[i].dr_seen,
		    "docs/LOCKING.md ranks '%s' (%d), which no subsystem "
		    "registers",
		    d.dr[i].dr_name, d.dr[i].dr_rank);
}

/*
 * Mutual exclusion with exclusive holders.
 *
 * Locking key: (l) mx_lock; (a) atomic; (c) constant.
 */
static const char *const mx_names[LK_NKINDS] = { "test mx mtx", "test mx spin",
	"test mx qmtx", "test mx rw", "test mx sx", "test mx lockmgr" };

struct mx_state {
	struct tlock mx_lock;
	uint64_t mx_counter;  /* (l) */
	uint32_t mx_inside;   /* (a) holders right now */
	uint32_t mx_overlaps; /* (a) times a holder met another */
	uint32_t mx_iters;    /* (c) per thread */
};

struct mx_arg {
	struct mx_state *ma_s;
	uint64_t ma_rng;
};

static void
mx_thread(void *arg)
{
	struct mx_arg *ma = arg;
	struct mx_state *s = ma->ma_s;
	uint32_t i;

	for (i = 0; i < s->mx_iters; i++) {
		tl_xlock(&s->mx_lock);
		if (atomic_fetchadd_int(&s->mx_inside, 1) != 0)
			atomic_fetchadd_int(&s->mx_overlaps, 1);
		s->mx_counter++;
		cs_dawdle(s->mx_lock.tl_kind, &ma->ma_rng);
		atomic_fetchadd_int(&s->mx_inside, (uint32_t)-1);
		tl_xunlock(&s->mx_lock);
	}
}

static void
mutual_exclusion(int kind, int ncpus)
{
	struct mx_state s;
	struct mx_arg *args;
	struct lock_prof_row row;
	int i, n = test_sanitizer() ? 6 : 8;
	uint64_t expect;

	memset(&s, 0, sizeof(s));
	/*
	 * Waiters on qmtx, sx and lockmgr always sleep, so each contended
	 * acquisition costs a wakeup and a context switch or two, each of
	 * which may wait for another CPU's host thread: fewer.
	 */
	s.mx_iters = lk_sleepable(kind) ? 500 : 10000;
	if (test_sanitizer())
		s.mx_iters /= 10;
	expect = (uint64_t)n * s.mx_iters;
	args = calloc((size_t)n, sizeof(*args));
	for (i = 0; i < n; i++) {
		args[i].ma_s = &s;
		args[i].ma_rng = test_seed() * 7 + (uint64_t)(i + ncpus * 100);
	}
	test_boot(ncpus, NULL);
	tl_init(&s.mx_lock, kind, mx_names[kind]);
	spawn_run(n, mx_thread, args, sizeof(*args));
	CHECKF(s.mx_counter == expect,
	    "%s, %d CPUs: counter %llu, expected %llu", lk_class[kind], ncpus,
	    (unsigned long long)s.mx_counter, (unsigned long long)expect);
	CHECKF(s.mx_overlaps == 0, "%s, %d CPUs: %u times two holders",
	    lk_class[kind], ncpus, s.mx_overlaps);
	if (prof_row(mx_names[kind], lk_class[kind], &row)) {
		CHECKF(row.lpr_acquisitions == expect,
		    "%s, %d CPUs: profile has %llu acquisitions, we made %llu",
		    lk_class[kind], ncpus,
		    (unsigned long long)row.lpr_acquisitions,
		    (unsigned long long)expect);
		CHECKF(row.lpr_wait_total_ns >= row.lpr_wait_max_ns,
		    "%s: wait total %llu < max %llu", lk_class[kind],
		    (unsigned long long)row.lpr_wait_total_ns,
		    (unsigned long long)row.lpr_wait_max_ns);
	} else
		test_fail(__FILE__, __LINE__, "no profile row '%s' (%s)",
		    mx_names[kind], lk_class[kind]);
	tl_destroy(&s.mx_lock);
	test_shutdown();
	free(args);
}

static void
test_mutual_exclusion(void)
{
	int kind;

	for (kind = 0; kind < LK_NKINDS; kind++) {
		mutual_exclusion(kind, 2);
		mutual_exclusion(kind, 4);
	}
}

/*
 * Readers and writers.  Readers check that no writer is inside and that
 * the counter does not move under them; writers that nobody else is.
 *
 * Locking key: (l) rd_lock; (a) atomic; (c) constant.
 */
static const char *const rd_names[LK_NKINDS] = { NULL, NULL, NULL, "test rd rw",
	"test rd sx", "test rd lockmgr" };

struct rd_state {
	struct tlock rd_lock;
	uint64_t rd_counter;	/* (l) */
	uint32_t rd_writers;	/* (a) writers inside */
	uint32_t rd_readers;	/* (a) readers inside */
	uint32_t rd_maxreaders; /* (a) */
	uint32_t rd_bad;	/* (a) */
	uint32_t rd_iters;	/* (c) per thread */
	uint64_t rd_nread;	/* (a) shared acquisitions */
	uint64_t rd_nwrite;	/* (a) exclusive acquisitions */
};

struct rd_arg {
	struct rd_state *ra_s;
	uint64_t ra_rng;
	bool ra_writer;
};

static void
rd_read(struct rd_arg *ra)
{
	struct rd_state *s = ra->ra_s;
	uint32_t n, max;
	uint64_t v;

	tl_slock(&s->rd_lock);
	n = atomic_fetchadd_int(&s->rd_readers, 1) + 1;
	max = atomic_load_int(&s->rd_maxreaders);
	while (n > max && !atomic_fcmpset_int(&s->rd_maxreaders, &max, n))
		;
	if (atomic_load_int(&s->rd_writers) != 0)
		atomic_fetchadd_int(&s->rd_bad, 1);
	v = s->rd_counter;
	cs_dawdle(s->rd_lock.tl_kind, &ra->ra_rng);
	if (s->rd_counter != v || atomic_load_int(&s->rd_writers) != 0)
		atomic_fetchadd_int(&s->rd_bad, 1);
	atomic_fetchadd_int(&s->rd_readers, (uint32_t)-1);
	tl_sunlock(&s->rd_lock);
	atomic_fetchadd_64(&s->rd_nread, 1);
}

static void
rd_write(struct rd_arg *ra)
{
	struct rd_state *s = ra->ra_s;

	tl_xlock(&s->rd_lock);
	if (atomic_fetchadd_int(&s->rd_writers, 1) != 0 ||
	    atomic_load_int(&s->rd_readers) != 0)
		atomic_fetchadd_int(&s->rd_bad, 1);
	s->rd_counter++;
	cs_dawdle(s->rd_lock.tl_kind, &ra->ra_rng);
	if (atomic_load_int(&s->rd_readers) != 0)
		atomic_fetchadd_int(&s->rd_bad, 1);
	atomic_fetchadd_int(&s->rd_writers, (uint32_t)-1);
	tl_xunlock(&s->rd_lock);
	atomic_fetchadd_64(&s->rd_nwrite, 1);
}

static void
rd_thread(void *arg)
{
	struct rd_arg *ra = arg;
	uint32_t i;

	for (i = 0; i < ra->ra_s->rd_iters; i++) {
		/* Writers write 1 time in 4; readers only read. */
		if (ra->ra_writer && test_rand(&ra->ra_rng) % 4 == 0)
			rd_write(ra);
		else
			rd_read(ra);
	}
}

static void
readers_writers(int kind, int ncpus)
{
	struct rd_state s;
	struct rd_arg *args;
	struct lock_prof_row row;
	int i, n = test_sanitizer() ? 6 : 12;

	memset(&s, 0, sizeof(s));
	/* As in mutual_exclusion(): fewer rounds for sleeping waiters. */
	s.rd_iters = lk_sleepable(kind) ? 1500 : 5000;
	if (test_sanitizer())
		s.rd_iters /= 10;
	args = calloc((size_t)n, sizeof(*args));
	for (i = 0; i < n; i++) {
		args[i].ra_s = &s;
		args[i].ra_rng = test_seed() * 11 + (uint64_t)(i + ncpus * 100);
		args[i].ra_writer = (i % 3) == 0;
	}
	test_boot(ncpus, NULL);
	tl_init(&s.rd_lock, kind, rd_names[kind]);
	spawn_run(n, rd_thread, args, sizeof(*args));
	CHECKF(s.rd_bad == 0, "%s, %d CPUs: %u exclusion failures",
	    lk_class[kind], ncpus, s.rd_bad);
	CHECKF(s.rd_counter == s.rd_nwrite, "%s: counter %llu, %llu writes",
	    lk_class[kind], (unsigned long long)s.rd_counter,
	    (unsigned long long)s.rd_nwrite);
	CHECK(s.rd_nread + s.rd_nwrite == (uint64_t)n * s.rd_iters);
	if (prof_row(rd_names[kind], lk_class[kind], &row))
		CHECKF(row.lpr_acquisitions == s.rd_nread + s.rd_nwrite,
		    "%s, %d CPUs: profile has %llu acquisitions, we made %llu",
		    lk_class[kind], ncpus,
		    (unsigned long long)row.lpr_acquisitions,
		    (unsigned long long)(s.rd_nread + s.rd_nwrite));
	else
		test_fail(
		    __FILE__, __LINE__, "no profile row '%s'", rd_names[kind]);
	tl_destroy(&s.rd_lock);
	test_shutdown();
	free(args);
}

static void
test_readers_writers(void)
{
	int kind;

	for (kind = 0; kind < LK_NKINDS; kind++) {
		if (!lk_has_shared(kind))
			continue;
		readers_writers(kind, 2);
		readers_writers(kind, 4);
	}
}

/*
 * Readers share.  A (CPU 0) and B (CPU 1) take the lock shared and wait,
 * holding it, until both are in: a lock that did not share would leave
 * one of them blocked.  Then writer C (CPU 2) tries; it must not get the
 * lock before both readers release it.
 *
 * The readers hold on while C tries.  On the host for 2 ms, which a late
 * host thread may outlast.  On the simulated machine exactly: a lock that
 * wrongly let C in would do so within TEST_SIM_LATENCY_NS of C's try,
 * which came before the readers saw sh_ctrying, so they hold on until
 * TEST_SIM_LATENCY_NS after that and look; and C must get the lock
 * within TEST_SIM_LATENCY_NS after the last reader released it.
 */
struct sh_state {
	struct tlock sh_lock;
	uint32_t sh_in;	       /* (a) readers holding */
	uint32_t sh_both;      /* (a) times a reader saw the other inside */
	uint32_t sh_ctrying;   /* (a) */
	uint32_t sh_cgot;      /* (a) */
	uint32_t sh_cearly;    /* (a) C held while a reader did */
	uint32_t sh_nrel;      /* (a) readers that released */
	uint64_t sh_rel_at[2]; /* virtual time each reader released */
	uint64_t sh_cgot_at;   /* virtual time C got the lock */
};

/* Spins (the holder of an rw read lock may not sleep) until *p >= v. */
static bool
spin_for(const uint32_t *p, uint32_t v)
{
	uint64_t deadline = md_nanotime() + WAIT_NS;

	while (atomic_load_acq_int(p) < v) {
		if (md_nanotime() > deadline)
			return (false);
		md_spin_wait(p);
	}
	return (true);
}

static void
sh_reader(void *arg)
{
	struct sh_state *s = arg;
	uint64_t t, hold;
	uint32_t i;

	tl_slock(&s->sh_lock);
	atomic_fetchadd_int(&s->sh_in, 1);
	if (spin_for(&s->sh_in, 2))
		atomic_fetchadd_int(&s->sh_both, 1);
	CHECK(spin_for(&s->sh_ctrying, 1));
	/* C is trying: give it time to get in wrongly. */
	t = md_nanotime();
	hold = test_sim() ? TEST_SIM_LATENCY_NS : 2 * MS;
	while (md_nanotime() - t < hold)
		md_spin_wait(&s->sh_cgot);
	if (atomic_load_acq_int(&s->sh_cgot) != 0)
		atomic_fetchadd_int(&s->sh_cearly, 1);
	t = md_nanotime();
	i = atomic_fetchadd_int(&s->sh_nrel, 1);
	if (i < 2)
		s->sh_rel_at[i] = t;
	tl_sunlock(&s->sh_lock);
}

static void
sh_writer(void *arg)
{
	struct sh_state *s = arg;

	/* Both readers hold the lock (or gave up waiting for each other). */
	CHECK(spin_for(&s->sh_in, 2));
	atomic_store_rel_int(&s->sh_ctrying, 1);
	tl_xlock(&s->sh_lock);
	s->sh_cgot_at = md_nanotime();
	/* Release: sh_cgot_at before the flag. */
	atomic_store_rel_int(&s->sh_cgot, 1);
	tl_xunlock(&s->sh_lock);
}

static void
sh_main(void *arg)
{
	struct sh_state *s = arg;
	struct thread *tds[3];
	int i;

	for (i = 0; i < 3; i++)
		CHECK(kthread_create(i < 2 ? sh_reader : sh_writer, s, i,
			  KTHR_BOUND | KTHR_JOINABLE, &tds[i], "sh%d", i) == 0);
	for (i = 0; i < 3; i++)
		kthread_join(tds[i]);
}

static void
test_readers_share(void)
{
	struct sh_state s;
	char what[64];
	int kind;

	for (kind = 0; kind < LK_NKINDS; kind++) {
		if (!lk_has_shared(kind))
			continue;
		memset(&s, 0, sizeof(s));
		test_boot(4, NULL);
		tl_init(&s.sh_lock, kind, "test share");
		test_run(sh_main, &s);
		tl_destroy(&s.sh_lock);
		test_shutdown();
		CHECKF(s.sh_both == 2, "%s: readers did not share the lock",
		    lk_class[kind]);
		CHECKF(s.sh_cearly == 0 && s.sh_cgot == 1,
		    "%s: writer got the lock %s", lk_class[kind],
		    s.sh_cgot == 0 ? "never" : "while readers held it");
		if (!test_sim() || s.sh_cgot != 1 || s.sh_nrel != 2)
			continue;
		snprintf(what, sizeof(what), "%s: the writer got the lock",
		    lk_class[kind]);
		CHECK_WITHIN(what, s.sh_cgot_at, "the last reader released it",
		    s.sh_rel_at[0] > s.sh_rel_at[1] ? s.sh_rel_at[0]
						    : s.sh_rel_at[1],
		    TEST_SIM_LATENCY_NS);
	}
}

/*
 * The profile of uncontended use: one thread, a known number of
 * acquisitions (shared ones too), no contention.
 */
static const char *const uc_names[LK_NKINDS] = { "test uc mtx", "test uc spin",
	"test uc qmtx", "test uc rw", "test uc sx", "test uc lockmgr" };

#define UC_ITERS 1000

static void
uc_thread(void *arg)
{
	struct tlock *tl = arg;
	int i;

	for (i = 0; i < UC_ITERS; i++) {
		tl_xlock(tl);
		tl_xunlock(tl);
		if (lk_has_shared(tl->tl_kind)) {
			tl_slock(tl);
			tl_sunlock(tl);
		}
	}
}

static void
test_profile_uncontended(void)
{
	struct lock_prof_row row;
	struct tlock tl;
	uint64_t expect;
	int kind;

	test_boot(2, NULL);
	for (kind = 0; kind < LK_NKINDS; kind++) {
		expect = lk_has_shared(kind) ? 2 * UC_ITERS : UC_ITERS;
		tl_init(&tl, kind, uc_names[kind]);
		test_run(uc_thread, &tl);
		if (prof_row(uc_names[kind], lk_class[kind], &row)) {
			CHECKF(row.lpr_acquisitions == expect,
			    "%s: %llu acquisitions, we made %llu",
			    lk_class[kind],
			    (unsigned long long)row.lpr_acquisitions,
			    (unsigned long long)expect);
			CHECKF(row.lpr_contentions == 0 &&
				row.lpr_wait_total_ns == 0,
			    "%s: %llu contentions without contention",
			    lk_class[kind],
			    (unsigned long long)row.lpr_contentions);
		} else
			test_fail(__FILE__, __LINE__, "no profile row '%s'",
			    uc_names[kind]);
		/* Destroyed locks keep their count in the profile. */
		tl_destroy(&tl);
		if (prof_row(uc_names[kind], lk_class[kind], &row))
			CHECKF(row.lpr_acquisitions == expect,
			    "%s: %llu acquisitions after destroy",
			    lk_class[kind],
			    (unsigned long long)row.lpr_acquisitions);
		else
			test_fail(__FILE__, __LINE__,
			    "no profile row '%s' after destroy",
			    uc_names[kind]);
	}
	test_shutdown();
}

/* Threads asleep on sub-queue 0 of `chan'. */
static uint32_t
sleepers(const void *chan)
{
	uint32_t n;

	sleepq_lock(chan);
	n = sleepq_count(chan, 0);
	sleepq_release(chan);
	return (n);
}

/* Threads asleep waiting for lock `lk' (see TS_WCHAN in sleepq.h). */
static uint32_t
lock_sleepers(const void *lk)
{
	return (sleepers(lk) + sleepers(TS_WCHAN(lk)));
}

/*
 * The profile of contended use.  In each round A (CPU 0) takes the lock
 * and B (CPU 1) tries to; A releases only once B is surely waiting: for
 * locks whose waiters sleep, once B sleeps on the lock; for the others,
 * after holding it a while longer (B spins).  Rounds go on until the
 * profile shows contention (a spinning B could, in principle, be late
 * every time: at most CT_MAXROUNDS).
 */
static const char *const ct_names[LK_NKINDS] = { "test ct mtx", "test ct spin",
	"test ct qmtx", "test ct rw", "test ct sx", "test ct lockmgr" };

#define CT_MAXROUNDS 100

struct ct_state {
	struct tlock ct_lock;
	uint32_t ct_held;   /* (a) rounds in which A holds the lock */
	uint32_t ct_trying; /* (a) rounds in which B tries */
	uint32_t ct_done;   /* (a) rounds B finished */
	uint32_t ct_stop;   /* (a) A made its last round */
	uint32_t ct_rounds; /* rounds made */
	uint64_t ct_contentions;
	uint64_t ct_acquisitions;
	uint64_t ct_wait_total;
	bool ct_found;
};

/* Waits for *p >= v, sleeping if `may_sleep', else spinning. */
static bool
ct_wait_for(bool may_sleep, const uint32_t *p, uint32_t v)
{
	uint64_t deadline = md_nanotime() + WAIT_NS;

	while (atomic_load_acq_int(p) < v) {
		if (md_nanotime() > deadline)
			return (false);
		if (may_sleep)
			pause_ns("ctwait", 10 * US);
		else
			md_spin_wait(p);
	}
	return (true);
}

/* Is B waiting on the lock (for the locks whose waiters sleep)? */
static bool
ct_b_asleep(struct ct_state *s)
{
	if (s->ct_lock.tl_kind == LK_LOCKMGR)
		return (lockmgr_waiters(&s->ct_lock.tl_u.lk) == 1);
	return (lock_sleepers(&s->ct_lock.tl_u) == 1);
}

static void
ct_a(void *arg)
{
	struct ct_state *s = arg;
	struct lock_prof_row row;
	int kind = s->ct_lock.tl_kind;
	uint64_t deadline, t;
	uint32_t r;

	memset(&row, 0, sizeof(row));
	for (r = 1; r <= CT_MAXROUNDS; r++) {
		tl_xlock(&s->ct_lock);
		atomic_store_rel_int(&s->ct_held, r);
		/* We hold the lock: sleep only if its holders may. */
		CHECK(ct_wait_for(lk_sleepable(kind), &s->ct_trying, r));
		if (lk_sleepable(kind)) {
			deadline = md_nanotime() + WAIT_NS;
			while (!ct_b_asleep(s) && md_nanotime() < deadline)
				pause_ns("ctsleep", 10 * US);
			CHECKF(ct_b_asleep(s),
			    "%s: B does not sleep on the lock", lk_class[kind]);
		} else {
			t = md_nanotime();
			while (md_nanotime() - t < 200 * US)
				md_spin_wait(&s->ct_trying);
		}
		tl_xunlock(&s->ct_lock);
		CHECK(ct_wait_for(true, &s->ct_done, r));
		s->ct_rounds = r;
		s->ct_found = prof_row(ct_names[kind], lk_class[kind], &row);
		if (s->ct_found && row.lpr_contentions > 0)
			break;
	}
	atomic_store_rel_int(&s->ct_stop, 1);
	atomic_store_rel_int(&s->ct_held, r + 1);
	s->ct_contentions = row.lpr_contentions;
	s->ct_acquisitions = row.lpr_acquisitions;
	s->ct_wait_total = row.lpr_wait_total_ns;
}

static void
ct_b(void *arg)
{
	struct ct_state *s = arg;
	uint32_t r;

	for (r = 1;; r++) {
		CHECK(ct_wait_for(true, &s->ct_held, r));
		if (atomic_load_acq_int(&s->ct_stop) != 0)
			break;
		atomic_store_rel_int(&s->ct_trying, r);
		tl_xlock(&s->ct_lock);
		tl_xunlock(&s->ct_lock);
		atomic_store_rel_int(&s->ct_done, r);
	}
}

static void
ct_main(void *arg)
{
	struct thread *a, *b;

	CHECK(kthread_create(
		  ct_a, arg, 0, KTHR_BOUND | KTHR_JOINABLE, &a, "cta") == 0);
	CHECK(kthread_create(
		  ct_b, arg, 1, KTHR_BOUND | KTHR_JOINABLE, &b, "ctb") == 0);
	kthread_join(a);
	kthread_join(b);
}

static void
test_profile_contended(void)
{
	struct ct_state s;
	int kind;

	for (kind = 0; kind < LK_NKINDS; kind++) {
		memset(&s, 0, sizeof(s));
		test_boot(2, NULL);
		tl_init(&s.ct_lock, kind, ct_names[kind]);
		test_run(ct_main, &s);
		tl_destroy(&s.ct_lock);
		test_shutdown();
		CHECKF(s.ct_found, "no profile row '%s'", ct_names[kind]);
		CHECKF(s.ct_contentions > 0,
		    "%s: no contention in the profile after %u rounds",
		    lk_class[kind], s.ct_rounds);
		CHECKF(s.ct_acquisitions == 2 * (uint64_t)s.ct_rounds,
		    "%s: profile has %llu acquisitions, we made %u",
		    lk_class[kind], (unsigned long long)s.ct_acquisitions,
		    2 * s.ct_rounds);
		/* Sleeping waiters surely waited; spinners may be too quick. */
		if (lk_sleepable(kind))
			CHECKF(s.ct_contentions == s.ct_rounds &&
				s.ct_wait_total > 0,
			    "%s: %llu contentions in %u rounds, waits %llu ns",
			    lk_class[kind],
			    (unsigned long long)s.ct_contentions, s.ct_rounds,
			    (unsigned long long)s.ct_wait_total);
	}
}

/*
 * qmtx FIFO hand-off.  The holder lets waiters queue one at a time (each
 * created only when the previous one sleeps on the lock), so the queue
 * order is known; they must acquire in that order.
 */
#define FIFO_N 16

struct qf_state {
	struct qmtx qf_q;
	uint32_t qf_n;		   /* (q) acquisitions so far */
	uint32_t qf_order[FIFO_N]; /* (q) ids in acquisition order */
};

struct qf_arg {
	struct qf_state *qa_s;
	uint32_t qa_id;
};

static void
qf_waiter(void *arg)
{
	struct qf_arg *qa = arg;
	struct qf_state *s = qa->qa_s;

	qmtx_lock(&s->qf_q);
	s->qf_order[s->qf_n++] = qa->qa_id;
	qmtx_unlock(&s->qf_q);
}

static void
qf_main(void *arg)
{
	struct qf_state *s = arg;
	struct qf_arg args[FIFO_N];
	struct thread *tds[FIFO_N];
	uint64_t deadline;
	uint32_t i;

	qmtx_lock(&s->qf_q);
	for (i = 0; i < FIFO_N; i++) {
		args[i].qa_s = s;
		args[i].qa_id = i;
		CHECK(kthread_create(qf_waiter, &args[i], -1, KTHR_JOINABLE,
			  &tds[i], "qf%u", i) == 0);
		/* The qmtx holder may sleep. */
		deadline = md_nanotime() + WAIT_NS;
		while (lock_sleepers(&s->qf_q) != i + 1 &&
		    md_nanotime() < deadline)
			pause_ns("qfwait", 20 * US);
		CHECKF(lock_sleepers(&s->qf_q) == i + 1,
		    "waiter %u did not queue", i);
	}
	qmtx_unlock(&s->qf_q);
	for (i = 0; i < FIFO_N; i++)
		kthread_join(tds[i]);
}

static void
test_qmtx_fifo(void)
{
	struct qf_state s;
	uint32_t i;

	memset(&s, 0, sizeof(s));
	test_boot(4, NULL);
	qmtx_init(&s.qf_q, "test fifo");
	test_run(qf_main, &s);
	qmtx_destroy(&s.qf_q);
	test_shutdown();
	CHECK(s.qf_n == FIFO_N);
	for (i = 0; i < FIFO_N; i++)
		CHECKF(s.qf_order[i] == i,
		    "acquisition %u went to waiter %u, queued %u-th", i,
		    s.qf_order[i], s.qf_order[i]);
}

/*
 * Draining N waiters.  Everything runs on CPU 1: holder H takes the lock
 * and lets N waiters queue on it; each waiter, once it has the lock,
 * yields while holding it (the others run, and lockmgr's woken waiters
 * find it taken and sleep again), then releases it.  We count the
 * wakeups from H's release until the last waiter is done.
 */
#define DR_N 8

struct dr_state {
	struct tlock dr_lock;
	uint32_t dr_done; /* (a) */
	uint64_t dr_wakeups;
	uint32_t dr_queued;
};

static uint32_t
dr_waiters(struct dr_state *s)
{
	if (s->dr_lock.tl_kind == LK_LOCKMGR)
		return (lockmgr_waiters(&s->dr_lock.tl_u.lk));
	return (lock_sleepers(&s->dr_lock.tl_u.q));
}

static void
dr_waiter(void *arg)
{
	struct dr_state *s = arg;

	tl_xlock(&s->dr_lock);
	kthread_yield();
	tl_xunlock(&s->dr_lock);
	atomic_fetchadd_int(&s->dr_done, 1);
}

static void
dr_holder(void *arg)
{
	struct dr_state *s = arg;
	struct thread *tds[DR_N];
	uint64_t w0;
	int i;

	tl_xlock(&s->dr_lock);
	for (i = 0; i < DR_N; i++) {
		CHECK(kthread_create(dr_waiter, s, curcpu,
			  KTHR_BOUND | KTHR_JOINABLE, &tds[i], "dr%d", i) == 0);
		/* It runs when we yield, until it blocks on the lock. */
		while (dr_waiters(s) != (uint32_t)i + 1)
			kthread_yield();
	}
	s->dr_queued = dr_waiters(s);
	w0 = sleepq_wakeups();
	tl_xunlock(&s->dr_lock);
	while (atomic_load_acq_int(&s->dr_done) != DR_N)
		kthread_yield();
	s->dr_wakeups = sleepq_wakeups() - w0;
	for (i = 0; i < DR_N; i++)
		kthread_join(tds[i]);
}

static void
dr_main(void *arg)
{
	struct thread *td;

	CHECK(kthread_create(dr_holder, arg, 1, KTHR_BOUND | KTHR_JOINABLE, &td,
		  "drholder") == 0);
	kthread_join(td);
}

static uint64_t
drain_wakeups(int kind)
{
	struct dr_state s;

	memset(&s, 0, sizeof(s));
	test_boot(2, NULL);
	tl_init(&s.dr_lock, kind, "test drain");
	test_run(dr_main, &s);
	tl_destroy(&s.dr_lock);
	test_shutdown();
	CHECKF(s.dr_queued == DR_N, "%s: %u waiters queued", lk_class[kind],
	    s.dr_queued);
	CHECK(s.dr_done == DR_N);
	return (s.dr_wakeups);
}

static void
test_drain_wakeups(void)
{
	uint64_t q, lk;

	q = drain_wakeups(LK_QMTX);
	lk = drain_wakeups(LK_LOCKMGR);
	printf("  draining %d waiters: qmtx %llu wakeups, lockmgr %llu\n", DR_N,
	    (unsigned long long)q, (unsigned long long)lk);
	/* qmtx: each release hands over to exactly one waiter. */
	CHECKF(q == DR_N, "qmtx: %llu wakeups to drain %d waiters",
	    (unsigned long long)q, DR_N);
	/* lockmgr: each release wakes everyone still waiting. */
	CHECKF(lk >= DR_N * (DR_N - 1) / 2,
	    "lockmgr: %llu wakeups to drain %d waiters, expected >= %d",
	    (unsigned long long)lk, DR_N, DR_N * (DR_N - 1) / 2);
}

static const struct test_case cases[] = {
	/* First: it forks, which wants a process without threads. */
	TEST_CASE(test_witness),
	TEST_CASE(test_lock_ranks_doc),
	TEST_CASE(test_mutual_exclusion),
	TEST_CASE(test_readers_writers),
	TEST_CASE(test_readers_share),
	TEST_CASE(test_profile_uncontended),
	TEST_CASE(test_profile_contended),
	TEST_CASE(test_qmtx_fifo),
	TEST_CASE(test_drain_wakeups),
};

int
main(int argc, char **argv)
{
	return (test_main(argc, argv, cases, TEST_NCASES(cases)));
}
