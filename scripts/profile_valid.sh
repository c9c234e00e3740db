#!/usr/bin/env bash
# MOPE profiles of validation cases (the history before each user's second to last item, cut to
# its last 2 items), for tuning MOTE's use of notes on validation users only. Resumable; profiles
# land in the same store as scripts/bench_mope.sh (runs/bench-mope/store).
# Usage: [USERS=150] scripts/profile_valid.sh [DATA_ROOT]   (default ../shared/data)
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-../shared/data}
out=runs/bench-mope
mkdir -p "$out"
export M3REC_LLM__N_THREADS=${M3REC_LLM__N_THREADS:-1}
users=${USERS:-150}
for dataset in ml-1m amazon-beauty; do
    .venv/bin/m3rec profile --data "$data/$dataset" --users "$users" --seed 1 --cold-k 2 \
        --stage valid --store "$out/store" --json > "$out/valid-$dataset-k2.json"
done
