#!/usr/bin/env bash
# bench/run.sh (`make bench'): the page-allocation benchmark, vmlab against
# glibc, jemalloc, mimalloc, tcmalloc and the host kernel, in one run; then
# swap write throughput (bench/results/swap.json and swap.txt).
# Installs the peer allocators' packages with apt-get when they are
# missing (and says so), rebuilds so that their peer programs exist, runs
# build/release/bin/pagealloc and writes bench/results/pagealloc.json
# (and the table to bench/results/pagealloc.txt).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
for pkg in libjemalloc-dev libmimalloc-dev libgoogle-perftools-dev; do
	dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "bench: installing the peer allocators with apt-get: ${missing[*]}"
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	if ! { $sudo apt-get update -qq &&
	    $sudo env DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq "${missing[@]}" >/dev/null; }; then
		echo "bench: apt-get failed: peers without their library are skipped"
	fi
fi

make release >/dev/null
mkdir -p bench/results
echo "bench: $(nproc) CPUs, $(uname -sr); pagealloc (about half a minute)."
./build/release/bin/pagealloc --json bench/results/pagealloc.json |
	tee bench/results/pagealloc.txt
echo "bench: wrote bench/results/pagealloc.json"

# Swap laundering throughput, vmlab against the raw disk (1 GiB per run).
echo "bench: swapwrite (about 15 seconds)."
./build/release/bin/swapwrite --json bench/results/swap.json |
	tee bench/results/swap.txt
echo "bench: wrote bench/results/swap.json"
./build/release/bin/radix --json bench/results/radix.json | tee bench/results/radix.txt

# The simulated machine's engine speed (sync events per host second).
./bench/sim_engine.sh
