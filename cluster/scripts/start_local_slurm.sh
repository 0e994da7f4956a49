#!/usr/bin/env bash
# Starts a single-node Slurm on this machine (munged, slurmctld, slurmd) with every file in
# one folder, for statetune's cluster tests and for trying `statetune submit` locally.
#
#   eval "$(bash cluster/scripts/start_local_slurm.sh [DIR])"    # DIR: default a new /tmp folder
#   ...  sbatch / squeue / statetune submit / ctest -R Cluster ...
#   bash cluster/scripts/stop_local_slurm.sh "$STATETUNE_LOCAL_SLURM"
#
# Needs root and Debian's slurm-wlm and munge packages. Nothing outside DIR is written: munged
# gets its own key and socket, the daemons their own slurm.conf, spool, state, logs and pid
# files. stdout is only the two export lines (SLURM_CONF for the Slurm commands, and
# STATETUNE_LOCAL_SLURM=DIR for the stop script and the tests); progress goes to stderr.
#
# Environment: STATETUNE_SLURM_PORT   slurmctld's port (slurmd uses the next one); default: the
#                                     first free pair from 6817 on
#              STATETUNE_SLURM_CPUS   CPUs of the node (default: nproc)
#              STATETUNE_SLURM_MAX_ARRAY_SIZE   MaxArraySize (default 1001, Slurm's own default)
#              STATETUNE_SLURM_MAX_JOB_COUNT    MaxJobCount (default 10000, Slurm's own default)
set -euo pipefail

say() { echo "start_local_slurm: $*" >&2; }
die() { say "error: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (slurmd and munged need it)"
for program in munged slurmctld slurmd scontrol sinfo; do
  command -v "$program" >/dev/null || [ -x "/usr/sbin/$program" ] ||
    die "'$program' not found; install it: apt-get install -y --no-install-recommends slurm-wlm munge"
done
id munge >/dev/null 2>&1 || die "no 'munge' user; install the munge package"

dir="${1:-}"
if [ -z "$dir" ]; then
  dir="$(mktemp -d /tmp/statetune-slurm.XXXXXX)"
else
  mkdir -p "$dir"
fi
dir="$(cd "$dir" && pwd)"
[ -e "$dir/run/slurmctld.pid" ] && die "$dir already holds a running local Slurm (stop it first: stop_local_slurm.sh $dir)"
mkdir -p "$dir/munge" "$dir/state" "$dir/spool" "$dir/log" "$dir/run"
chmod 755 "$dir"

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if [ -n "${STATETUNE_SLURM_PORT:-}" ]; then
  ctld_port="$STATETUNE_SLURM_PORT"
  port_in_use "$ctld_port" && die "port $ctld_port is in use (STATETUNE_SLURM_PORT)"
else
  ctld_port=""
  for candidate in 6817 6827 6837 6847 6857 6867 6877 6887 6897 6907; do
    if ! port_in_use "$candidate" && ! port_in_use "$((candidate + 1))"; then ctld_port="$candidate"; break; fi
  done
  [ -n "$ctld_port" ] || die "no free port pair between 6817 and 6908; set STATETUNE_SLURM_PORT"
fi
slurmd_port="$((ctld_port + 1))"

cpus="${STATETUNE_SLURM_CPUS:-$(nproc)}"
# A node whose RealMemory exceeds what slurmd finds is drained; leave 10% for the system.
memory_mb="$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo)"
mem_per_cpu="$((memory_mb / cpus / 2))"  # two jobs per CPU's share can run side by side

# munge: a key of our own, its own socket; the daemon runs as the munge user.
chown munge:munge "$dir/munge"
chmod 755 "$dir/munge"  # munged wants the socket folder searchable by all
dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
chown munge:munge "$dir/munge/munge.key"
chmod 400 "$dir/munge/munge.key"
runuser -u munge -- /usr/sbin/munged --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
  --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munged.seed" ||
  die "munged did not start; see $dir/munge/munged.log"

cat > "$dir/slurm.conf" <<CONF
# Written by statetune's cluster/scripts/start_local_slurm.sh: a one-node test cluster.
ClusterName=statetune-local
SlurmctldHost=localhost
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# cred_expire: also how long a requeued job waits before it may start again (default 120 s).
AuthInfo=socket=$dir/munge/munge.socket,cred_expire=10
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/log/jobcomp.log
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ReturnToService=2
MaxArraySize=${STATETUNE_SLURM_MAX_ARRAY_SIZE:-1001}
MaxJobCount=${STATETUNE_SLURM_MAX_JOB_COUNT:-10000}
SchedulerParameters=sched_interval=2
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$memory_mb State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES DefMemPerCPU=$mem_per_cpu MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$dir/slurm.conf"

started=$(date +%s.%N)
/usr/sbin/slurmctld -f "$SLURM_CONF" || die "slurmctld did not start; see $dir/log/slurmctld.log"
/usr/sbin/slurmd -f "$SLURM_CONF" -N localhost || die "slurmd did not start; see $dir/log/slurmd.log"

stop_and_die() {
  say "error: $*"
  tail -n 20 "$dir/log/slurmctld.log" "$dir/log/slurmd.log" >&2 || true
  bash "$(dirname "$0")/stop_local_slurm.sh" "$dir" >&2 || true
  exit 1
}
state=""
for _ in $(seq 1 120); do
  if scontrol ping >/dev/null 2>&1; then
    state="$(sinfo -h -N -n localhost -o %T 2>/dev/null || true)"
    [ "$state" = "idle" ] && break
  fi
  sleep 0.25
done
[ "$state" = "idle" ] || stop_and_die "the node is not idle after 30 s (state: '${state:-controller unreachable}')"
say "up in $(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s: partition debug," \
    "$cpus CPUs, ${memory_mb} MB, ports $ctld_port/$slurmd_port, files in $dir"
echo "export SLURM_CONF=$dir/slurm.conf"
echo "export STATETUNE_LOCAL_SLURM=$dir"
