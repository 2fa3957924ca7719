#!/usr/bin/env bash
# A one-node Slurm on this machine, with accounting (slurmdbd + MariaDB) because NeMo-Run polls `sacct` for job status.
#
#   tests/slurm/local_slurm.sh install   apt-get install slurm-wlm munge slurmdbd mariadb-server (Debian/Ubuntu, as root)
#   tests/slurm/local_slurm.sh start     install if needed, write the configs, start the daemons, wait until the node is idle
#   tests/slurm/local_slurm.sh status    exit 0 when the node answers and is idle or busy
#   tests/slurm/local_slurm.sh stop      stop the daemons this script started, by the pids in their pid files
#   tests/slurm/local_slurm.sh stop --force   stop them even if another user of this script still needs them
#
# Several test runs may share the one Slurm of a machine: `start` registers its caller ($LOCAL_SLURM_USER, default the
# calling process) and `stop` stops the daemons only when no other registered caller is still alive.
#
# Runs as root (or through sudo). No systemd needed: the daemons are started by hand. The node is this host
# (`hostname -s`) with all its cores in partition `debug`, cluster `localcluster`. It refuses to overwrite a
# /etc/slurm/slurm.conf that it did not write itself, so it cannot clobber a real cluster's configuration.
set -euo pipefail
MARK="# written by nemotron_nb tests/slurm/local_slurm.sh"
H=$(hostname -s)
CPUS=$(nproc)
CONF=/etc/slurm/slurm.conf
DBDCONF=/etc/slurm/slurmdbd.conf
PIDS=(/run/slurmd.pid /run/slurmctld.pid /run/slurmdbd.pid /run/munge/munged.pid /run/mysqld/mysqld.pid)
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
USERS=/run/local_slurm.users
CALLER=${LOCAL_SLURM_USER:-$PPID}
log() { echo "local_slurm: $*" >&2; }
lock() { $SUDO mkdir -p $USERS; exec 9>>$USERS/.lock; flock 9; }  # one start/stop at a time (daemons get 9>&-)

install() {
  if command -v slurmctld >/dev/null && command -v slurmdbd >/dev/null && command -v munged >/dev/null && command -v mariadbd >/dev/null; then
    return 0; fi
  log "installing slurm-wlm munge slurmdbd mariadb-server"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # policy-rc.d 101: the packages' postinst must not try to start services (no systemd here; we start them by hand)
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null; $SUDO chmod +x /usr/sbin/policy-rc.d
  $SUDO apt-get install -y -qq --no-install-recommends slurm-wlm munge slurmdbd mariadb-server mariadb-client >/dev/null
  $SUDO rm -f /usr/sbin/policy-rc.d
}

write_configs() {
  if [ -f $CONF ] && ! grep -qF "$MARK" $CONF; then
    log "$CONF exists and was not written by this script: refusing to overwrite it"; exit 1; fi
  $SUDO mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
  $SUDO tee $CONF >/dev/null <<EOF
$MARK
ClusterName=localcluster
SlurmctldHost=$H
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=30
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
MinJobAge=300
NodeName=$H CPUs=$CPUS State=UNKNOWN
PartitionName=debug Nodes=$H Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
EOF
  $SUDO tee $DBDCONF >/dev/null <<EOF
$MARK
AuthType=auth/munge
DbdHost=localhost
SlurmUser=root
PidFile=/run/slurmdbd.pid
LogFile=/var/log/slurm/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=slurm
StoragePass=slurm-local-test
StorageLoc=slurm_acct_db
EOF
  $SUDO chmod 600 $DBDCONF
}

alive() { [ -f "$1" ] && $SUDO kill -0 "$(cat "$1")" 2>/dev/null; }

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
  local n=$(( $1 * 5 )) what=$2; shift 2
  for _ in $(seq "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  log "timed out waiting for $what"; return 1
}

start() {
  install
  write_configs
  $SUDO mkdir -p /run/munge /var/log/munge /var/lib/munge /etc/munge /run/mysqld
  $SUDO chown munge:munge /run/munge /var/log/munge /var/lib/munge
  [ -f /etc/munge/munge.key ] || { $SUDO dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none;
                                   $SUDO chown munge:munge /etc/munge/munge.key; $SUDO chmod 400 /etc/munge/munge.key; }
  alive /run/munge/munged.pid || $SUDO runuser -u munge -- /usr/sbin/munged 9>&-
  # MariaDB for slurmdbd (the data folder comes from the package; create it if a minimal install skipped it)
  $SUDO chown mysql:mysql /run/mysqld
  [ -d /var/lib/mysql/mysql ] || $SUDO mariadb-install-db --user=mysql --datadir=/var/lib/mysql >/dev/null
  if ! alive /run/mysqld/mysqld.pid; then
    $SUDO bash -c 'nohup /usr/sbin/mariadbd --user=mysql --bind-address=127.0.0.1 --innodb-use-native-aio=0 --pid-file=/run/mysqld/mysqld.pid \
      --socket=/run/mysqld/mysqld.sock >/var/log/slurm/mariadb.log 2>&1 &' 9>&-
  fi
  wait_for 90 MariaDB $SUDO mariadb -e "select 1"
  $SUDO mariadb -e "CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'slurm-local-test';
                    GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost'; FLUSH PRIVILEGES;"
  alive /run/slurmdbd.pid || $SUDO /usr/sbin/slurmdbd 9>&-
  wait_for 60 slurmdbd $SUDO sacctmgr -n -P list cluster format=cluster
  $SUDO sacctmgr -n -P list cluster format=cluster | grep -qx localcluster || $SUDO sacctmgr -i add cluster localcluster >/dev/null
  alive /run/slurmctld.pid || $SUDO /usr/sbin/slurmctld 9>&-
  alive /run/slurmd.pid || $SUDO /usr/sbin/slurmd 9>&-
  wait_for 60 "the node to be idle" status
  log "up: node $H, partition debug, $CPUS CPUs, accounting through slurmdbd"
}

status() {
  local st; st=$(sinfo -h -o %T 2>/dev/null | head -1) || return 1
  [[ "$st" == idle* || "$st" == mix* || "$st" == alloc* ]] || return 1
  sacct -n -X -o jobid >/dev/null 2>&1
}

stop() {  # all at once (each takes ~2 s to exit), then wait; SIGKILL after 15 s
  local pids=() f pid
  for f in "${PIDS[@]}"; do alive "$f" && { pid=$(cat "$f"); $SUDO kill "$pid" && pids+=("$pid"); }; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 150); do $SUDO kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if $SUDO kill -0 "$pid" 2>/dev/null; then $SUDO kill -9 "$pid" || true; fi
  done
  log "stopped"
}

others() {  # registered callers other than this one that are still alive
  local f pid; for f in "$USERS"/*; do [ -e "$f" ] || continue; pid=$(basename "$f")
    if [ "$pid" != "$CALLER" ] && kill -0 "$pid" 2>/dev/null; then echo "$pid"; else [ "$pid" = "$CALLER" ] || $SUDO rm -f "$f"; fi
  done; }

case "${1:-}" in
  install) install ;;
  start) lock; start; $SUDO touch "$USERS/$CALLER" ;;
  stop) lock; $SUDO rm -f "$USERS/$CALLER"
        busy=$(others | tr '\n' ' ')
        if [ -n "$busy" ] && [ "${2:-}" != "--force" ]; then log "still used by process(es) $busy: left running"; else stop; fi ;;
  status) if status; then echo "up: $(sinfo -h -o '%P %T %D' | head -1)"; else echo "down"; exit 1; fi ;;
  *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
