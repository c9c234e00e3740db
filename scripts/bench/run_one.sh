#!/usr/bin/env bash
# One benchmark process: one dataset, one model, one set of cold_k cuts, both protocols, under
# /usr/bin/time -v (wall, CPU, peak RSS). Output: runs/bench/out/DATASET/MODEL-kK (results.json,
# per_user.npz, charts, stdout.json, time.txt); one line per run in runs/bench/done.log.
# Usage: [TAG=NAME] scripts/bench/run_one.sh DATASET MODEL COLD_K SEEDS [m3rec evaluate args...]
#   e.g. scripts/bench/run_one.sh ml-1m sasrec 0 3 --set sasrec.epochs=12 --set sasrec.threads=1
#   TAG names a variant's folder (MODEL-TAG-kK) and its series in the plots (scripts/bench/plots.py).
#   MODEL may be a list with variants (mote,mote@near --set mote@near.maxpool_weight=0.5): the
#   folder takes the first one's name.
set -uo pipefail
cd "$(dirname "$0")/../.."
data_root=${DATA_ROOT:-../shared/data}
ds=$1 model=$2 k=$3 seeds=$4
shift 4
out=runs/bench/out/$ds/${model%%,*}${TAG:+-$TAG}-k${k//,/_}  # MODEL may list a model's variants
mkdir -p "$out"
start=$(date -u +%H:%M:%S)
/usr/bin/time -v -o "$out/time.txt" .venv/bin/m3rec evaluate --data "$data_root/$ds" --models "$model" \
    --protocol both --cold-k "$k" --seeds "$seeds" --out "$out" --json "$@" \
    > "$out/stdout.json" 2> "$out/stderr.log"
rc=$?
echo "$start $(date -u +%H:%M:%S) rc=$rc $ds $model${TAG:+ tag=$TAG} k=$k seeds=$seeds $*" >> runs/bench/done.log
exit $rc
