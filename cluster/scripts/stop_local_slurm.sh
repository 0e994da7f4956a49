#!/usr/bin/env bash
# Stops a local Slurm started by start_local_slurm.sh: cancels its jobs, then stops slurmd,
# slurmctld and munged by the pid files in DIR (nothing else is signalled), then removes DIR
# unless --keep is given.
#
#   bash cluster/scripts/stop_local_slurm.sh [--keep] DIR      # DIR: $STATETUNE_LOCAL_SLURM
set -uo pipefail

say() { echo "stop_local_slurm: $*" >&2; }
keep=0
if [ "${1:-}" = "--keep" ]; then keep=1; shift; fi
dir="${1:-${STATETUNE_LOCAL_SLURM:-}}"
[ -n "$dir" ] || { say "usage: stop_local_slurm.sh [--keep] DIR"; exit 2; }
[ -f "$dir/slurm.conf" ] || { say "$dir holds no slurm.conf of a local Slurm"; exit 1; }
export SLURM_CONF="$dir/slurm.conf"

# Jobs first, so no slurmstepd outlives its slurmd.
if [ -f "$dir/run/slurmctld.pid" ] && scontrol ping >/dev/null 2>&1; then
  scancel --user="$(id -un)" 2>/dev/null
  for _ in $(seq 1 40); do
    [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break
    sleep 0.25
  done
fi

# stop PIDFILE NAME: TERM, up to 10 s, then KILL; only if the pid still runs that program.
stop() {
  local pidfile="$1" name="$2" pid
  [ -f "$pidfile" ] || return 0
  pid="$(cat "$pidfile")"
  if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ]; then
    kill -TERM "$pid"
    for _ in $(seq 1 40); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.25
    done
    if kill -0 "$pid" 2>/dev/null; then
      say "$name ($pid) ignored SIGTERM; killing it"
      kill -KILL "$pid"
    fi
  fi
  rm -f "$pidfile"
}
stop "$dir/run/slurmd.pid" slurmd
stop "$dir/run/slurmctld.pid" slurmctld
stop "$dir/munge/munged.pid" munged
say "stopped the local Slurm in $dir"
if [ "$keep" -eq 0 ]; then
  rm -rf "$dir"
fi
