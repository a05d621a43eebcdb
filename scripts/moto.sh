#!/usr/bin/env bash
# Local AWS emulator (moto server) for Otto.
#
#   scripts/moto.sh start    # start on a free 127.0.0.1 port (prints the endpoint URL)
#   scripts/moto.sh stop     # stop it (no error when not running)
#   scripts/moto.sh status   # "running http://127.0.0.1:PORT (pid N)" or "stopped" (exit 1)
#
# State lives in .tmp/ at the repo root: moto.pid, moto.port, moto.log.
# Then: eval "$(.venv/bin/python infra/local/bootstrap.py --endpoint "$(scripts/moto.sh url)")"
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
MOTO="$VENV/bin/moto_server"
# moto served one request at a time (see infra/local/moto_serial.py for why).
SERIAL="$ROOT/infra/local/moto_serial.py"
TMP="$ROOT/.tmp"
PID_FILE="$TMP/moto.pid"
PORT_FILE="$TMP/moto.port"
LOG_FILE="$TMP/moto.log"

die() { echo "moto.sh: $*" >&2; exit 1; }

# pid of a live moto server started by us, or nothing
live_pid() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid
  pid="$(cat "$PID_FILE" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

url() { echo "http://127.0.0.1:$(cat "$PORT_FILE")"; }

answers() {
  "$PY" - "$1" <<'PY' >/dev/null 2>&1
import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen(sys.argv[1] + "/moto-api/", timeout=1)
except urllib.error.HTTPError:
    pass  # any HTTP answer means the server is up
PY
}

cmd_start() {
  [[ -x "$MOTO" ]] || die "$MOTO not found; create the venv first (python3 -m venv .venv && .venv/bin/pip install 'moto[server]')"
  if pid="$(live_pid)"; then
    echo "moto already running at $(url) (pid $pid)"
    return 0
  fi
  mkdir -p "$TMP"
  local port
  port="$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
  nohup "$PY" "$SERIAL" -H 127.0.0.1 -p "$port" >"$LOG_FILE" 2>&1 &
  local pid=$!
  echo "$pid" >"$PID_FILE"
  echo "$port" >"$PORT_FILE"
  local i
  for i in $(seq 1 80); do  # ~20 s
    if answers "http://127.0.0.1:$port"; then
      echo "moto running at http://127.0.0.1:$port (pid $pid)"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$PID_FILE" "$PORT_FILE"
      tail -n 20 "$LOG_FILE" >&2 || true
      die "moto_server exited during startup (log: $LOG_FILE)"
    fi
    sleep 0.25
  done
  kill "$pid" 2>/dev/null || true
  rm -f "$PID_FILE" "$PORT_FILE"
  die "moto_server did not answer on port $port within 20 s (log: $LOG_FILE)"
}

cmd_stop() {
  local pid
  if pid="$(live_pid)"; then
    kill "$pid" 2>/dev/null || true
    local i
    for i in $(seq 1 40); do  # ~10 s, then force
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.25
    done
    if kill -0 "$pid" 2>/dev/null; then
      kill -9 "$pid" 2>/dev/null || true
    fi
    echo "moto stopped (pid $pid)"
  else
    echo "moto not running"
  fi
  rm -f "$PID_FILE" "$PORT_FILE"
}

cmd_status() {
  local pid
  if pid="$(live_pid)" && [[ -f "$PORT_FILE" ]]; then
    echo "running $(url) (pid $pid)"
  else
    echo "stopped"
    return 1
  fi
}

cmd_url() {
  live_pid >/dev/null && [[ -f "$PORT_FILE" ]] || die "moto not running (scripts/moto.sh start)"
  url
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  url) cmd_url ;;
  *) echo "usage: $0 start|stop|status|url" >&2; exit 2 ;;
esac
