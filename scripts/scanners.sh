#!/usr/bin/env bash
# scanners.sh install|start|stop|status -- clamd and rspamd on loopback, offline, for mailflow's
# integration tests and for trying the rspamd/clamd scanners by hand.
#
#   install  apt-get the Debian packages (clamav-daemon, rspamd) unless the binaries are there
#   start    write configs under $SCANNERS_DIR, start both daemons, wait until their ports answer
#   stop     TERM what `start` started (pid files), KILL after 10 s (rspamd: its process group)
#   status   one line per daemon: running/stopped, pid, port
#
# Everything binds 127.0.0.1 only. clamd gets a one-signature database (the EICAR test file, decoded
# from base64 at run time so the repository never holds the string) because no signature download is
# possible here; never run freshclam. rspamd's network-using modules are disabled and its resolver is
# pointed at a loopback port where nothing answers. See /work/shared/research/scanners.md.
#
# Environment (defaults): SCANNERS_DIR (/tmp/mailflow-scanners), CLAMD_PORT (3310),
# RSPAMD_PORT (11333), RSPAMD_CTL_PORT (11334), RSPAMD_DNS (127.0.0.1:5399),
# RSPAMD_DBDIR ($SCANNERS_DIR/rspamd/db; keep it between runs: a cold start compiles for ~13 s),
# SCANNERS ("clamd rspamd": which daemons start/stop act on).
set -euo pipefail

BASE=${SCANNERS_DIR:-/tmp/mailflow-scanners}
CLAMD_PORT=${CLAMD_PORT:-3310}
RSPAMD_PORT=${RSPAMD_PORT:-11333}
RSPAMD_CTL_PORT=${RSPAMD_CTL_PORT:-11334}
RSPAMD_DNS=${RSPAMD_DNS:-127.0.0.1:5399}
RSPAMD_DBDIR=${RSPAMD_DBDIR:-$BASE/rspamd/db}
SCANNERS=${SCANNERS:-clamd rspamd}
CLAMD_BIN=${CLAMD_BIN:-$(command -v clamd || echo /usr/sbin/clamd)}
RSPAMD_BIN=${RSPAMD_BIN:-$(command -v rspamd || echo /usr/bin/rspamd)}
# The EICAR anti-virus test file, base64 (68 bytes decoded).
EICAR_B64='WDVPIVAlQEFQWzRcUFpYNTQoUF4pN0NDKTd9JEVJQ0FSLVNUQU5EQVJELUFOVElWSVJVUy1URVNULUZJTEUhJEgrSCo='

wants() { [[ " $SCANNERS " == *" $1 "* ]]; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

install() {
  local need=()
  wants clamd && [ ! -x "$CLAMD_BIN" ] && need+=(clamav-daemon)
  wants rspamd && [ ! -x "$RSPAMD_BIN" ] && need+=(rspamd)
  [ ${#need[@]} -eq 0 ] && { echo "installed: $SCANNERS"; return 0; }
  command -v apt-get >/dev/null || { echo "apt-get not found; install ${need[*]} by hand" >&2; return 1; }
  apt-get update -qq
  # --no-install-recommends: no redis-server, no clamdscan (neither is needed)
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
}

configure_clamd() {
  mkdir -p "$BASE/clamav/db"
  local hex
  hex=$(printf '%s' "$EICAR_B64" | base64 -d | od -An -tx1 | tr -d ' \n')
  printf 'Test.EICAR.NDB:0:*:%s\n' "$hex" > "$BASE/clamav/db/eicar.ndb"
  # TCPAddr matters: without it clamd binds every interface.
  cat > "$BASE/clamav/clamd.conf" <<EOF
DatabaseDirectory $BASE/clamav/db
TCPSocket $CLAMD_PORT
TCPAddr 127.0.0.1
Foreground true
LogFile $BASE/clamav/clamd.log
LogTime true
TemporaryDirectory /tmp
SelfCheck 0
Bytecode false
EOF
}

configure_rspamd() {
  local d="$BASE/rspamd" m
  mkdir -p "$d/local.d" "$d/override.d" "$d/run" "$d/log" "$RSPAMD_DBDIR"
  cat > "$d/local.d/options.inc" <<EOF
dns {
  nameserver = ["$RSPAMD_DNS"];
  timeout = 1s;
  retransmits = 1;
}
EOF
  printf 'level = "notice";\n' > "$d/local.d/logging.inc"
  printf 'bind_socket = "127.0.0.1:%s";\ncount = 1;\n' "$RSPAMD_PORT" > "$d/override.d/worker-normal.inc"
  printf 'bind_socket = "127.0.0.1:%s";\ncount = 1;\n' "$RSPAMD_CTL_PORT" > "$d/override.d/worker-controller.inc"
  printf 'enabled = false;\n' > "$d/override.d/worker-proxy.inc"
  # Every module that reaches the network (or the system resolver) is off.
  for m in rbl fuzzy_check asn phishing hfilter spf dkim dmarc arc dkim_signing once_received whitelist greylist; do
    printf 'enabled = false;\n' > "$d/local.d/$m.conf"
  done
  # rspamd refuses to run workers as root; its data dirs must belong to _rspamd.
  if [ "$(id -u)" = 0 ]; then chown _rspamd:_rspamd "$RSPAMD_DBDIR" "$d/run" "$d/log"; fi
}

wait_port() { # port pid seconds name
  local i
  for ((i = 0; i < $3 * 20; i++)); do
    kill -0 "$2" 2>/dev/null || { echo "$4 (pid $2) exited; see its log under $BASE" >&2; return 1; }
    port_open "$1" && return 0
    sleep 0.05
  done
  echo "$4: port $1 not open after $3 s" >&2
  return 1
}

start() {
  mkdir -p "$BASE"
  if wants clamd; then
    [ -x "$CLAMD_BIN" ] || { echo "clamd not installed (run: $0 install)" >&2; return 1; }
    port_open "$CLAMD_PORT" && { echo "port $CLAMD_PORT already in use" >&2; return 1; }
  fi
  if wants rspamd; then
    [ -x "$RSPAMD_BIN" ] || { echo "rspamd not installed (run: $0 install)" >&2; return 1; }
    for p in "$RSPAMD_PORT" "$RSPAMD_CTL_PORT"; do
      port_open "$p" && { echo "port $p already in use" >&2; return 1; }
    done
  fi
  if wants clamd; then
    configure_clamd
    "$CLAMD_BIN" --config-file="$BASE/clamav/clamd.conf" > "$BASE/clamav/stdout.log" 2>&1 &
    echo $! > "$BASE/clamd.pid"
  fi
  if wants rspamd; then
    configure_rspamd
    local user=()
    [ "$(id -u)" = 0 ] && user=(-u _rspamd -g _rspamd)
    # setsid: rspamd leads its own process group, so stop can reach workers a dead master leaves behind
    setsid "$RSPAMD_BIN" -f "${user[@]}" -c /etc/rspamd/rspamd.conf \
      --var="LOCAL_CONFDIR=$BASE/rspamd" --var="DBDIR=$RSPAMD_DBDIR" \
      --var="RUNDIR=$BASE/rspamd/run" --var="LOGDIR=$BASE/rspamd/log" \
      > "$BASE/rspamd/stdout.log" 2>&1 &
    echo $! > "$BASE/rspamd.pid"
  fi
  local rc=0
  wants clamd && { wait_port "$CLAMD_PORT" "$(cat "$BASE/clamd.pid")" 30 clamd || rc=1; }
  wants rspamd && { wait_port "$RSPAMD_PORT" "$(cat "$BASE/rspamd.pid")" 90 rspamd || rc=1; }
  if [ $rc -ne 0 ]; then stop; return 1; fi
  status
}

stop() {
  local f pid i pids=()
  for f in "$BASE/rspamd.pid" "$BASE/clamd.pid"; do
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    rm -f "$f"
    [[ "$pid" =~ ^[0-9]+$ ]] || continue
    kill -TERM "$pid" 2>/dev/null && pids+=("$pid")
  done
  for pid in "${pids[@]+"${pids[@]}"}"; do
    for ((i = 0; i < 200; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true; fi
  done
  return 0
}

status() {
  local name pid port
  for name in clamd rspamd; do
    wants "$name" || continue
    port=$CLAMD_PORT; [ "$name" = rspamd ] && port=$RSPAMD_PORT
    pid=$(cat "$BASE/$name.pid" 2>/dev/null || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      echo "$name running pid=$pid 127.0.0.1:$port $(port_open "$port" && echo listening || echo not-listening)"
    else
      echo "$name stopped"
    fi
  done
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
