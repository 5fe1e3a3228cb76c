#!/bin/sh
# install_tree.sh: installs the build tree as `make install DESTDIR=...'
# would, and checks what was installed (CTest fixture for the tests that
# build programs against it).  Environment, set by tests/CMakeLists.txt:
#	VMLAB_CMAKE	cmake			VMLAB_BUILD	the build tree
#	VMLAB_ROOT	DESTDIR (recreated)	VMLAB_PREFIX	the prefix
#	VMLAB_LIBDIR, VMLAB_INCLUDEDIR, VMLAB_BINDIR, VMLAB_MANDIR,
#	VMLAB_DOCDIR	relative install directories
#	VMLAB_SOURCE	the source tree (must not be named by installed files)
# Checks: every file is in place and under ROOT/PREFIX; vmlab.pc names
# PREFIX; no installed header includes a private header; no installed
# build file names src/, the source tree or the build's defines
# (VM_INVARIANTS, VMLAB_ASAN, ...); the shared library exports only
# vmlab_* symbols.
set -u
status=0
fail() {
	echo "install_tree: FAIL: $*"
	status=1
}

top=$VMLAB_ROOT$VMLAB_PREFIX
rm -rf "$VMLAB_ROOT"
if ! DESTDIR=$VMLAB_ROOT "$VMLAB_CMAKE" --install "$VMLAB_BUILD" \
    --prefix "$VMLAB_PREFIX" >"$VMLAB_ROOT.log" 2>&1; then
	cat "$VMLAB_ROOT.log"
	echo "install_tree: FAIL: cmake --install"
	exit 1
fi
echo "installed into DESTDIR=$VMLAB_ROOT, prefix $VMLAB_PREFIX"

lib=$top/$VMLAB_LIBDIR
for f in "$VMLAB_BINDIR/vmlab" \
    "$VMLAB_INCLUDEDIR/vmlab/vmlab.h" "$VMLAB_INCLUDEDIR/vmlab/vmlab_page.h" \
    "$VMLAB_INCLUDEDIR/vmlab/vmlab_sysctl.h" \
    "$VMLAB_INCLUDEDIR/vmlab/vmlab_export.h" \
    "$VMLAB_LIBDIR/libvmlab.a" "$VMLAB_LIBDIR/libvmlab.so" \
    "$VMLAB_LIBDIR/pkgconfig/vmlab.pc" \
    "$VMLAB_LIBDIR/cmake/vmlab/vmlabConfig.cmake" \
    "$VMLAB_LIBDIR/cmake/vmlab/vmlabConfigVersion.cmake" \
    "$VMLAB_LIBDIR/cmake/vmlab/vmlabTargets.cmake" \
    "$VMLAB_MANDIR/man1/vmlab.1" "$VMLAB_MANDIR/man3/libvmlab.3" \
    "$VMLAB_DOCDIR/examples/embed.c" "$VMLAB_DOCDIR/examples/CMakeLists.txt"; do
	[ -e "$top/$f" ] || fail "$f not installed"
done
outside=$(find "$VMLAB_ROOT" -type f | grep -v "^$top/")
[ -z "$outside" ] || fail "installed outside the prefix: $outside"

grep -qx "prefix=$VMLAB_PREFIX" "$lib/pkgconfig/vmlab.pc" ||
    fail "vmlab.pc does not say prefix=$VMLAB_PREFIX"
# Public headers include public headers and the C library only.
bad=$(grep -h '^#include "' "$top/$VMLAB_INCLUDEDIR"/vmlab/*.h |
    grep -v '^#include "vmlab/')
[ -z "$bad" ] || fail "installed headers include private headers: $bad"
bad=$(grep -lE "$VMLAB_SOURCE|$VMLAB_BUILD|/src\b|VM_INVARIANTS|VMLAB_(ASAN|TSAN|VERSION)" \
    "$lib/pkgconfig/vmlab.pc" "$lib"/cmake/vmlab/*.cmake)
[ -z "$bad" ] || fail "build internals in: $bad"

# Only the public API leaves the shared library.
syms=$(nm -D --defined-only "$lib/libvmlab.so" | awk '{ print $NF }')
n=$(echo "$syms" | grep -c .)
others=$(echo "$syms" | grep -v '^vmlab_')
if [ -n "$others" ]; then
	fail "libvmlab.so exports symbols other than vmlab_*:" $others
else
	echo "libvmlab.so exports $n symbols, all vmlab_*"
fi
[ "$status" -eq 0 ] && echo "install_tree: ok"
exit "$status"
