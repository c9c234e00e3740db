#!/usr/bin/env bash
# MOPE benchmark: profiles per hour, tokens per profile, first-try and after-repair valid rates,
# share of valid evidence ids. Default model (qwen2.5-1.5b), llama.cpp in process, this machine's cores.
# Resumable: profiles land in runs/bench-mope/store as they finish; rerun to continue.
# Usage: [USERS_K2=100 USERS_K1=30 USERS_FULL=10] scripts/bench_mope.sh [DATA_ROOT]   (default ../shared/data)
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-../shared/data}
out=runs/bench-mope
mkdir -p "$out"
store="$out/store"
export M3REC_LLM__N_THREADS=${M3REC_LLM__N_THREADS:-1}  # 1 thread: llama.cpp degrades badly when cores are shared
run() {  # name dataset users cold_k
    local name=$1 dataset=$2 users=$3 cold_k=$4
    [[ -s "$out/$name.json" ]] && return 0
    /usr/bin/time -v .venv/bin/m3rec profile --data "$data/$dataset" --users "$users" --seed 0 \
        --stage test --cold-k "$cold_k" --store "$store" --json > "$out/$name.json.tmp" 2> "$out/$name.time" || true
    mv "$out/$name.json.tmp" "$out/$name.json"
}
users_k2=${USERS_K2:-100} users_k1=${USERS_K1:-30} users_full=${USERS_FULL:-10}
run ml1m-k2 ml-1m "$users_k2" 2
run beauty-k2 amazon-beauty "$users_k2" 2
run ml1m-k1 ml-1m "$users_k1" 1
run beauty-k1 amazon-beauty "$users_k1" 1
run ml1m-full ml-1m "$users_full" 0
run beauty-full amazon-beauty "$users_full" 0
