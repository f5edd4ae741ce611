#!/bin/bash
# `make slurm-test`: runs a ci-scale table through a real Slurm and checks that the table
# assembled from the job array equals the one a single process writes.
#
# Installs Debian's slurm-wlm and munge when missing, configures a one-node cluster on this
# machine (no cgroups: proctrack/linuxproc, task/none), starts munged, slurmctld and slurmd,
# trains table 1 at ci scale once in one process and once as a job array of 3 shards plus the
# assembly job (`scalekd run table1 --slurm`), compares the two tables' cells exactly, and
# stops the daemons. Needs root (it writes /etc/slurm/slurm.conf). Takes a few minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
exe=$repo/.build/release/scalekd
table=${TABLE:-1}
work=$(mktemp -d /tmp/scalekd-slurm-XXXXXX)
trap 'scancel --quiet --user=root 2>/dev/null || true; pkill -x slurmd || true; pkill -x slurmctld || true; pkill -x munged || true' EXIT

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q slurm-wlm munge >/dev/null
fi
host=$(hostname -s)
cpus=$(nproc)
mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 512 ))
mkdir -p /etc/slurm /var/lib/slurm/slurmd /var/lib/slurm/slurmctld /var/log/slurm /run/munge
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=scalekd-test
SlurmctldHost=$host
SlurmUser=root
AuthType=auth/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmdSpoolDir=/var/lib/slurm/slurmd
StateSaveLocation=/var/lib/slurm/slurmctld
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
[ -s /etc/munge/munge.key ] || /usr/sbin/mungekey --create --force
chown -R root:root /etc/munge /run/munge /var/lib/munge /var/log/munge 2>/dev/null || true
munged --force
slurmctld -c
slurmd -c
for _ in $(seq 60); do sinfo -h -o %T 2>/dev/null | grep -q idle && break; sleep 1; done
sinfo

echo "== one process"
SCALEKD_THREADS=2 "$exe" run table$table --scale ci --runs "$work/runs-one" --out "$work/out-one" > "$work/one.log"

echo "== Slurm: 3 shards, then the assembly"
"$exe" run table$table --scale ci --runs "$work/runs-slurm" --out "$work/out-slurm" --slurm --shards 3
stem=$(printf 'table%02d' "$table")
bash "slurm/$stem-submit.sh"
for _ in $(seq 1800); do [ -z "$(squeue -h)" ] && break; sleep 2; done
squeue
ls slurm/logs/ | sed 's/^/  log: /'

python3 - "$work/out-one/$stem.json" "$work/out-slurm/$stem.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
if a["cells"] != b["cells"]:
    sys.exit(f"cells differ:\n{a['cells']}\n{b['cells']}")
print(f"identical: {sum(len(c) for c in a['cells'].values())} cells of {sys.argv[1]} and {sys.argv[2]}")
PY
echo "slurm test passed"
