#!/bin/sh
# A production-like Temporal cluster on one machine, from this repository alone: PostgreSQL from the distribution's
# package, the Temporal server built from its Go module (scripts/install-temporal-server.mjs, at the version
# docker-compose.yml runs), the schemas applied by temporal/setup-schema.sh, the namespace and Baton's search
# attributes (advanced visibility on PostgreSQL) registered by temporal/setup-namespace.sh, and the server run as
# separate frontend, history, matching and worker processes with several history shards and temporal/dynamicconfig.
# Everything listens on 127.0.0.1 only. State (data, logs, pids, ports) lives in BATON_CLUSTER_DIR.
#
#   sh temporal/cluster/cluster.sh up        # build once, then start PostgreSQL, schemas, server, namespace
#   sh temporal/cluster/cluster.sh env       # prints TEMPORAL_ADDRESS=... for `baton worker` and the CLI
#   sh temporal/cluster/cluster.sh down      # stops the server and PostgreSQL (data is kept; `destroy` removes it)
#
# Other commands: install, postgres-start, postgres-stop, schema, server-start, server-stop, namespace, status.
# Settings (environment; `up` writes the ports it chose to $BATON_CLUSTER_DIR/cluster.env, later commands reuse them):
#   BATON_CLUSTER_DIR       state directory                     (default: .baton/cluster in the repository)
#   BATON_CLUSTER_PORT      frontend gRPC port                  (default 7233)
#   BATON_CLUSTER_PG_PORT   PostgreSQL port                     (default: the frontend port + 2000, e.g. 9233)
#   BATON_CLUSTER_SHARDS    history shards (fixed once created) (default 4)
#   BATON_CLUSTER_SERVICES  split (one process per service) or single (one process)  (default split)
#   BATON_CLUSTER_DYNAMIC_CONFIG  dynamic config file   (default temporal/dynamicconfig/baton.yaml)
#   TEMPORAL_NAMESPACE      namespace to create                 (default default)
set -eu

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
dir="${BATON_CLUSTER_DIR:-$repo/.baton/cluster}"
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
tools="$repo/.tools/temporal-server"

# Ports chosen by the first `up` are kept, so `down` and a later `up` agree.
if [ -f "$dir/cluster.env" ]; then . "$dir/cluster.env"; fi
port="${BATON_CLUSTER_PORT:-7233}"
pg_port="${BATON_CLUSTER_PG_PORT:-$((port + 2000))}"
shards="${BATON_CLUSTER_SHARDS:-4}"
services="${BATON_CLUSTER_SERVICES:-split}"
namespace="${TEMPORAL_NAMESPACE:-default}"
pg_user=temporal
pg_password="${POSTGRES_PWD:-temporal}"

log() { echo "[cluster] $*" >&2; }
die() { log "$*"; exit 1; }

# The server stores membership ports as SQL smallint: the highest offset (26) must stay below 32768.
[ "$port" -ge 1024 ] && [ "$port" -le 32741 ] || die "BATON_CLUSTER_PORT=$port: use 1024-32741 (ports up to +26 are used, and the server stores membership ports as smallint)"

save_env() {
  cat >"$dir/cluster.env" <<VARS
BATON_CLUSTER_PORT=$port
BATON_CLUSTER_PG_PORT=$pg_port
BATON_CLUSTER_SHARDS=$shards
BATON_CLUSTER_SERVICES=$services
BATON_CLUSTER_DYNAMIC_CONFIG=${BATON_CLUSTER_DYNAMIC_CONFIG:-$repo/temporal/dynamicconfig/baton.yaml}
VARS
}

# --- PostgreSQL --------------------------------------------------------------------------------------------------
pg_bin() {
  if [ -n "${PG_BIN:-}" ]; then echo "$PG_BIN"; return; fi
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$d/pg_ctl" ]; then echo "$d"; return; fi
  done
  if command -v pg_ctl >/dev/null 2>&1; then dirname "$(command -v pg_ctl)"; return; fi
  die "PostgreSQL is not installed: apt-get install postgresql (Debian/Ubuntu), or set PG_BIN to its bin directory"
}

# PostgreSQL refuses to run as root; then it runs as the `postgres` account the package created.
as_pg() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u "${BATON_CLUSTER_PG_OS_USER:-postgres}" -- "$@"
  else
    "$@"
  fi
}

postgres_start() {
  bin="$(pg_bin)"
  data="$dir/postgres"
  if [ ! -f "$data/PG_VERSION" ]; then
    log "initdb: $data (superuser $pg_user, password authentication)"
    mkdir -p "$data"
    printf '%s\n' "$pg_password" >"$dir/pgpass.tmp"
    if [ "$(id -u)" = 0 ]; then
      # The postgres account must reach its data directory inside ours (mktemp makes directories private).
      chmod a+x "$dir"
      chown -R "${BATON_CLUSTER_PG_OS_USER:-postgres}" "$data" "$dir/pgpass.tmp"
    fi
    as_pg "$bin/initdb" -D "$data" -U "$pg_user" --pwfile="$dir/pgpass.tmp" --auth=scram-sha-256 \
      --encoding=UTF8 --locale=C >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    rm -f "$dir/pgpass.tmp"
  fi
  if as_pg "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    log "PostgreSQL already running on 127.0.0.1:$pg_port"
    return
  fi
  touch "$dir/postgres.log"
  if [ "$(id -u)" = 0 ]; then chown "${BATON_CLUSTER_PG_OS_USER:-postgres}" "$dir/postgres.log"; fi
  # Loopback only, its own socket directory, enough connections for four server processes' pools.
  as_pg "$bin/pg_ctl" -D "$data" -l "$dir/postgres.log" -w -t 120 \
    -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $data -c max_connections=300" start >/dev/null
  log "PostgreSQL listening on 127.0.0.1:$pg_port"
}

postgres_stop() {
  bin="$(pg_bin)"
  if [ -f "$dir/postgres/PG_VERSION" ] && as_pg "$bin/pg_ctl" -D "$dir/postgres" status >/dev/null 2>&1; then
    as_pg "$bin/pg_ctl" -D "$dir/postgres" -m fast -w -t 120 stop >/dev/null
    log "PostgreSQL stopped"
  fi
}

# --- Temporal ----------------------------------------------------------------------------------------------------
install() {
  node "$repo/scripts/install-temporal-server.mjs" --quiet
}

schema() {
  TEMPORAL_SQL_TOOL="$tools/temporal-sql-tool" POSTGRES_SEEDS=127.0.0.1 DB_PORT="$pg_port" POSTGRES_USER="$pg_user" POSTGRES_PWD="$pg_password" \
    SCHEMA_DIR="$tools/schema/postgresql/v12" sh "$repo/temporal/setup-schema.sh"
}

# The same variables the temporalio/server image reads (its embedded config template), so this cluster and the
# compose stack are configured alike. Each service gets its own gRPC and membership ports, offset from the frontend's.
server_env() {
  export DB=postgres12 POSTGRES_SEEDS=127.0.0.1 DB_PORT="$pg_port" POSTGRES_USER="$pg_user" POSTGRES_PWD="$pg_password"
  export NUM_HISTORY_SHARDS="$shards" BIND_ON_IP=127.0.0.1 LOG_LEVEL="${BATON_CLUSTER_LOG_LEVEL:-warn}"
  # No authorizer: the frontend listens on loopback only. Put one in front (mTLS, JWT) before exposing it.
  export TEMPORAL_ALLOW_NO_AUTH=true
  export DYNAMIC_CONFIG_FILE_PATH="${BATON_CLUSTER_DYNAMIC_CONFIG:-$repo/temporal/dynamicconfig/baton.yaml}"
  export FRONTEND_GRPC_PORT="$port" FRONTEND_HTTP_PORT=$((port + 10)) FRONTEND_MEMBERSHIP_PORT=$((port + 20))
  export HISTORY_GRPC_PORT=$((port + 1)) HISTORY_MEMBERSHIP_PORT=$((port + 21))
  export MATCHING_GRPC_PORT=$((port + 2)) MATCHING_MEMBERSHIP_PORT=$((port + 22))
  export WORKER_GRPC_PORT=$((port + 6)) WORKER_MEMBERSHIP_PORT=$((port + 26))
}

server_start() {
  [ -x "$tools/temporal-server" ] || die "no $tools/temporal-server: run \`sh temporal/cluster/cluster.sh install\` first"
  server_env
  if [ "$services" = single ]; then
    start_services all
  else
    # The first process to start writes the cluster's metadata record on a new database; started together, the
    # losers of that race exit. So the frontend starts alone, and the others once it answers.
    start_services frontend
    wait_healthy
    start_services history matching worker
  fi
  wait_healthy
}

start_services() {
  for svc in "$@"; do
    pidfile="$dir/server-$svc.pid"
    if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      log "temporal $svc already running (pid $(cat "$pidfile"))"
      continue
    fi
    if [ "$svc" = all ]; then flags=""; else flags="--service $svc"; fi
    # shellcheck disable=SC2086 # one flag and its value
    nohup "$tools/temporal-server" start $flags >>"$dir/server-$svc.log" 2>&1 </dev/null &
    echo $! >"$pidfile"
    log "temporal $svc started (pid $!, log $dir/server-$svc.log)"
  done
}

server_stop() {
  for pidfile in "$dir"/server-*.pid; do
    [ -f "$pidfile" ] || continue
    pid="$(cat "$pidfile")"
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid"
      tries=0
      while kill -0 "$pid" 2>/dev/null && [ "$tries" -lt 60 ]; do sleep 1; tries=$((tries + 1)); done
      if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; fi
      log "stopped $(basename "$pidfile" .pid) (pid $pid)"
    fi
    rm -f "$pidfile"
  done
}

temporal_cli() {
  for c in "${TEMPORAL_CLI:-}" "$repo/.tools/temporal/temporal" "$(command -v temporal 2>/dev/null || true)"; do
    if [ -n "$c" ] && [ -x "$c" ]; then echo "$c"; return; fi
  done
  die "no Temporal CLI: run npm install (it installs .tools/temporal/temporal) or set TEMPORAL_CLI"
}

wait_healthy() {
  cli="$(temporal_cli)"
  tries=0
  until "$cli" operator cluster health --address "127.0.0.1:$port" >/dev/null 2>&1; do
    for pidfile in "$dir"/server-*.pid; do
      if [ -f "$pidfile" ] && ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        log_file="${pidfile%.pid}.log"
        tail -n 5 "$log_file" >&2
        die "$(basename "$pidfile" .pid) exited during start; see $log_file"
      fi
    done
    tries=$((tries + 1))
    [ "$tries" -lt 180 ] || die "the server did not become healthy in 180 s; see $dir/server-*.log"
    sleep 1
  done
  log "Temporal frontend healthy at 127.0.0.1:$port ($shards history shards, services: $services)"
}

namespace() {
  TEMPORAL_CLI="$(temporal_cli)" TEMPORAL_ADDRESS="127.0.0.1:$port" TEMPORAL_NAMESPACE="$namespace" \
    sh "$repo/temporal/setup-namespace.sh"
}

status() {
  bin="$(pg_bin)"
  if as_pg "$bin/pg_ctl" -D "$dir/postgres" status >/dev/null 2>&1; then echo "postgresql: running on 127.0.0.1:$pg_port"; else echo "postgresql: stopped"; fi
  for pidfile in "$dir"/server-*.pid; do
    [ -f "$pidfile" ] || continue
    svc="$(basename "$pidfile" .pid)"
    if kill -0 "$(cat "$pidfile")" 2>/dev/null; then echo "$svc: running (pid $(cat "$pidfile"))"; else echo "$svc: dead"; fi
  done
}

cmd="${1:-}"
case "$cmd" in
  install) install ;;
  postgres-start) postgres_start ;;
  postgres-stop) postgres_stop ;;
  schema) schema ;;
  server-start) server_start ;;
  server-stop) server_stop ;;
  namespace) namespace ;;
  status) status ;;
  env) echo "TEMPORAL_ADDRESS=127.0.0.1:$port"; echo "TEMPORAL_NAMESPACE=$namespace" ;;
  up)
    save_env
    install
    postgres_start
    log "schemas: temporal/setup-schema.sh (log: $dir/schema.log)"
    schema >"$dir/schema.log" 2>&1 || { cat "$dir/schema.log" >&2; exit 1; }
    server_start
    namespace
    log "ready: TEMPORAL_ADDRESS=127.0.0.1:$port TEMPORAL_NAMESPACE=$namespace"
    ;;
  down)
    server_stop
    postgres_stop
    ;;
  destroy)
    server_stop
    postgres_stop
    rm -rf "$dir"
    log "removed $dir"
    ;;
  *) die "usage: cluster.sh up|down|destroy|env|status|install|postgres-start|postgres-stop|schema|server-start|server-stop|namespace" ;;
esac
