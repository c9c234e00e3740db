#!/usr/bin/env bash
# Issue 3's cost target: the whole baseline suite on ML-1M (cold_k 0, both protocols, one seed) in
# one process on this machine's cores, torch on all of them; wall time and peak RSS from
# /usr/bin/time. Run it on an idle machine. Output: runs/bench/suite/{stdout.json,time.txt}.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=runs/bench/suite
mkdir -p "$out"
/usr/bin/time -v -o "$out/time.txt" .venv/bin/m3rec evaluate --data "${DATA_ROOT:-../shared/data}/ml-1m" \
    --models pop,itemknn,bprmf,sasrec,lightgcn,textsim --protocol both --cold-k 0 --seeds 1 \
    --set sasrec.epochs=12 --set bprmf.epochs=30 --set lightgcn.epochs=4 \
    --set lightgcn.batch_size=16384 --set lightgcn.lr=0.01 --out "$out" --json > "$out/stdout.json"
grep -E "Elapsed|Maximum resident|User time|System time" "$out/time.txt"
.venv/bin/python -c "
import json; d = json.load(open('$out/stdout.json'))
for r in d['results']:
    print(r['model'], r['protocol'], round(r['fit_seconds'], 1), 'NDCG@10', round(r['metrics']['NDCG@10'], 4))"
