#!/bin/sh
# cli_plot.sh PROGRAM [ARG...]
#
# Runs `PROGRAM ARG... --plot FILE.png'.  With gnuplot installed the file
# must be a PNG image (and its data file must exist); without it the run
# must say so and print the text plot instead.  Either way it exits 0.
set -u
dir=${TMPDIR:-/tmp}/cli_plot.$$
mkdir -p "$dir"
trap 'rm -rf "$dir"' EXIT
png=$dir/plot.png
"$@" --plot "$png" >"$dir/out" 2>"$dir/err" || {
	echo "cli_plot: the run failed: $*" >&2
	cat "$dir/err" >&2
	exit 1
}
if command -v gnuplot >/dev/null 2>&1; then
	magic=$(head -c 4 "$png" 2>/dev/null | od -An -c | tr -d ' ')
	if [ "$magic" != '211PNG' ]; then
		echo "cli_plot: gnuplot is installed but $png is not a PNG" >&2
		exit 1
	fi
	[ -s "$png.dat" ] || { echo "cli_plot: no data file $png.dat" >&2; exit 1; }
	echo "cli_plot: PNG of $(wc -c <"$png") bytes"
else
	grep -q 'a text plot instead' "$dir/out" || {
		echo "cli_plot: without gnuplot, no text plot and no word why" >&2
		exit 1
	}
	echo "cli_plot: no gnuplot; the text plot was printed"
fi
