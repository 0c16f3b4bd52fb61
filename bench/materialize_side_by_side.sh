#!/usr/bin/env bash
# `make materialize` of two commits, side by side in one run: each commit in its own git
# worktree and fresh data dir + DAGSTER_HOME, alternating A, B, A, B ... so machine noise
# falls on both. Uses this checkout's .venv (the two commits must share dependencies).
#
#   bench/materialize_side_by_side.sh <commit-a> <commit-b> [rounds (2)] [work dir (/tmp/sbs)]
#
# Prints one line per run (wall seconds, exit status) and the ratio B/A per round. Keep
# the machine otherwise idle: a test run beside it shows up in the figures.
set -euo pipefail

a=${1:?commit A}
b=${2:?commit B}
rounds=${3:-2}
work=${4:-/tmp/sbs}
repo=$(cd "$(dirname "$0")/.." && pwd)
py="$repo/.venv/bin/python"

mkdir -p "$work"
for side in a b; do
    commit=${!side}
    rm -rf "$work/tree_$side"
    git -C "$repo" worktree add -f --detach "$work/tree_$side" "$commit" >/dev/null 2>&1
done
trap 'git -C "$repo" worktree remove --force "$work/tree_a" 2>/dev/null || true;
      git -C "$repo" worktree remove --force "$work/tree_b" 2>/dev/null || true' EXIT

run() {  # run <side> <round>: prints wall seconds and exit status
    local side=$1 round=$2 tree="$work/tree_$1" data="$work/run_$1"
    rm -rf "$data"
    mkdir -p "$data"
    local start end status=0
    start=$(date +%s.%N)
    (cd "$tree" && PYTHONPATH="$tree" TRENDING_DATA_DIR="$data/data" DAGSTER_HOME="$data/home" \
        WANDB_MODE=offline "$py" -m trending_assets.cli materialize >"$work/log_${side}_$round.txt" 2>&1) \
        || status=$?
    end=$(date +%s.%N)
    echo "$(echo "$end - $start" | bc) $status"
}

for round in $(seq 1 "$rounds"); do
    read -r sa ra <<<"$(run a "$round")"
    read -r sb rb <<<"$(run b "$round")"
    printf 'round %s  A %s: %.1f s (exit %s)  B %s: %.1f s (exit %s)  B/A %.2f\n' \
        "$round" "$a" "$sa" "$ra" "$b" "$sb" "$rb" "$(echo "$sb / $sa" | bc -l)"
done
