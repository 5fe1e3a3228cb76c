#!/bin/sh
# install_cmake.sh: builds the installed example's CMake project against
# the installed tree (find_package(vmlab) through CMAKE_PREFIX_PATH), once
# with vmlab::vmlab and once with vmlab::vmlab_static, and runs it.  Same
# environment as install_pkgconfig.sh, plus VMLAB_CMAKE.
set -u
fail() {
	echo "install_cmake: FAIL: $*"
	exit 1
}

top=$VMLAB_ROOT$VMLAB_PREFIX
rm -rf "$VMLAB_WORK"
mkdir -p "$VMLAB_WORK" || fail "mkdir $VMLAB_WORK"
for static in OFF ON; do
	b=$VMLAB_WORK/static-$static
	"$VMLAB_CMAKE" -S "$top/$VMLAB_DOCDIR/examples" -B "$b" \
	    -DCMAKE_PREFIX_PATH="$top" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF \
	    -DCMAKE_C_COMPILER="$VMLAB_CC" -DCMAKE_C_FLAGS="$VMLAB_CFLAGS" \
	    -DVMLAB_STATIC=$static >"$b.log" 2>&1 ||
	    { cat "$b.log"; fail "configure (static $static)"; }
	"$VMLAB_CMAKE" --build "$b" >>"$b.log" 2>&1 ||
	    { cat "$b.log"; fail "build (static $static)"; }
	"$b/embed" >"$b.out" 2>&1
	rc=$?
	cat "$b.out"
	[ "$rc" -eq 0 ] || fail "embed (static $static) exited with status $rc"
	[ "$(tail -n 1 "$b.out")" = "embed: ok" ] ||
	    fail "embed (static $static) did not end with 'embed: ok'"
done
echo "install_cmake: ok"
