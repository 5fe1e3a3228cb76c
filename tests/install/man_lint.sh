#!/bin/sh
# man_lint.sh PAGE...: `mandoc -Tlint' must have nothing to say about the
# pages, at any level (style included), except that a page they refer to
# is not installed on this machine (vmlab(1) and libvmlab(3) refer to each
# other; errno(2) needs manpages-dev) or that its mandoc.db is stale.
# Exits 77 (CTest: skipped) without mandoc.
set -u
if ! command -v mandoc >/dev/null 2>&1; then
	echo "man_lint: needs mandoc (Debian: apt-get install mandoc); skipped"
	exit 77
fi
out=$(mandoc -Tlint "$@" 2>&1 |
    grep -v -e 'referenced manual not found' -e 'mandoc.db')
if [ -n "$out" ]; then
	echo "$out"
	echo "man_lint: FAIL"
	exit 1
fi
echo "man_lint: ok ($*)"
