#!/usr/bin/env bash
# Commit the finished points of a sweep folder (and only those): each
# points/<index>.toml with its network's run record, result, training log
# and final weights. Points still running are left out, so no half-trained
# checkpoint enters the history. Usage: scripts/commit-sweep-points.sh DIR
set -euo pipefail
shopt -s nullglob
dir=${1:?usage: scripts/commit-sweep-points.sh SWEEP_DIR}
cd "$(git -C "$dir" rev-parse --show-toplevel)"
dir=$(realpath --relative-to=. "$1")
git add "$dir/sweep.toml" "$dir/manifest.csv" "$dir/experiment.toml" "$dir/.gitignore" 2>/dev/null || true
n=0
for point in "$dir"/points/[0-9]*.toml; do
    case "$point" in *.failed.toml) continue ;; esac
    name=$(sed -n 's/^name = "\(.*\)"$/\1/p' "$point")
    [ -n "$name" ] || continue
    net="$dir/networks/$name"
    files=("$point")
    for f in run.toml result.toml train_log.csv weights.safetensors; do
        [ -f "$net/$f" ] && files+=("$net/$f")
    done
    git add "${files[@]}"
    n=$((n + 1))
done
if git diff --cached --quiet -- "$dir"; then
    echo "no new finished points in $dir"
    exit 0
fi
git commit -q -m "$(basename "$dir"): $n finished points" -- "$dir"
echo "committed: $n finished points in $dir"
