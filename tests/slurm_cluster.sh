#!/usr/bin/env bash
# A real one-node SLURM cluster with job accounting on this machine, for tests/test_slurm.py and CI.
#
#   tests/slurm_cluster.sh start    # starts munged, MariaDB, slurmdbd, slurmctld and slurmd,
#                                   # waits until the node is idle
#   export SLURM_CONF=/tmp/imdb-slurm/etc/slurm.conf
#   snakemake --profile profiles/slurm-test
#   tests/slurm_cluster.sh status   # exit 0 when every daemon runs and the node answers
#   tests/slurm_cluster.sh stop     # cancels the cluster's jobs, stops every daemon by pid, removes the folder
#
# Run as root (the daemons run as root: SlurmUser=root), with the Debian packages slurm-wlm, munge,
# slurmdbd and mariadb-server installed: this script installs nothing (.ci/run installs them, starts
# the cluster and runs the tests with IMDB_TEST_SLURM=1). Everything lives in $IMDB_SLURM_DIR
# (default /tmp/imdb-slurm): configuration, munge key and socket, spool, state, database, logs.
# munge listens on its own socket and the daemons use their own ports. One file outside it:
# /etc/slurm/slurm.conf becomes a link to the cluster's slurm.conf while it runs (an existing
# file is set aside and put back by `stop`), because Snakemake's job step (the slurm-jobstep
# plugin) drops SLURM_CONF, with every SLURM_* variable, before it calls srun inside a job.
# `start` is idempotent; `stop` always stops whatever is left.
set -euo pipefail

DIR=${IMDB_SLURM_DIR:-/tmp/imdb-slurm}
CLUSTER=imdbtest
PARTITION="test"
# Not SLURM's or MariaDB's default ports (6817-6819, 3306): a real installation may hold those.
CTLD_PORT=16817
SLURMD_PORT=16818
DBD_PORT=16819
DB_PORT=16306
WAIT_SECONDS=60

export SLURM_CONF=$DIR/etc/slurm.conf
MUNGE_SOCKET=$DIR/munge/munge.socket.2
DB_SOCKET=$DIR/mysql/mysqld.sock
MARKER=$DIR/.imdb-slurm-cluster   # stop removes $DIR only when this file says we made it
DEFAULT_CONF=/etc/slurm/slurm.conf
SET_ASIDE=$DEFAULT_CONF.imdb-slurm-backup
NODE=$(hostname -s)

# A command of each package the cluster needs; slurmdbd's package pulls in its MySQL plugin.
declare -A PACKAGE_OF=(
  [slurmctld]=slurm-wlm [slurmd]=slurm-wlm [sbatch]=slurm-wlm [sacct]=slurm-wlm
  [munged]=munge [mungekey]=munge [slurmdbd]=slurmdbd
  [mariadbd]=mariadb-server [mariadb-install-db]=mariadb-server [mariadb]=mariadb-server
)

log() { echo "slurm_cluster: $*" >&2; }
die() { log "error: $*"; exit 1; }

running_pid() {  # running_pid NAME: print the pid in $DIR/run/NAME.pid if that process is NAME and runs
  local pid
  pid=$(cat "$DIR/run/$1.pid" 2>/dev/null) || return 1
  # The name check keeps a stale pid file from pointing at someone else's process.
  [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$1" ] && echo "$pid"
}

alive() { running_pid "$1" >/dev/null; }

wait_for() {  # wait_for WHAT COMMAND...: retry COMMAND for up to $WAIT_SECONDS, quietly
  local what=$1 deadline=$((SECONDS + WAIT_SECONDS))
  shift
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || die "$what did not come up within ${WAIT_SECONDS}s; see the logs in $DIR/log"
    sleep 0.5
  done
}

require_installed() {
  local missing=() command
  for command in "${!PACKAGE_OF[@]}"; do
    command -v "$command" >/dev/null || missing+=("${PACKAGE_OF[$command]}")
  done
  [ ${#missing[@]} -eq 0 ] && return
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  die "missing ${missing[*]}; install them first (as root: apt-get install --no-install-recommends ${missing[*]})"
}

write_config() {
  install -d -m 0755 "$DIR" "$DIR/etc" "$DIR/run" "$DIR/log" "$DIR/state" "$DIR/spool" "$DIR/mysql" "$DIR/munge"
  touch "$MARKER"
  local hardware
  # This machine's CPUs, sockets, cores and memory, as slurmd itself will report them.
  hardware=$(slurmd -C | head -n 1 | sed 's/^NodeName=[^ ]* //')
  cat >"$DIR/etc/slurm.conf.new" <<EOF
# Written by tests/slurm_cluster.sh: a one-node test cluster on $NODE.
ClusterName=$CLUSTER
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
PlugStackConfig=$DIR/etc/plugstack.conf
# No cgroups: containers rarely let slurmd manage them.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
# CPUs and memory are consumed per job, so two 1-CPU jobs run side by side.
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
DefMemPerCPU=500
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
# A finished job stays visible to squeue for 10 minutes, so squeue-based status checks work too.
MinJobAge=600
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort=$DBD_PORT
# Where the clients and slurmctld ask munge for credentials to slurmdbd (AuthInfo covers the rest).
AccountingStoragePass=$MUNGE_SOCKET
# sacct then shows the comment Snakemake gives each job: its rule and wildcards.
AccountingStoreFlags=job_comment
NodeName=$NODE NodeAddr=127.0.0.1 $hardware State=UNKNOWN
PartitionName=$PARTITION Nodes=$NODE Default=YES MaxTime=60 State=UP
EOF
  if cmp -s "$DIR/etc/slurm.conf.new" "$SLURM_CONF"; then
    rm "$DIR/etc/slurm.conf.new"
  else
    mv "$DIR/etc/slurm.conf.new" "$SLURM_CONF"
    # A running cluster from an earlier version of this script takes the new settings.
    if alive slurmctld; then scontrol reconfigure; fi
  fi
  link_default_conf
  : >"$DIR/etc/plugstack.conf"
  # slurmdbd reads slurmdbd.conf beside $SLURM_CONF; it holds the database password, so 0600.
  (umask 077 && cat >"$DIR/etc/slurmdbd.conf" <<EOF
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
DbdHost=$NODE
DbdAddr=127.0.0.1
DbdPort=$DBD_PORT
SlurmUser=root
PidFile=$DIR/run/slurmdbd.pid
LogFile=$DIR/log/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=slurm
StorageLoc=slurm_acct_db
EOF
  )
}

link_default_conf() {
  [ "$(readlink "$DEFAULT_CONF" 2>/dev/null)" = "$SLURM_CONF" ] && return
  mkdir -p "$(dirname "$DEFAULT_CONF")"
  if [ -e "$DEFAULT_CONF" ] || [ -L "$DEFAULT_CONF" ]; then
    [ ! -e "$SET_ASIDE" ] || die "both $DEFAULT_CONF and $SET_ASIDE exist; put the right one back by hand"
    log "setting $DEFAULT_CONF aside as $SET_ASIDE until stop"
    mv "$DEFAULT_CONF" "$SET_ASIDE"
  fi
  ln -s "$SLURM_CONF" "$DEFAULT_CONF"
}

unlink_default_conf() {
  [ "$(readlink "$DEFAULT_CONF" 2>/dev/null)" = "$SLURM_CONF" ] && rm -f "$DEFAULT_CONF"
  if [ -e "$SET_ASIDE" ] && [ ! -e "$DEFAULT_CONF" ]; then mv "$SET_ASIDE" "$DEFAULT_CONF"; fi
  return 0
}

start_munge() {
  alive munged && return
  [ -s "$DIR/munge/munge.key" ] || mungekey --create --keyfile="$DIR/munge/munge.key"
  munged --socket="$MUNGE_SOCKET" --key-file="$DIR/munge/munge.key" --pid-file="$DIR/run/munged.pid" \
    --log-file="$DIR/log/munged.log" --seed-file="$DIR/munge/munged.seed" </dev/null >>"$DIR/log/munged.log" 2>&1 ||
    die "munged did not start; see $DIR/log/munged.log"
  wait_for munged test -S "$MUNGE_SOCKET"
}

database() { mariadb --no-defaults --socket="$DB_SOCKET" --user=root "$@"; }

start_database() {
  if ! alive mariadbd; then
    if [ ! -d "$DIR/mysql/data/mysql" ]; then
      mariadb-install-db --no-defaults --datadir="$DIR/mysql/data" --user=root \
        --auth-root-authentication-method=socket --skip-test-db >>"$DIR/log/mariadb.log" 2>&1
    fi
    # mariadbd does not fork: detach it (its own session, no terminal, no inherited pipes).
    setsid mariadbd --no-defaults --datadir="$DIR/mysql/data" --socket="$DB_SOCKET" --port="$DB_PORT" \
      --bind-address=127.0.0.1 --pid-file="$DIR/run/mariadbd.pid" --log-error="$DIR/log/mariadb.log" \
      --user=root --skip-log-bin --innodb-lock-wait-timeout=900 </dev/null >>"$DIR/log/mariadb.log" 2>&1 &
    echo $! >"$DIR/run/mariadbd.pid"
  fi
  wait_for MariaDB database --execute="SELECT 1"
  database --execute="CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY 'slurm';
    GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';"
}

start_slurmdbd() {
  alive slurmdbd || slurmdbd </dev/null >>"$DIR/log/slurmdbd.log" 2>&1 || die "slurmdbd did not start; see $DIR/log/slurmdbd.log"
  wait_for slurmdbd sacctmgr --noheader list cluster
  # slurmctld registers only with a cluster the database knows.
  if ! sacctmgr --noheader --parsable2 list cluster format=cluster | grep -qx "$CLUSTER"; then
    sacctmgr --immediate add cluster "$CLUSTER" >/dev/null
  fi
}

start_slurm() {
  alive slurmctld || slurmctld </dev/null >>"$DIR/log/slurmctld.log" 2>&1 || die "slurmctld did not start; see $DIR/log/slurmctld.log"
  alive slurmd || slurmd </dev/null >>"$DIR/log/slurmd.log" 2>&1 || die "slurmd did not start; see $DIR/log/slurmd.log"
  node_idle() { [ "$(sinfo --noheader --nodes="$NODE" --format=%t 2>/dev/null)" = idle ]; }
  wait_for "node $NODE (idle in sinfo)" node_idle
}

start() {
  [ "$(id -u)" -eq 0 ] || die "run as root: the test cluster's daemons run as root"
  require_installed
  write_config
  start_munge
  start_database
  start_slurmdbd
  start_slurm
  log "cluster $CLUSTER is up: partition $PARTITION on $NODE ($(sinfo --noheader --format=%c) CPUs); export SLURM_CONF=$SLURM_CONF"
}

stop_daemons() {  # stop_daemons NAME...: SIGTERM to each, SIGKILL to any still there after 20 s
  local name pid pids=()
  for name in "$@"; do
    pid=$(running_pid "$name") && kill -TERM "$pid" 2>/dev/null && pids+=("$pid")
  done
  local deadline=$((SECONDS + 20))
  for pid in "${pids[@]}"; do
    while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
      log "pid $pid ($(cat "/proc/$pid/comm" 2>/dev/null)) ignored SIGTERM; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
}

stop() {
  if [ -d "$DIR" ] && [ ! -e "$MARKER" ]; then
    die "$DIR was not made by this script; not touching it (set IMDB_SLURM_DIR to the cluster's folder)"
  fi
  if alive slurmctld; then
    # slurmstepd outlives slurmd: cancel the jobs first so that none of their processes stay.
    local jobs deadline=$((SECONDS + 30))
    mapfile -t jobs < <(squeue --noheader --format=%A 2>/dev/null || true)
    [ ${#jobs[@]} -eq 0 ] || scancel "${jobs[@]}" 2>/dev/null || true
    while [ -n "$(squeue --noheader --states=PD,R,CG --format=%A 2>/dev/null)" ] && [ "$SECONDS" -lt "$deadline" ]; do
      sleep 0.5
    done
  fi
  # SLURM first: slurmctld hands its last records to slurmdbd, which needs MariaDB and munge.
  stop_daemons slurmd slurmctld
  stop_daemons slurmdbd
  stop_daemons mariadbd munged
  unlink_default_conf
  rm -rf "$DIR"
  log "stopped; removed $DIR"
}

status() {
  local daemon down=0
  for daemon in munged mariadbd slurmdbd slurmctld slurmd; do
    if alive "$daemon"; then echo "$daemon: running (pid $(running_pid "$daemon"))"; else echo "$daemon: not running"; down=1; fi
  done
  [ "$down" -eq 0 ] || return 3
  sinfo --Node --long
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
