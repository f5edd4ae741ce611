#!/usr/bin/env bash
# `make mpi-test` (CI runs it after `make test`): data-parallel training under MPI on loopback.
#
# 1. A ci-scale run of $MODEL (swin-mini-t: LayerNorm only, drop path 0.1 in every block) on 2
#    ranks and in one process with the same global batch: the final weights agree within
#    $TOLERANCE (max|a - b| / max|a| per tensor; not bit-identical because each rank's forward
#    and backward sum over 16 rows where one process sums over 32).
# 2. The 2-rank run killed mid-run (rank 0 SIGKILLs itself halfway through its 5th checkpoint
#    write; mpirun then ends rank 1) and started again: it resumes, and its final weights and
#    optimizer state are bit-identical to the uninterrupted 2-rank run's.
# About a minute on an idle 2-core machine.
set -euo pipefail
cd "$(dirname "$0")/.."
exe=.build/release/scalekd
model=${MODEL:-swin-mini-t}
tolerance=${TOLERANCE:-1e-5}
work=$(mktemp -d /tmp/scalekd-mpi-XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
mpi=(mpirun --oversubscribe --allow-run-as-root -np 2)
# One thread in every process: results depend on the thread count (per-thread partial sums).
export SCALEKD_THREADS=1
train=("$exe" train --model "$model" --scale ci --checkpoint-seconds 0)
checkpoint() { echo "$work/$1"/*/checkpoint.h5; }

echo "== $model at ci scale on 2 MPI ranks"
"${mpi[@]}" "${train[@]}" --runs "$work/two" | tail -1
echo "== the same in one process"
"${train[@]}" --runs "$work/one" | tail -1
echo "== 2 ranks, killed in the 5th checkpoint write, then started again"
if SCALEKD_KILL_IN_CHECKPOINT=5 "${mpi[@]}" "${train[@]}" --runs "$work/resumed" > "$work/killed.log" 2>&1; then
  echo "FAIL: the run was not killed"; exit 1
fi
"${mpi[@]}" "${train[@]}" --runs "$work/resumed" > "$work/resumed.log"
grep -m1 "resuming" "$work/resumed.log" || { echo "FAIL: the restarted run did not resume"; exit 1; }
tail -1 "$work/resumed.log"

# Only rank 0 logs: one line per logged step.
for run in two resumed; do
  lines=$(grep -cE '"step":10(\.0)?[,}]' "$work/$run"/*/log.jsonl)
  [ "$lines" = 1 ] || { echo "FAIL: $run logged step 10 $lines times"; exit 1; }
done

echo "== 2 ranks against one process (tolerance $tolerance)"
"$exe" compare-checkpoints "$(checkpoint two)" "$(checkpoint one)" --tolerance "$tolerance"
echo "== resumed against uninterrupted (bit-identical)"
"$exe" compare-checkpoints "$(checkpoint two)" "$(checkpoint resumed)"
top1() { grep '"top1"' "$work/$1"/*/result.json | tr -d ' ,'; }
[ "$(top1 two)" = "$(top1 resumed)" ] || { echo "FAIL: test top-1 $(top1 two) uninterrupted, $(top1 resumed) resumed"; exit 1; }
echo "mpi-test passed"
