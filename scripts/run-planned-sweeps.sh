#!/usr/bin/env bash
# Run the planned sweeps of experiments/ one after another, each resumable
# (points already finished are skipped), at the lowest CPU priority; with
# --commit, also commit each design's finished points (and only those) when
# it ends. The order puts the designs
# that answer the most open questions first:
#   1. Orhan & Ma conditions (variable delay, dynamic input, Hebbian);
#   2. Orhan & Ma at N = 250 (does the task ordering follow network size?);
#   3. Xie et al. medium (correct vs error across 20 networks per condition);
#   4. Orhan & Ma input gain; 5. Orhan & Ma clipped ReLU.
# Usage: scripts/run-planned-sweeps.sh [--commit] [JOBS]  (JOBS: networks at
# once, default 2; log lines go to stderr, one per finished point, with the
# time left at the run's pace). Start it detached so it survives the shell:
#   setsid nohup scripts/run-planned-sweeps.sh --commit > sweeps.log 2>&1 &
# `wm sweep status DIR` shows any design's progress and time left meanwhile;
# scripts/commit-sweep-points.sh DIR commits finished points at any time.
set -euo pipefail
cd "$(dirname "$0")/.."
commit=false
if [ "${1:-}" = "--commit" ]; then
    commit=true
    shift
fi
jobs=${1:-2}
designs=(
    experiments/orhan-ma/medium-conditions-results
    experiments/orhan-ma/medium-n250-results
    experiments/xie/medium-results
    experiments/orhan-ma/medium-gain-results
    experiments/orhan-ma/medium-clipped-relu-results
)
cargo build --release -p wm-cli
for dir in "${designs[@]}"; do
    echo "$(date -u +%FT%TZ) running $dir" >&2
    nice -n 19 target/release/wm sweep run "$dir" --local --jobs "$jobs" &
    pid=$!
    # A detached process is its own scheduling group on Linux: without this,
    # nice alone does not make the sweep yield to interactive work.
    echo 19 > "/proc/$pid/autogroup" 2>/dev/null || true
    wait "$pid" || echo "$(date -u +%FT%TZ) $dir ended with an error; see above" >&2
    if $commit; then
        scripts/commit-sweep-points.sh "$dir" >&2
    fi
done
