#!/usr/bin/env bash
# An OpenSSH server on 127.0.0.1 of this machine, so that the SSH-tunnel path of the launcher (`tunnel = "ssh"`) can be
# tested for real: NeMo-Run connects to it with fabric/paramiko and submits to the local Slurm (tests/slurm/local_slurm.sh).
#
#   tests/slurm/local_sshd.sh install   apt-get install openssh-server (Debian/Ubuntu, as root; no service is started)
#   tests/slurm/local_sshd.sh start     install if needed, make the keys (once), write sshd_config, start sshd, wait
#                                       until the port answers; prints `port=<port>` and `identity=<client key>`
#   tests/slurm/local_sshd.sh status    exit 0 when this folder's sshd runs (prints its port and key as `start` does)
#   tests/slurm/local_sshd.sh stop      stop that sshd, by the pid in its pid file
#
# Everything lives in $LOCAL_SSHD_DIR (default $TMPDIR/nemotron_sshd, or under /tmp): host keys, the client key `id_ed25519`, the
# `authorized_keys` holding only that key, `sshd_config`, `sshd.pid`, `sshd.log`, `port`. One sshd per folder: give
# concurrent users their own folders. The port is $LOCAL_SSHD_PORT when set, else the first free one from 2222 on.
# It listens on 127.0.0.1 only, lets root (and only root) in with that key only (no passwords), and touches neither
# /etc/ssh nor anyone's ~/.ssh. Runs as root (or through sudo for `install`); no systemd needed.
set -euo pipefail
DIR=${LOCAL_SSHD_DIR:-${TMPDIR:-/tmp}/nemotron_sshd}
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
SSHD=/usr/sbin/sshd
log() { echo "local_sshd: $*" >&2; }

install() {
  if [ -x $SSHD ] && command -v ssh-keygen >/dev/null; then return 0; fi
  log "installing openssh-server"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # policy-rc.d 101: the package's postinst must not start the service (no systemd here; we start sshd by hand)
  local rc=0 ours=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then  # (one that was there already is left alone)
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null; $SUDO chmod +x /usr/sbin/policy-rc.d; ours=1; fi
  $SUDO apt-get install -y -qq --no-install-recommends openssh-server openssh-client >/dev/null || rc=$?
  [ -z "$ours" ] || $SUDO rm -f /usr/sbin/policy-rc.d
  return $rc
}

alive() { [ -f "$DIR/sshd.pid" ] && kill -0 "$(cat "$DIR/sshd.pid")" 2>/dev/null; }

answers() {  # answers PORT: an SSH server greets on 127.0.0.1:PORT
  local banner
  banner=$(timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1 && head -c 4 <&3" 2>/dev/null) || return 1
  [ "$banner" = "SSH-" ]
}

in_use() { timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

report() { echo "port=$(cat "$DIR/port")"; echo "identity=$DIR/id_ed25519"; }

keys() {
  mkdir -p "$DIR"; chmod 700 "$DIR"
  [ -f "$DIR/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N "" -C "nemotron-test-host" -f "$DIR/ssh_host_ed25519_key"
  [ -f "$DIR/ssh_host_rsa_key" ] || ssh-keygen -q -t rsa -b 3072 -N "" -C "nemotron-test-host" -f "$DIR/ssh_host_rsa_key"
  [ -f "$DIR/id_ed25519" ] || ssh-keygen -q -t ed25519 -N "" -C "nemotron-test-client" -f "$DIR/id_ed25519"
  # only that key, and only from this machine
  echo "from=\"127.0.0.1\" $(cat "$DIR/id_ed25519.pub")" > "$DIR/authorized_keys"
  chmod 600 "$DIR/authorized_keys" "$DIR/id_ed25519" "$DIR"/ssh_host_*_key
}

write_config() {  # write_config PORT
  cat > "$DIR/sshd_config" <<EOF
# written by nemotron_nb tests/slurm/local_sshd.sh
ListenAddress 127.0.0.1
Port $1
HostKey $DIR/ssh_host_ed25519_key
HostKey $DIR/ssh_host_rsa_key
PidFile $DIR/sshd.pid
AuthorizedKeysFile $DIR/authorized_keys
AllowUsers root
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
HostbasedAuthentication no
PermitEmptyPasswords no
UsePAM no
StrictModes no
AllowAgentForwarding no
AllowTcpForwarding no
X11Forwarding no
PermitUserEnvironment no
PrintMotd no
PrintLastLog no
MaxStartups 100:30:200
MaxSessions 100
LogLevel VERBOSE
Subsystem sftp internal-sftp
EOF
}

start() {
  install
  exec 9>>"${DIR}.lock"; flock 9  # one start/stop per folder at a time (sshd gets 9>&-)
  keys
  if alive && answers "$(cat "$DIR/port" 2>/dev/null || echo 0)"; then report; return 0; fi
  $SUDO mkdir -p /run/sshd; $SUDO chmod 755 /run/sshd  # sshd's privilege separation folder
  local ports p
  if [ -n "${LOCAL_SSHD_PORT:-}" ]; then ports=$LOCAL_SSHD_PORT; else ports=$(seq 2222 2321); fi
  for p in $ports; do
    in_use "$p" && continue
    write_config "$p"
    $SSHD -t -f "$DIR/sshd_config" || { log "sshd rejects $DIR/sshd_config"; exit 1; }
    rm -f "$DIR/sshd.pid"
    $SSHD -f "$DIR/sshd_config" -E "$DIR/sshd.log" 9>&- || continue
    for _ in $(seq 50); do  # up to 10 s: it forks, writes its pid file and greets
      if alive && answers "$p"; then echo "$p" > "$DIR/port"; log "up on 127.0.0.1:$p ($DIR)"; report; return 0; fi
      [ -f "$DIR/sshd.pid" ] && ! alive && break  # it exited (e.g. the port was taken meanwhile)
      sleep 0.2
    done
    alive && kill "$(cat "$DIR/sshd.pid")" 2>/dev/null || true
  done
  log "could not start sshd on 127.0.0.1 (ports tried: $(echo $ports | tr '\n' ' ')); see $DIR/sshd.log"
  tail -5 "$DIR/sshd.log" >&2 2>/dev/null || true
  exit 1
}

stop() {
  [ -d "$DIR" ] || { log "nothing to stop ($DIR does not exist)"; return 0; }
  exec 9>>"${DIR}.lock"; flock 9
  if alive; then
    local pid; pid=$(cat "$DIR/sshd.pid")
    kill "$pid"
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" || true
    log "stopped sshd $pid"
  else log "not running"; fi
  rm -f "$DIR/sshd.pid"
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  status) if alive && answers "$(cat "$DIR/port" 2>/dev/null || echo 0)"; then report; else echo "down"; exit 1; fi ;;
  *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
