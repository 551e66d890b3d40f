#!/usr/bin/env bash
# A three-node Warren cluster on loopback for the AMQP benchmark, with one pid file per node so
# scenario (e) can kill -9 a queue leader's process and start it again. Runs the nodes from the
# TypeScript sources (node --import tsx node/main.ts), like cluster-tests/ do.
#
#   bench/amqp/warren-cluster.sh start          start n1..n3 (fresh data), wait for GET /ready = 200 on each
#   bench/amqp/warren-cluster.sh stop           SIGTERM every node, SIGKILL after 15 s
#   bench/amqp/warren-cluster.sh kill NODE      kill -9 NODE (n1, n2 or n3)
#   bench/amqp/warren-cluster.sh restart NODE   start NODE again on its data; wait until ready and seen by the others
#   bench/amqp/warren-cluster.sh leader QUEUE   print the queue's Raft leader (GET /api/queues/%2F/QUEUE)
#
# Ports: AMQP WARREN_BASE_PORT.. (default 5672), HTTP +10000, Raft +20000. State (data, logs, pid
# files, the cluster secret) under WARREN_BENCH_DIR (default /tmp/warren-bench-warren).
# BENCH_NODE_ARGS adds node flags (not WARREN_*: the node refuses unknown WARREN_ variables), e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
DIR="${WARREN_BENCH_DIR:-/tmp/warren-bench-warren}"
BASE="${WARREN_BASE_PORT:-5672}"
NODES=(n1 n2 n3)

idx() { case "$1" in n1) echo 0 ;; n2) echo 1 ;; n3) echo 2 ;; *) echo "unknown node $1" >&2; exit 2 ;; esac; }

peers_of() {
  local me="$1" out="" n i
  for n in "${NODES[@]}"; do
    [[ "$n" == "$me" ]] && continue
    i="$(idx "$n")"
    out+="${out:+,}$n=127.0.0.1:$((BASE + 20000 + i));amqp=127.0.0.1:$((BASE + i));http=127.0.0.1:$((BASE + 10000 + i))"
  done
  echo "$out"
}

launch() {
  local n="$1" i
  i="$(idx "$n")"
  mkdir -p "$DIR/$n"
  (
    cd "$ROOT"
    # The script's own settings are not node settings (the node refuses unknown WARREN_ variables).
    unset WARREN_BENCH_DIR WARREN_BASE_PORT
    # shellcheck disable=SC2086
    WARREN_NODE_ID="$n" WARREN_DATA_DIR="$DIR/$n" WARREN_CLUSTER_SECRET_FILE="$DIR/cluster-secret" \
      WARREN_AMQP_HOST=127.0.0.1 WARREN_HTTP_HOST=127.0.0.1 WARREN_RAFT_HOST=127.0.0.1 \
      WARREN_AMQP_PORT=$((BASE + i)) WARREN_HTTP_PORT=$((BASE + 10000 + i)) WARREN_RAFT_PORT=$((BASE + 20000 + i)) \
      WARREN_PEERS="$(peers_of "$n")" WARREN_LOG_LEVEL="${WARREN_LOG_LEVEL:-warn}" \
      setsid node ${BENCH_NODE_ARGS:-} --import tsx node/main.ts >>"$DIR/$n.log" 2>&1 </dev/null &
    echo $! >"$DIR/$n.pid"
  )
}

wait_ready() {
  local n="$1" i deadline=$((SECONDS + 90))
  i="$(idx "$n")"
  until curl -sf -o /dev/null "http://127.0.0.1:$((BASE + 10000 + i))/ready"; do
    if ((SECONDS > deadline)); then echo "$n not ready in 90 s; see $DIR/$n.log" >&2; exit 1; fi
    sleep 0.5
  done
}

# A restarted node is ready before the others have reconnected to it (their reconnect backoff
# runs up to 2 s), and a queue declared meanwhile gets no replica on it: placement takes the nodes
# whose connection is up. Scenario (e) then killed the leader of a two-replica queue (a minority:
# no confirm for the rest of the run). So wait until every other running node lists it as running.
wait_seen() {
  local n="$1" other j deadline=$((SECONDS + 30))
  for other in "${NODES[@]}"; do
    [[ "$other" == "$n" ]] && continue
    [[ -f "$DIR/$other.pid" ]] && kill -0 "$(cat "$DIR/$other.pid")" 2>/dev/null || continue
    j="$(idx "$other")"
    until curl -sf -u guest:guest "http://127.0.0.1:$((BASE + 10000 + j))/api/nodes" |
      node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.exit(JSON.parse(s).some(x=>x.name===process.argv[1]&&x.running)?0:1))' "$n"; do
      if ((SECONDS > deadline)); then echo "$other does not see $n running after 30 s" >&2; exit 1; fi
      sleep 0.2
    done
  done
}

start() {
  rm -rf "$DIR"
  mkdir -p "$DIR"
  head -c 32 /dev/urandom | base64 >"$DIR/cluster-secret"
  chmod 600 "$DIR/cluster-secret"
  for n in "${NODES[@]}"; do launch "$n"; done
  for n in "${NODES[@]}"; do wait_ready "$n"; done
  echo "warren: 3 nodes ready: amqp://guest:guest@127.0.0.1:$BASE,$((BASE + 1)),$((BASE + 2)) (state in $DIR)"
}

stop() {
  local n pid deadline
  for n in "${NODES[@]}"; do
    [[ -f "$DIR/$n.pid" ]] && kill -TERM "$(cat "$DIR/$n.pid")" 2>/dev/null || true
  done
  for n in "${NODES[@]}"; do
    [[ -f "$DIR/$n.pid" ]] || continue
    pid="$(cat "$DIR/$n.pid")"
    deadline=$((SECONDS + 15))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$DIR/$n.pid"
  done
  echo "warren: stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  kill) kill -9 "$(cat "$DIR/$2.pid")" ;;
  restart) launch "$2" && wait_ready "$2" && wait_seen "$2" ;;
  leader)
    for i in 0 1 2; do
      if out="$(curl -sf -u guest:guest "http://127.0.0.1:$((BASE + 10000 + i))/api/queues/%2F/$2")"; then
        echo "$out" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).leader??""))'
        exit 0
      fi
    done
    echo "no node answered for queue $2" >&2
    exit 1
    ;;
  *) sed -n '2,14p' "$0" >&2; exit 2 ;;
esac
