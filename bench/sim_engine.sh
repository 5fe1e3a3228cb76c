#!/usr/bin/env bash
# Speed of the simulated machine's engine: sync events per host second on
# two workloads, 3 runs each (median), written to bench/results/sim_engine.json.
#   micro:      `vmlab run micro` on 2 simulated CPUs (mostly uncontended
#               atomics: the engine's per-event cost)
#   lock-storm: 1,000 threads on one lockmgr lock on 64 simulated CPUs
#               (contended: nearly one CPU dispatch per event)
set -euo pipefail
cd "$(dirname "$0")/.."
VMLAB=${VMLAB:-build/release/bin/vmlab}
out=bench/results/sim_engine.json
mkdir -p bench/results

run() {	# name, args...
	local name=$1; shift
	local vals=()
	for i in 1 2 3; do
		local t0 t1 ev
		t0=$(date +%s.%N)
		ev=$("$VMLAB" run "$@" --backend sim --json 2>/dev/null |
		    python3 -c 'import json,sys; print(json.load(sys.stdin)["sim_events"])')
		t1=$(date +%s.%N)
		vals+=("$(python3 -c "print($ev / ($t1 - $t0))") $ev $(python3 -c "print($t1 - $t0)")")
	done
	printf '%s\n' "${vals[@]}" | sort -n | sed -n 2p | {
		read -r rate ev secs
		printf '  %-12s %12.0f events  %7.2f s  %8.1f M events/s\n' \
		    "$name" "$ev" "$secs" "$(python3 -c "print($rate / 1e6)")"
		printf '{"workload": "%s", "events": %s, "seconds": %.3f, "events_per_sec": %.0f}' \
		    "$name" "$ev" "$secs" "$rate" >>"$out.tmp"
	}
}

echo "sim engine speed (median of 3):"
: >"$out.tmp"
run micro micro --cpus 2 --iters 200000
printf ',\n' >>"$out.tmp"
run lock-storm lock-storm --cpus 64 --threads 1000 -o kern.storm.lock=lockmgr
{ echo "["; cat "$out.tmp"; echo; echo "]"; } >"$out"
rm -f "$out.tmp"
echo "wrote $out"
