# vmlab: thin wrapper around CMake.  See README.md.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE ?= cmake
CTEST ?= ctest
RUN_ARGS ?= run micro
# `make install': PREFIX is the installed prefix, DESTDIR a staging root.
PREFIX ?= /usr/local
DESTDIR ?=

.PHONY: all run test test-asan test-tsan test-pmap-policies format format-check bench clean release debug install

all: release

define configure
	@mkdir -p build/$(1)
	@cd build/$(1) && $(CMAKE) -S ../.. -B . -DCMAKE_BUILD_TYPE=$(2) $(3) >/dev/null
	@$(CMAKE) --build build/$(1) -j $(JOBS) -- --no-print-directory
endef

release:
	$(call configure,release,Release,)

debug:
	$(call configure,debug,Debug,-DVMLAB_INVARIANTS=ON)

# Release build, then the main job: the micro scenario and its lock profile.
run: release
	./build/release/bin/vmlab $(RUN_ARGS)

# Debug build with invariants, then the whole CTest suite.
test: debug
	cd build/debug && $(CTEST) --output-on-failure -j $(JOBS)

test-asan:
	$(call configure,asan,Debug,-DVMLAB_INVARIANTS=ON -DVMLAB_SANITIZE=asan)
	cd build/asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    VMLAB_TEST_SCALE=sanitizer $(CTEST) --output-on-failure -j $(JOBS)

test-tsan:
	$(call configure,tsan,Debug,-DVMLAB_INVARIANTS=ON -DVMLAB_SANITIZE=tsan)
	cd build/tsan && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	    VMLAB_TEST_SCALE=sanitizer $(CTEST) --output-on-failure -j $(JOBS)

# The whole debug suite once per pv list lock policy and pv chunk LRU
# (make test runs the address-space tests under every pair already).
PMAP_POLICIES = global:global global:domain hashed:global hashed:domain \
    superpage:global superpage:domain
test-pmap-policies: debug
	@for p in $(PMAP_POLICIES); do \
	    lock=$${p%%:*}; lru=$${p##*:}; \
	    echo "== vm.pmap.pv_lock=$$lock vm.pmap.pv_chunk_lru=$$lru"; \
	    (cd build/debug && VMLAB_TEST_TUNABLES="vm.pmap.pv_lock=$$lock vm.pmap.pv_chunk_lru=$$lru" \
	        $(CTEST) --output-on-failure -j $(JOBS) -E '_pv_') || exit 1; \
	done

# Release build of what is installed (the libraries and the CLI) for
# PREFIX, then the libraries, headers, CLI, man pages, example, CMake
# package and vmlab.pc under $(DESTDIR)$(PREFIX).
install:
	@mkdir -p build/release
	@cd build/release && $(CMAKE) -S ../.. -B . -DCMAKE_BUILD_TYPE=Release \
	    -DCMAKE_INSTALL_PREFIX=$(PREFIX) >/dev/null
	@$(CMAKE) --build build/release -j $(JOBS) \
	    --target vmlab vmlab_shared vmlab_cli -- --no-print-directory
	DESTDIR="$(DESTDIR)" $(CMAKE) --install build/release

FORMAT_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null)

format:
	clang-format -i $(FORMAT_FILES)

format-check:
	@clang-format --dry-run --Werror $(FORMAT_FILES) && echo "format-check: ok"

bench: release
	./bench/run.sh

clean:
	rm -rf build
