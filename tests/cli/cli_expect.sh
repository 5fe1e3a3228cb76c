#!/bin/sh
# cli_expect.sh STATUS MAXLEN PROGRAM [ARG...]
#
# Runs PROGRAM with the ARGs and checks that it exits with exactly STATUS
# and, for a failure (STATUS != 0), that it prints nothing on stdout and
# exactly one line on stderr, of at most MAXLEN characters.  In an ARG,
# "{LONG}" stands for a word of 10,000 characters.
set -u
status=$1 maxlen=$2 prog=$3
shift 3
long=$(printf '%10000s' '' | tr ' ' x)
tmp=${TMPDIR:-/tmp}/cli_expect.$$
trap 'rm -f "$tmp.out" "$tmp.err"' EXIT
# Rebuild the argument list with {LONG} expanded.
n=$#
while [ "$n" -gt 0 ]; do
	a=$1
	shift
	while :; do
		case $a in
		*"{LONG}"*) a=${a%%"{LONG}"*}$long${a#*"{LONG}"} ;;
		*) break ;;
		esac
	done
	set -- "$@" "$a"
	n=$((n - 1))
done
"$prog" "$@" >"$tmp.out" 2>"$tmp.err"
rc=$?
fail() {
	echo "cli_expect: $*" >&2
	echo "--- stderr:" >&2
	cut -c1-300 "$tmp.err" >&2
	exit 1
}
[ "$rc" -eq "$status" ] || fail "exit status $rc, expected $status"
[ "$status" -eq 0 ] && exit 0
[ -s "$tmp.out" ] && fail "stdout is not empty"
lines=$(wc -l <"$tmp.err")
[ "$lines" -eq 1 ] || fail "$lines lines on stderr, expected 1"
len=$(awk '{ print length($0) }' "$tmp.err")
[ "$len" -le "$maxlen" ] || fail "stderr line of $len characters (at most $maxlen)"
echo "ok: status $rc, one line of $len characters: $(cut -c1-200 "$tmp.err")"
exit 0
