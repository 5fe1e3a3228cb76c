#!/bin/sh
# cli_progress.sh TEXT PROGRAM [ARG...]
#
# The progress line of a long scenario (tools/vmlab/report.c,
# scen_progress()): runs PROGRAM with the ARGs three times and checks
#  1. on a terminal (script(1) runs it on a pseudo-terminal): it exits 0,
#     TEXT appears after a carriage return, and the line is erased
#     (carriage return, blanks, carriage return) before the run's last
#     output;
#  2. with stdout and stderr files, and 3. with stderr a pipe: it exits
#     0 and TEXT and carriage returns appear on neither stream.
# Exits 77 (skipped) when script(1) is missing.
set -u
text=$1
shift
command -v script >/dev/null 2>&1 || {
	echo "cli_progress: no script(1): skipped"
	exit 77
}
tmp=${TMPDIR:-/tmp}/cli_progress.$$
trap 'rm -f "$tmp".*' EXIT
fail() {
	echo "cli_progress: $*" >&2
	for f in "$tmp".tty "$tmp".out "$tmp".err; do
		[ -f "$f" ] || continue
		echo "--- $f:" >&2
		tr '\r' '\n' <"$f" | cut -c1-200 | tail -20 >&2
	done
	exit 1
}
cr=$(printf '\r')

# The command line for script -c, each word in single quotes.
cmd=
for a in "$@"; do
	q=$(printf '%s' "$a" | sed "s/'/'\\\\''/g")
	cmd="$cmd '$q'"
done

# 1. On a terminal.
script -qec "$cmd" /dev/null </dev/null >"$tmp.tty" 2>&1
rc=$?
[ "$rc" -eq 0 ] || fail "on a terminal: exit status $rc"
grep -F -q "$cr$text" "$tmp.tty" ||
	fail "on a terminal: no progress line \"$text\""
# The last progress line is erased before anything else is written: the
# pty ends lines with CR LF; of the other carriage returns, each starts a
# progress line or an erasure (blanks), and the last progress line is
# followed by an erasure, with no newline in between.
sed "s/$cr\$//" "$tmp.tty" >"$tmp.lf"
last=$(awk -v pfx="${text%%:*}: " 'BEGIN { RS = "\r" }
	{ rec[NR] = $0 }
	END {
		for (i = NR; i > 1; i--)
			if (index(rec[i], pfx) == 1) {
				if (index(rec[i], "\n") > 0)
					print "written over"
				else if (i < NR && rec[i + 1] ~ /^ +$/)
					print "erased"
				else
					print "shown"
				exit
			}
		print "none"
	}' "$tmp.lf")
[ "$last" = erased ] ||
	fail "on a terminal: the last progress line is not erased ($last)"

# 2. Standard output and error are files.
"$@" >"$tmp.out" 2>"$tmp.err"
rc=$?
[ "$rc" -eq 0 ] || fail "to files: exit status $rc"
for f in "$tmp.out" "$tmp.err"; do
	grep -F -q "$text" "$f" && fail "to files: progress text in $f"
	grep -q "$cr" "$f" && fail "to files: carriage return in $f"
done

# 3. Standard error is a pipe.
rm -f "$tmp.out" "$tmp.err"
("$@" 2>&1 >"$tmp.out"; echo $? >"$tmp.rc") | cat >"$tmp.err"
rc=$(cat "$tmp.rc")
[ "$rc" -eq 0 ] || fail "stderr a pipe: exit status $rc"
grep -F -q "$text" "$tmp.err" && fail "stderr a pipe: progress text on stderr"
grep -q "$cr" "$tmp.err" && fail "stderr a pipe: carriage return on stderr"
echo "ok: \"$text\" on a terminal only"
exit 0
