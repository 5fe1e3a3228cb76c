/*
 * md_ctx.c: execution contexts (kernel-thread stacks and switching), shared
 * by both backends.
 *
 * Stacks are carved from chunks of MD_STACKS_PER_CHUNK stacks, each one
 * anonymous MAP_NORESERVE mapping, so memory is committed only where a
 * stack is touched.  Layout of one stack slot (addresses grow upward):
 *
 *	[ guard page | usable stack (stacksize bytes) ]
 *
 * The guard page is installed with MADV_GUARD_INSTALL (Linux 6.13 and
 * later), which costs no VMA, so 100,000 stacks fit under the default
 * vm.max_map_count.  Where the kernel lacks it we fall back to mprotect()
 * (one VMA per guard) and, once half of the map budget is used, to
 * guard-less stacks whose lowest word holds a canary checked at every
 * switch.  Free stacks of the default size are kept on md_stack_free and
 * reused; chunks are unmapped at md_ctx_fini().
 *
 * Invariant: md_stacks_live + (stacks on md_stack_free) ==
 * MD_STACKS_PER_CHUNK * md_nchunks (for default-size stacks).
 *
 * Locking key: (s) md_stack_mtx.
 */
#include "md/md.h"
#include "md/md_backend.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifdef VMLAB_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#ifdef VMLAB_TSAN
#include <sanitizer/tsan_interface.h>
#endif

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif

#define MD_STACKS_PER_CHUNK 64
#define MD_GUARD_SIZE 4096
#define MD_STACK_CANARY 0x5afe57acc0ffee11ull

#ifdef VMLAB_ASAN
#define MD_STACK_DEFAULT (128 * 1024)
#elif defined(VMLAB_TSAN)
#define MD_STACK_DEFAULT (64 * 1024)
#else
#define MD_STACK_DEFAULT (32 * 1024)
#endif

struct md_stack_chunk {
	struct md_stack_chunk *sc_next;
	void *sc_map;
	size_t sc_mapsize;
};

struct md_stack_free {
	struct md_stack_free *sf_next;
};

void md_ctx_swap(void **save_sp, void *new_sp);
void md_ctx_trampoline(void);
void md_ctx_entry(struct md_ctx *ctx);

static pthread_mutex_t md_stack_mtx = PTHREAD_MUTEX_INITIALIZER;
static struct md_stack_chunk *md_chunks;    /* (s) */
static struct md_stack_free *md_stack_free; /* (s) */
static uint64_t md_nchunks;		    /* (s) */
static uint64_t md_stacks_live;		    /* (s) */
static int md_guard_mode = -1; /* (s) 0 madvise, 1 mprotect, 2 canary */
static long md_guard_vmas;     /* (s) VMAs spent on mprotect guards */

size_t
md_ctx_default_stacksize(void)
{
	return (MD_STACK_DEFAULT);
}

uint64_t
md_ctx_stack_bytes(void)
{
	uint64_t n;

	pthread_mutex_lock(&md_stack_mtx);
	n = md_nchunks * MD_STACKS_PER_CHUNK *
	    (MD_STACK_DEFAULT + MD_GUARD_SIZE);
	pthread_mutex_unlock(&md_stack_mtx);
	return (n);
}

static long
md_map_budget(void)
{
	/* Half of the default vm.max_map_count. */
	return (65530 / 2);
}

/* Makes the page at `guard' inaccessible.  Called with md_stack_mtx. */
static void
md_guard_install(char *guard)
{
	if (md_guard_mode == -1)
		md_guard_mode =
		    madvise(guard, MD_GUARD_SIZE, MADV_GUARD_INSTALL) == 0 ? 0
									   : 1;
	else if (md_guard_mode == 0)
		(void)madvise(guard, MD_GUARD_SIZE, MADV_GUARD_INSTALL);
	if (md_guard_mode == 1) {
		if (md_guard_vmas >= md_map_budget())
			md_guard_mode = 2;
		else if (mprotect(guard, MD_GUARD_SIZE, PROT_NONE) == 0)
			md_guard_vmas += 2;
	}
}

/* Maps a new chunk of default-size stacks.  Called with md_stack_mtx. */
static int
md_stack_chunk_new(void)
{
	struct md_stack_chunk *sc;
	struct md_stack_free *sf;
	size_t slot = MD_STACK_DEFAULT + MD_GUARD_SIZE;
	char *map;
	int i;

	sc = malloc(sizeof(*sc));
	if (sc == NULL)
		return (ENOMEM);
	sc->sc_mapsize = slot * MD_STACKS_PER_CHUNK;
	map = mmap(NULL, sc->sc_mapsize, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (map == MAP_FAILED) {
		free(sc);
		return (ENOMEM);
	}
	sc->sc_map = map;
	sc->sc_next = md_chunks;
	md_chunks = sc;
	md_nchunks++;
	for (i = MD_STACKS_PER_CHUNK - 1; i >= 0; i--) {
		md_guard_install(map + slot * (size_t)i);
		sf = (struct md_stack_free *)(map + slot * (size_t)i +
		    MD_GUARD_SIZE);
		sf->sf_next = md_stack_free;
		md_stack_free = sf;
	}
	return (0);
}

static void *
md_stack_alloc(void)
{
	struct md_stack_free *sf;

	pthread_mutex_lock(&md_stack_mtx);
	if (md_stack_free == NULL && md_stack_chunk_new() != 0) {
		pthread_mutex_unlock(&md_stack_mtx);
		return (NULL);
	}
	sf = md_stack_free;
	md_stack_free = sf->sf_next;
	md_stacks_live++;
	pthread_mutex_unlock(&md_stack_mtx);
	return (sf);
}

static void
md_stack_release(void *stack)
{
	struct md_stack_free *sf = stack;

#ifdef VMLAB_ASAN
	/* The dead context's frames may still be poisoned. */
	__asan_unpoison_memory_region(stack, MD_STACK_DEFAULT);
#endif
	pthread_mutex_lock(&md_stack_mtx);
	sf->sf_next = md_stack_free;
	md_stack_free = sf;
	md_stacks_live--;
	pthread_mutex_unlock(&md_stack_mtx);
}

void
md_ctx_fini(void)
{
	struct md_stack_chunk *sc;

	pthread_mutex_lock(&md_stack_mtx);
	if (md_stacks_live != 0)
		md_panic("md_ctx_fini: %llu stacks still in use",
		    (unsigned long long)md_stacks_live);
	while ((sc = md_chunks) != NULL) {
		md_chunks = sc->sc_next;
		munmap(sc->sc_map, sc->sc_mapsize);
		free(sc);
	}
	md_stack_free = NULL;
	md_nchunks = 0;
	md_guard_vmas = 0;
	pthread_mutex_unlock(&md_stack_mtx);
}

int
md_ctx_create(
    struct md_ctx *ctx, size_t stacksize, void (*entry)(void *), void *arg)
{
	uintptr_t *sp;
	char *stack;

	if (stacksize > MD_STACK_DEFAULT)
		return (EINVAL);
	stack = md_stack_alloc();
	if (stack == NULL)
		return (ENOMEM);
	memset(ctx, 0, sizeof(*ctx));
	ctx->ctx_stack = stack;
	ctx->ctx_stacksize = MD_STACK_DEFAULT;
	ctx->ctx_entry = entry;
	ctx->ctx_arg = arg;
	*(uint64_t *)stack = MD_STACK_CANARY;
	/* Initial frame for md_ctx_swap(); see md_ctx_*.S. */
	sp = (uintptr_t *)(stack + MD_STACK_DEFAULT);
#if defined(__x86_64__)
	sp -= 7;
	memset(sp, 0, 7 * sizeof(*sp));
	sp[3] = (uintptr_t)ctx;		      /* r12 */
	sp[6] = (uintptr_t)md_ctx_trampoline; /* return address */
#elif defined(__aarch64__)
	sp -= 22;
	memset(sp, 0, 22 * sizeof(*sp));
	sp[0] = (uintptr_t)ctx;		       /* x19 */
	sp[11] = (uintptr_t)md_ctx_trampoline; /* x30 */
#endif
	ctx->ctx_sp = sp;
#ifdef VMLAB_TSAN
	ctx->ctx_tsan_fiber = __tsan_create_fiber(0);
#endif
	return (0);
}

void
md_ctx_self_host(struct md_ctx *ctx)
{
	pthread_attr_t attr;
	size_t size = 0;
	void *addr = NULL;

	memset(ctx, 0, sizeof(*ctx));
	ctx->ctx_self = true;
	if (pthread_getattr_np(pthread_self(), &attr) == 0) {
		pthread_attr_getstack(&attr, &addr, &size);
		pthread_attr_destroy(&attr);
	}
	ctx->ctx_stack = addr;
	ctx->ctx_stacksize = size;
#ifdef VMLAB_TSAN
	ctx->ctx_tsan_fiber = __tsan_get_current_fiber();
#endif
}

void
md_ctx_destroy(struct md_ctx *ctx)
{
	if (ctx->ctx_self || ctx->ctx_stack == NULL)
		return;
#ifdef VMLAB_TSAN
	__tsan_destroy_fiber(ctx->ctx_tsan_fiber);
#endif
	md_stack_release(ctx->ctx_stack);
	ctx->ctx_stack = NULL;
}

/* First C code run on a new context. */
void
md_ctx_entry(struct md_ctx *ctx)
{
#ifdef VMLAB_ASAN
	__sanitizer_finish_switch_fiber(NULL, NULL, NULL);
#endif
	ctx->ctx_entry(ctx->ctx_arg);
	md_panic(
	    "md_ctx_entry: context entry %p returned", (void *)ctx->ctx_entry);
}

void
md_ctx_swap_raw(struct md_ctx *from, struct md_ctx *to, bool from_dying)
{
	if (!from->ctx_self && from->ctx_stack != NULL &&
	    *(uint64_t *)from->ctx_stack != MD_STACK_CANARY)
		md_panic(
		    "md_ctx_switch: stack overflow below %p", from->ctx_stack);
#ifdef VMLAB_ASAN
	__sanitizer_start_switch_fiber(from_dying ? NULL : &from->ctx_asan_fake,
	    to->ctx_stack, to->ctx_stacksize);
#else
	(void)from_dying;
#endif
#ifdef VMLAB_TSAN
	__tsan_switch_to_fiber(to->ctx_tsan_fiber, 0);
#endif
	md_ctx_swap(&from->ctx_sp, to->ctx_sp);
#ifdef VMLAB_ASAN
	__sanitizer_finish_switch_fiber(from->ctx_asan_fake, NULL, NULL);
#endif
}
