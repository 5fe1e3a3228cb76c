#!/usr/bin/env bash
# Validation of the simulator's cost model: `vmlab run micro` on 2 CPUs on
# the host and on the simulated machine, side by side with their ratio.
# Prints a Markdown table (used in docs/SIM.md).
set -euo pipefail
cd "$(dirname "$0")/.."
VMLAB=${VMLAB:-build/release/bin/vmlab}
ITERS=${ITERS:-1000000}
host=$("$VMLAB" run micro --cpus 2 --iters "$ITERS" --json 2>/dev/null)
sim=$("$VMLAB" run micro --cpus 2 --iters "$ITERS" --backend sim --json 2>/dev/null)
python3 - "$host" "$sim" <<'PY'
import json, sys
h = json.loads(sys.argv[1])["results"]
s = json.loads(sys.argv[2])["results"]
print("| operation (ns/op) | host | sim | sim/host |")
print("|---|---:|---:|---:|")
for k in h:
    if k not in s:
        continue
    r = s[k] / h[k] if h[k] else float("nan")
    print(f"| {k} | {h[k]:.1f} | {s[k]:.1f} | {r:.2f} |")
PY
