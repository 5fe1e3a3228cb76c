#!/bin/sh
# cli_repeat.sh PROGRAM [ARG...]
#
# Runs `PROGRAM ARG...' twice and checks that both runs exit 0 and print
# the same stdout, byte for byte: on the simulated machine a --json run
# (results, rows, counters, lock profile, trace hash) depends on the seed
# only.
set -u
tmp=${TMPDIR:-/tmp}/cli_repeat.$$
trap 'rm -f "$tmp.1" "$tmp.2"' EXIT
"$@" >"$tmp.1" || { echo "cli_repeat: first run failed: $*" >&2; exit 1; }
"$@" >"$tmp.2" || { echo "cli_repeat: second run failed: $*" >&2; exit 1; }
if ! cmp -s "$tmp.1" "$tmp.2"; then
	echo "cli_repeat: two runs of the same seed differ: $*" >&2
	diff "$tmp.1" "$tmp.2" | head -20 >&2
	exit 1
fi
if [ ! -s "$tmp.1" ]; then
	echo "cli_repeat: no output: $*" >&2
	exit 1
fi
echo "cli_repeat: $(wc -c <"$tmp.1") bytes, identical"
