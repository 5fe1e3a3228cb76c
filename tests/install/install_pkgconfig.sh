#!/bin/sh
# install_pkgconfig.sh: builds the installed example against the
# installed tree only, with the flags pkg-config gives, and runs it:
# linked with the shared library, then with the static one.  Needs the
# tree of install_tree.sh (same environment) and VMLAB_CC (the compiler),
# VMLAB_CFLAGS (extra flags: the sanitizers of this build), VMLAB_WORK (a
# scratch directory).  Exits 77 (CTest: skipped) without pkg-config.
set -u
if ! command -v pkg-config >/dev/null 2>&1; then
	echo "install_pkgconfig: needs pkg-config (Debian: apt-get install" \
	    "pkg-config); skipped"
	exit 77
fi
fail() {
	echo "install_pkgconfig: FAIL: $*"
	exit 1
}

top=$VMLAB_ROOT$VMLAB_PREFIX
lib=$top/$VMLAB_LIBDIR
# The installed tree only: its .pc file, its paths under DESTDIR.
unset PKG_CONFIG_PATH
export PKG_CONFIG_LIBDIR="$lib/pkgconfig"
export PKG_CONFIG_SYSROOT_DIR="$VMLAB_ROOT"
cflags=$(pkg-config --cflags vmlab) || fail "pkg-config --cflags vmlab"
libs=$(pkg-config --libs vmlab) || fail "pkg-config --libs vmlab"
echo "pkg-config --cflags --libs vmlab: $cflags $libs"
case " $cflags " in
*" -I$top/$VMLAB_INCLUDEDIR "*) ;;
*) fail "cflags do not name the installed headers" ;;
esac

rm -rf "$VMLAB_WORK"
mkdir -p "$VMLAB_WORK" || fail "mkdir $VMLAB_WORK"
cd "$VMLAB_WORK" || exit 1
cp "$top/$VMLAB_DOCDIR/examples/embed.c" . || fail "no installed example"
# shellcheck disable=SC2086 # word splitting of flag lists is intended
$VMLAB_CC -std=c11 -Wall -Wextra -Werror $VMLAB_CFLAGS -o embed embed.c \
    $cflags $libs -Wl,-rpath,"$lib" || fail "cannot build embed (shared)"
ldd ./embed | grep -q "$lib/libvmlab.so" ||
    fail "embed does not load the installed libvmlab.so: $(ldd ./embed)"
# shellcheck disable=SC2086
$VMLAB_CC -std=c11 -Wall -Wextra -Werror $VMLAB_CFLAGS -o embed_static \
    embed.c $cflags "$lib/libvmlab.a" $(pkg-config --libs-only-other vmlab) ||
    fail "cannot build embed (static)"
if ldd ./embed_static | grep -q libvmlab; then
	fail "embed_static loads libvmlab.so"
fi
for prog in embed embed_static; do
	./$prog >$prog.out 2>&1
	rc=$?
	cat $prog.out
	[ "$rc" -eq 0 ] || fail "$prog exited with status $rc"
	[ "$(tail -n 1 $prog.out)" = "embed: ok" ] ||
	    fail "$prog did not end with 'embed: ok'"
	grep -q "^domain 1: run of 32 pages" $prog.out ||
	    fail "$prog did not allocate a run in domain 1"
done
echo "install_pkgconfig: ok"
