#!/usr/bin/env bash
# `make bench-all`: every row of BENCHMARKS.md's harness tables, baselines and seeds included,
# one process at a time (scripts/bench/run_one.sh: runs/bench/out/, runs/bench/done.log), then
# m3rec's rows and ablations (`make bench-paper`), the generated tables (scripts/bench/tables.py)
# and the plots by cold_k (scripts/bench/plots.py, into bench/plots/).
# Each line is the command of the cost table in BENCHMARKS.md; on the project's 2-core CPU the
# whole list takes about 9 hours of one core (the sum of that table's wall times, SASRec half of
# it). A run that fails is logged with its exit code and the rest go on.
# Usage: scripts/bench/all.sh [DATASET ...]   (default: ml-1m amazon-beauty amazon-sports)
set -uo pipefail
cd "$(dirname "$0")/../.."
R=scripts/bench/run_one.sh
MOTE=(--set mote.threads=1 --set mote.epochs=10 --set mote.patience=2)
datasets=("$@")
[[ ${#datasets[@]} -gt 0 ]] || datasets=(ml-1m amazon-beauty amazon-sports)
for ds in "${datasets[@]}"; do
    for ks in 0 1,2; do
        $R "$ds" pop "$ks" 3
        $R "$ds" itemknn "$ks" 3
        $R "$ds" textsim "$ks" 3
        $R "$ds" bprmf "$ks" 3 --set bprmf.threads=1 --set bprmf.epochs=30
        $R "$ds" mote "$ks" 3 "${MOTE[@]}"
    done
    case $ds in
    ml-1m)
        $R ml-1m sasrec 0 3 --set sasrec.epochs=12 --set sasrec.threads=1
        $R ml-1m sasrec 1,2 3 --set sasrec.epochs=6 --set sasrec.threads=1
        for ks in 0 1,2; do
            $R ml-1m lightgcn "$ks" 3 --set lightgcn.threads=1 --set lightgcn.epochs=4 \
                --set lightgcn.batch_size=16384 --set lightgcn.lr=0.01
        done
        ;;
    *)
        $R "$ds" sasrec 0 3 --set sasrec.threads=1 --set sasrec.epochs=40
        $R "$ds" sasrec 1,2 3 --set sasrec.threads=1 --set sasrec.epochs=20
        for ks in 0 1,2; do
            $R "$ds" lightgcn "$ks" 3 --set lightgcn.threads=1 --set lightgcn.epochs=10
        done
        ;;
    esac
done
scripts/bench/paper.sh
.venv/bin/python scripts/bench/tables.py
.venv/bin/python scripts/bench/plots.py
