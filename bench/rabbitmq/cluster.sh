#!/usr/bin/env bash
# A three-node RabbitMQ cluster on loopback for the AMQP benchmark (bench/amqp), side by side with
# Warren. Debian's rabbitmq-server (3.10 on bookworm); installs it if missing (root, apt).
#
#   bench/rabbitmq/cluster.sh start          install if needed, start rabbit1..3@localhost, cluster them
#   bench/rabbitmq/cluster.sh stop           stop every node (rabbitmqctl stop, then SIGKILL by pid)
#   bench/rabbitmq/cluster.sh status         cluster_status as seen by rabbit1
#   bench/rabbitmq/cluster.sh leader QUEUE   print the quorum queue's leader (e.g. rabbit2@localhost)
#   bench/rabbitmq/cluster.sh kill NODE      kill -9 the beam process of NODE (rabbit2 or rabbit2@localhost)
#   bench/rabbitmq/cluster.sh restart NODE   start NODE again after a kill; waits until it is running
#
# Ports: AMQP 5682-5684 (override with RMQ_BASE_PORT), Erlang distribution AMQP+20000, no
# management plugin (it costs CPU on a 2-core machine and the benchmark does not need it).
# State lives under RMQ_DIR (default /tmp/warren-bench-rabbitmq): per node mnesia, logs and a pid
# file. The benchmark declares its queues with x-queue-type=quorum itself.
set -euo pipefail

RMQ_DIR="${RMQ_DIR:-/tmp/warren-bench-rabbitmq}"
RMQ_BASE_PORT="${RMQ_BASE_PORT:-5682}"
NODES=(rabbit1 rabbit2 rabbit3)
# One Erlang cookie for the three nodes and the CLI tools (they read $HOME/.erlang.cookie).
export HOME="$RMQ_DIR/home"
# Debian's /usr/sbin wrappers su to the rabbitmq user (dropping HOME and our RABBITMQ_* variables):
# run the real scripts as the caller instead.
export PATH="/usr/lib/rabbitmq/bin:$PATH"

short() { echo "${1%%@*}"; }
index_of() { case "$(short "$1")" in rabbit1) echo 0 ;; rabbit2) echo 1 ;; rabbit3) echo 2 ;; *) echo "unknown node $1" >&2; exit 2 ;; esac; }

node_env() {
  local name="$1" i
  i="$(index_of "$name")"
  local port=$((RMQ_BASE_PORT + i))
  echo "RABBITMQ_NODENAME=$name@localhost"
  echo "RABBITMQ_NODE_IP_ADDRESS=127.0.0.1"
  echo "RABBITMQ_NODE_PORT=$port"
  echo "RABBITMQ_DIST_PORT=$((port + 20000))"
  echo "RABBITMQ_MNESIA_BASE=$RMQ_DIR/$name/mnesia"
  echo "RABBITMQ_LOG_BASE=$RMQ_DIR/$name/log"
  echo "RABBITMQ_PID_FILE=$RMQ_DIR/$name/pid"
  echo "RABBITMQ_CONFIG_FILE=$RMQ_DIR/rabbitmq"
  echo "RABBITMQ_ENABLED_PLUGINS_FILE=$RMQ_DIR/enabled_plugins"
  # Keep each VM small: two schedulers like the machine, no busy-waiting schedulers that would
  # steal CPU from the other two nodes (and from Warren) on a shared 2-core box.
  echo "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=-sbwt none -sbwtdcpu none -sbwtdio none"
}

ctl() { local n="$1"; shift; rabbitmqctl -n "$(short "$n")@localhost" "$@"; }

install() {
  if [[ ! -x /usr/lib/rabbitmq/bin/rabbitmq-server ]]; then
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y rabbitmq-server
  fi
  # The Debian package may start its own node on 5672 (Warren's port): stop it.
  if command -v service >/dev/null 2>&1; then service rabbitmq-server stop >/dev/null 2>&1 || true; fi
}

launch_node() {
  local name="$1"
  # A second rabbitmq-server for a running node would fail and delete the running node's pid file.
  if rabbitmq-diagnostics -q -n "$name@localhost" ping >/dev/null 2>&1; then return 0; fi
  mkdir -p "$RMQ_DIR/$name/mnesia" "$RMQ_DIR/$name/log"
  # setsid: the node outlives this script and is not hit by the caller's Ctrl-C.
  (
    while IFS= read -r kv; do export "${kv?}"; done < <(node_env "$name")
    exec setsid rabbitmq-server >>"$RMQ_DIR/$name/log/stdout" 2>&1 </dev/null
  ) &
}

await_node() {
  local name="$1"
  local deadline=$((SECONDS + 120))
  until ctl "$name" await_startup --timeout 5 >/dev/null 2>&1; do
    if ((SECONDS > deadline)); then echo "$name did not start; see $RMQ_DIR/$name/log" >&2; exit 1; fi
    sleep 1
  done
}

start() {
  install
  mkdir -p "$HOME"
  if [[ ! -f "$HOME/.erlang.cookie" ]]; then
    head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$HOME/.erlang.cookie"
    chmod 400 "$HOME/.erlang.cookie"
  fi
  cat >"$RMQ_DIR/rabbitmq.conf" <<EOF
loopback_users = none
vm_memory_high_watermark.relative = 0.6
disk_free_limit.absolute = 50MB
EOF
  echo "[]." >"$RMQ_DIR/enabled_plugins"
  # All at once: a clustered node that was not the last to stop waits for its peers' tables.
  for n in "${NODES[@]}"; do launch_node "$n"; done
  for n in "${NODES[@]}"; do await_node "$n"; done
  for n in rabbit2 rabbit3; do
    if ! ctl rabbit1 cluster_status 2>/dev/null | grep -q "$n@localhost"; then
      ctl "$n" stop_app >/dev/null
      ctl "$n" join_cluster rabbit1@localhost >/dev/null
      ctl "$n" start_app >/dev/null
    fi
  done
  echo "rabbitmq: 3 nodes up: amqp://guest:guest@127.0.0.1:$RMQ_BASE_PORT,$((RMQ_BASE_PORT + 1)),$((RMQ_BASE_PORT + 2)) (state in $RMQ_DIR)"
}

stop() {
  for n in "${NODES[@]}"; do
    ctl "$n" stop >/dev/null 2>&1 || true
    if [[ -f "$RMQ_DIR/$n/pid" ]]; then
      local pid deadline=$((SECONDS + 10))
      pid="$(cat "$RMQ_DIR/$n/pid")"
      while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
      kill -9 "$pid" >/dev/null 2>&1 || true
      rm -f "$RMQ_DIR/$n/pid"
    fi
  done
  sleep 1
  # epmd is shared by every Erlang node on the machine; stop it only if no node is left.
  if ! epmd -names 2>/dev/null | grep -q "name "; then epmd -kill >/dev/null 2>&1 || true; fi
  echo "rabbitmq: stopped"
}

leader() {
  local q="$1" n
  for n in "${NODES[@]}"; do
    # quorum_status prints one row per member; the leader's row says "leader".
    if out="$(rabbitmq-queues -n "$n@localhost" quorum_status "$q" 2>/dev/null)"; then
      echo "$out" | awk '/leader/ { for (i = 1; i <= NF; i++) if ($i ~ /@/) { print $i; exit } }'
      return 0
    fi
  done
  echo "no node answered quorum_status for $q" >&2
  exit 1
}

kill_node() {
  local n
  n="$(short "$1")"
  kill -9 "$(cat "$RMQ_DIR/$n/pid")"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) ctl rabbit1 cluster_status ;;
  leader) leader "$2" ;;
  kill) kill_node "$2" ;;
  restart) launch_node "$(short "$2")" && await_node "$(short "$2")" ;;
  *) sed -n '2,12p' "$0" >&2; exit 2 ;;
esac
