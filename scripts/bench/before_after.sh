#!/usr/bin/env bash
# Does a change move the figures? Run SASRec and MOTE on ML-100K (cold_k 0, both protocols,
# 3 seeds, 1 torch thread) with the code of REV, using this checkout's .venv, and compare the
# per-user metrics of two such runs with scripts/bench/compare_runs.py.
# Usage: scripts/bench/before_after.sh REV OUT   e.g. scripts/bench/before_after.sh 74eb8c8 runs/before
set -euo pipefail
cd "$(dirname "$0")/../.."
rev=$1 out=$2
data_root=${DATA_ROOT:-../shared/data}
tree=$(mktemp -d)/src-$rev
git worktree add --detach "$tree" "$rev" > /dev/null
trap 'git worktree remove --force "$tree"' EXIT
mkdir -p "$out"
for model in sasrec mote; do
    PYTHONPATH="$tree/src" /usr/bin/time -v -o "$out/$model.time" .venv/bin/python -m m3rec evaluate \
        --data "$data_root/ml-100k" --models "$model" --protocol both --cold-k 0 --seeds 3 \
        --set "$model.threads=1" --out "$out/$model" --json > "$out/$model.json" 2> "$out/$model.err"
done
