#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for the cluster tests (tests/cluster/) and for
# trying `make slurm` without a cluster. Debian's slurm-wlm and munge, run as root, without
# systemd: this script starts munged (unless one already answers), slurmctld and slurmd by
# hand, each in the foreground under its recorded PID, with a slurm.conf it writes into its
# own folder (accounting off). `stop` stops exactly the daemons it started, by those PIDs.
#
#   scripts/slurm-local.sh start    # an empty queue; waits until sinfo shows the node idle
#   scripts/slurm-local.sh status   # running or not (exit 0 / 3)
#   scripts/slurm-local.sh stop     # cancels the cluster's jobs, stops its daemons
#
# Then `export SLURM_CONF=...` (or `. "$SLURM_LOCAL_DIR/env"`) before sbatch, squeue, scontrol.
# SLURM_LOCAL_DIR: the folder for the configuration, state, logs and PIDs (default below);
# SLURM_LOCAL_TIMEOUT: seconds start waits for the node (default 60).
set -euo pipefail

DIR="${SLURM_LOCAL_DIR:-${TMPDIR:-/tmp}/coursework-slurm}"
TIMEOUT="${SLURM_LOCAL_TIMEOUT:-60}"
CONF="$DIR/slurm.conf"
PIDS="$DIR/pids"
LOGS="$DIR/log"
DAEMONS="munged slurmctld slurmd"

die() { echo "slurm-local: $*" >&2; exit 1; }

# the PID recorded for daemon $1, where that process still runs and is that daemon
alive() {
  local pid
  pid="$(cat "$PIDS/$1.pid" 2>/dev/null)" || return 1
  [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$1" ] && echo "$pid"
}

# the daemons of this script that run, on one line
running() {
  local d out=""
  for d in $DAEMONS; do alive "$d" >/dev/null && out="$out${out:+ }$d"; done
  echo "$out"
}

preflight() {
  [ "$(id -u)" = 0 ] || die "needs root (it starts munged as munge and slurmd as root)"
  for bin in munged slurmctld slurmd sinfo scontrol; do
    command -v "$bin" >/dev/null || die "no $bin: apt-get install slurm-wlm munge"
  done
  id munge >/dev/null 2>&1 || die "no user munge (the munge package creates it)"
}

# something listening on TCP port $1 (slurmctld 6817, slurmd 6818): another cluster
listening() {
  local hex
  hex="$(printf ':%04X' "$1")"
  awk -v p="$hex" '$4 == "0A" && substr($2, length($2) - 4) == p {found = 1} END {exit !found}' \
    /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

munge_answers() { command -v munge >/dev/null && munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }

start_munge() {
  if munge_answers; then
    echo "slurm-local: munged already running (not started here, will not be stopped)"
    return
  fi
  install -d -o munge -g munge -m 0755 /run/munge
  install -d -o munge -g munge -m 0700 /var/log/munge /etc/munge
  install -d -o munge -g munge -m 0711 /var/lib/munge
  if [ ! -s /etc/munge/munge.key ]; then
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
    chown munge:munge /etc/munge/munge.key
    chmod 0400 /etc/munge/munge.key
    echo "slurm-local: created /etc/munge/munge.key"
  fi
  setpriv --reuid=munge --regid=munge --init-groups munged --foreground --force \
    >"$LOGS/munged.out" 2>&1 &
  echo $! >"$PIDS/munged.pid"
  for _ in $(seq 50); do munge_answers && return; sleep 0.2; done
  die "munged does not answer; its log: $(tail -n 20 /var/log/munge/munged.log "$LOGS/munged.out" 2>&1)"
}

# the node as slurmd sees it (sockets, cores, memory), else nproc and /proc/meminfo
node_line() {
  local host="$1" line
  line="$(slurmd -C 2>/dev/null | head -n 1 | sed "s/^NodeName=[^ ]*/NodeName=$host/")"
  if [[ "$line" == NodeName=*RealMemory=* ]]; then
    echo "$line NodeAddr=127.0.0.1"
  else
    echo "NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=$(($(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024))"
  fi
}

write_conf() {
  local host
  host="$(hostname -s)"
  mkdir -p "$DIR/state" "$DIR/spool"
  cat >"$CONF" <<EOF
# written by scripts/slurm-local.sh: one node, accounting off
ClusterName=coursework
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# a requeued job may start again only once its credential has expired (slurm.conf(5),
# AuthInfo: "This also controls how long a requeued job must wait before starting again";
# 120 s by default, 5 at least)
AuthInfo=cred_expire=10
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pidfile
SlurmdPidFile=$DIR/slurmd.pidfile
SlurmctldLogFile=$LOGS/slurmctld.log
SlurmdLogFile=$LOGS/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
# schedule every 2 s (a requeued job is eligible again after cred_expire; default 60 s)
SchedulerParameters=sched_interval=2,bf_interval=2
KillWait=5
MinJobAge=600
$(node_line "$host") State=UNKNOWN
PartitionName=cpu Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
  echo "export SLURM_CONF=$CONF" >"$DIR/env"
}

logs() {
  for f in "$LOGS"/slurmctld.log "$LOGS"/slurmd.log "$LOGS"/*.out; do
    [ -s "$f" ] && { echo "--- $f (last 30 lines)"; tail -n 30 "$f"; }
  done
  true
}

wait_idle() {
  local deadline=$((SECONDS + TIMEOUT)) state=""
  while [ "$SECONDS" -lt "$deadline" ]; do
    state="$(SLURM_CONF="$CONF" sinfo -h -N -o '%t' 2>/dev/null | head -n 1)"
    for d in slurmctld slurmd; do
      alive "$d" >/dev/null || { logs >&2; stop_daemons; die "$d exited while starting (its log above)"; }
    done
    [ "$state" = idle ] && return 0
    sleep 0.5
  done
  logs >&2
  stop_daemons
  die "the node is not idle after ${TIMEOUT}s (sinfo: ${state:-no answer}); the logs above"
}

start() {
  preflight
  local up
  up="$(running)"
  if alive slurmctld >/dev/null && alive slurmd >/dev/null; then
    echo "slurm-local: already running ($up); SLURM_CONF=$CONF"
    return
  fi
  [ -z "$up" ] || die "partly running ($up): run '$0 stop' first"
  for port in 6817 6818; do
    ! listening "$port" || die "port $port is taken (another slurmctld or slurmd, not started here)"
  done
  mkdir -p "$PIDS" "$LOGS"
  rm -f "$PIDS"/*.pid
  start_munge
  write_conf
  slurmctld -D -c -f "$CONF" >"$LOGS/slurmctld.out" 2>&1 &
  echo $! >"$PIDS/slurmctld.pid"
  slurmd -D -f "$CONF" >"$LOGS/slurmd.out" 2>&1 &
  echo $! >"$PIDS/slurmd.pid"
  wait_idle
  echo "slurm-local: node $(hostname -s) idle in partition cpu ($DIR)"
  echo "SLURM_CONF=$CONF"
}

# stop what this script started (the PIDs it recorded), slurmd first; KILL after 15 s
stop_daemons() {
  local d pid
  for d in slurmd slurmctld munged; do
    pid="$(alive "$d")" || { rm -f "$PIDS/$d.pid"; continue; }
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 75); do [ -d "/proc/$pid" ] || break; sleep 0.2; done
    if [ -d "/proc/$pid" ]; then
      echo "slurm-local: $d ($pid) still running after 15 s: KILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$PIDS/$d.pid"
    echo "slurm-local: stopped $d ($pid)"
  done
}

stop() {
  if alive slurmctld >/dev/null; then
    # the jobs on this cluster end first, so no slurmstepd outlives its slurmd
    local jobs
    mapfile -t jobs < <(SLURM_CONF="$CONF" squeue -h -o %F 2>/dev/null | sort -u)
    [ "${#jobs[@]}" = 0 ] || SLURM_CONF="$CONF" scancel --full "${jobs[@]}" 2>/dev/null || true
    for _ in $(seq 50); do
      [ -z "$(SLURM_CONF="$CONF" squeue -h -o %i 2>/dev/null)" ] && break
      sleep 0.2
    done
  fi
  stop_daemons
}

status() {
  local up
  up="$(running)"
  if alive slurmctld >/dev/null && alive slurmd >/dev/null; then
    echo "slurm-local: running ($up); SLURM_CONF=$CONF"
    SLURM_CONF="$CONF" sinfo -N 2>/dev/null || true
    return 0
  fi
  echo "slurm-local: not running${up:+ (only $up)}"
  return 3
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
