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
# 3. Table 1 at ci scale under mpirun (every run on both ranks, rank 0 assembles); assembled
#    again in one process with --ranks 2 it trains nothing and writes the same table; with one
#    run gone, that one process refuses to train it.
# About two minutes on an idle 2-core machine.
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
echo "== table 1 at ci scale on 2 MPI ranks"
"${mpi[@]}" "$exe" run table1 --scale ci --runs "$work/table" --out "$work/table-out" > "$work/table.log"
tail -1 "$work/table.log"
claims=$(grep -c '^table 1 at ci scale' "$work/table.log")
[ "$claims" = 1 ] || { echo "FAIL: the table's summary was printed $claims times (rank 0 alone prints)"; exit 1; }
runs_before=$(ls "$work/table" | wc -l)
"$exe" run table1 --scale ci --runs "$work/table" --out "$work/table-one" --ranks 2 > /dev/null
[ "$(ls "$work/table" | wc -l)" = "$runs_before" ] || { echo "FAIL: assembling with --ranks 2 trained runs"; exit 1; }
strip() { grep -v -i -E 'commit|wall|generated|threads' "$1"; }
diff <(strip "$work/table-out/table01.md") <(strip "$work/table-one/table01.md") > /dev/null \
  || { echo "FAIL: the table assembled in one process differs from the 2-rank one"; exit 1; }
# A student run of the table (not the ci teacher every run distils from).
rm -rf "$(dirname "$(grep -l '"model":"resnet-mini"' "$work"/table/*/config.json | head -1)")"
if "$exe" run table1 --scale ci --runs "$work/table" --out "$work/table-one" --ranks 2 > "$work/refused.log" 2>&1; then
  echo "FAIL: one process assembled a table with a missing 2-rank run"; exit 1
fi
grep -q "keyed for 2 data-parallel ranks" "$work/refused.log" || { echo "FAIL: no clear refusal:"; cat "$work/refused.log"; exit 1; }
echo "mpi-test passed"
