#!/bin/sh
# cli_seed.sh PROGRAM [ARG...]
#
# Runs `PROGRAM ARG... --seed S' for S = 2, 99 and 2 again and compares
# the rows of the tables they print (lines "N | ..."): seed 2 must give the
# same rows twice (run it on the simulated machine) and seed 99 others.
set -u
rows() {
	"$@" | grep -E '^ *[0-9]+ \|' || { echo "cli_seed: no table rows from: $*" >&2; exit 1; }
}
a=$(rows "$@" --seed 2) || exit 1
b=$(rows "$@" --seed 99) || exit 1
c=$(rows "$@" --seed 2) || exit 1
if [ "$a" != "$c" ]; then
	echo "cli_seed: seed 2 gave different rows in two runs" >&2
	printf '%s\n---\n%s\n' "$a" "$c" >&2
	exit 1
fi
if [ "$a" = "$b" ]; then
	echo "cli_seed: seeds 2 and 99 gave the same rows" >&2
	printf '%s\n' "$a" >&2
	exit 1
fi
echo "ok: seed 2 twice the same, seed 99 different"
