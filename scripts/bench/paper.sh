#!/usr/bin/env bash
# `make bench-paper`: m3rec's rows and its ablations on Amazon Beauty's profiled cold users
# (cold_k 2, sampled and full protocols, seed 0; the LLM re-order sampled only), from the LLM
# outputs committed in bench/:
#   bench/mope-quality/v2-amazon-beauty.jsonl  the qwen2.5-1.5b mope/v2 test profiles (100 users)
#   bench/mar/llm-replies.jsonl                the LLM's replies to m3rec-llm's order prompts
# Rows: mote (without MAR alignment), m3rec, m3rec-history (without MOPE), notesim (without
# MOTE), textsim (neither), m3rec-llm (with the LLM re-order), and m3rec with recency=false
# (without time weighting). Output: OUT/main, OUT/no-time and OUT/llm (results.json, results.md,
# charts, per_user.npz) and OUT/ablations.md, the table with each row's paired test against m3rec.
# MovieLens profiles may not be committed (licence), so MovieLens is in bench-all, not here.
# Usage: scripts/bench/paper.sh [--from-scratch]   (env: OUT=runs/paper, DATA_ROOT=../shared/data)
#   --from-scratch: write the profiles and the LLM replies anew (hours of LLM time on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-runs/paper}
data=${DATA_ROOT:-../shared/data}/amazon-beauty
m3rec=.venv/bin/m3rec
scratch=false
[[ ${1:-} == --from-scratch ]] && scratch=true
mkdir -p "$out/cache"
export M3REC_PATHS__CACHE_DIR=$out/cache M3REC_LLM__N_THREADS=${M3REC_LLM__N_THREADS:-2}
# The sentence embeddings are not LLM outputs: reuse the user's cache of them when there is one.
user_embeddings=${XDG_CACHE_HOME:-$HOME/.cache}/m3rec/embeddings
if [[ -d $user_embeddings && ! -e $out/cache/embeddings ]]; then
    ln -s "$user_embeddings" "$out/cache/embeddings"
fi
rm -rf "$out/store" "$out/cache/llm-replies.jsonl"
if $scratch; then
    $m3rec profile --data "$data" --users 100 --cold-k 2 --stage test --store "$out/store" \
        --skip-failed --json > "$out/profiles.json"
else
    $m3rec profiles import bench/mope-quality/v2-amazon-beauty.jsonl --store "$out/store"
    cp bench/mar/llm-replies.jsonl "$out/cache/llm-replies.jsonl"
fi
mote="--set mote.threads=1 --set mote.epochs=10 --set mote.patience=2"
for model in m3rec m3rec-history m3rec-llm; do
    mote+=" --set $model.threads=1 --set $model.epochs=10 --set $model.patience=2"
done
# One MOTE fit serves mote, m3rec, m3rec-history and m3rec-llm (the harness shares it).
# shellcheck disable=SC2086
$m3rec evaluate --data "$data" --models mote,m3rec,m3rec-history,notesim,textsim \
    --protocol both --cold-k 2 --seeds 1 --store "$out/store" $mote --out "$out/main" --json \
    > "$out/main.json"
$m3rec evaluate --data "$data" --models m3rec --protocol both --cold-k 2 --seeds 1 \
    --store "$out/store" --set m3rec.threads=1 --set m3rec.epochs=10 --set m3rec.patience=2 \
    --set m3rec.recency=false --out "$out/no-time" --json > "$out/no-time.json"
# The LLM re-order under the sampled protocol only: one call a user (the replies are committed).
# shellcheck disable=SC2086
$m3rec evaluate --data "$data" --models m3rec,m3rec-llm --protocol sampled --cold-k 2 --seeds 1 \
    --store "$out/store" $mote --out "$out/llm" --json > "$out/llm.json"
.venv/bin/python scripts/bench/ablations.py "$out/main" "$out/no-time" "$out/llm" \
    > "$out/ablations.md"
cat "$out/ablations.md"
