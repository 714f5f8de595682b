#!/bin/sh
# Creates or upgrades Temporal's PostgreSQL databases (persistence and visibility) with temporal-sql-tool, from the
# schema files in the temporalio/admin-tools image. Safe to run again: an existing database is kept and only
# missing schema versions are applied. docker-compose.yml runs it before the server starts; temporal/cluster/cluster.sh
# runs it on one machine with the tool and schema files built into .tools/temporal-server/ (SCHEMA_DIR, and
# TEMPORAL_SQL_TOOL or temporal-sql-tool on PATH).
set -eu

: "${POSTGRES_SEEDS:=postgresql}"
: "${DB_PORT:=5432}"
: "${POSTGRES_USER:=temporal}"
: "${POSTGRES_PWD:?set POSTGRES_PWD to the PostgreSQL password}"
schema_dir="${SCHEMA_DIR:-/etc/temporal/schema/postgresql/v12}"

sql() {
  "${TEMPORAL_SQL_TOOL:-temporal-sql-tool}" --plugin postgres12 --endpoint "$POSTGRES_SEEDS" --port "$DB_PORT" \
    --user "$POSTGRES_USER" --password "$POSTGRES_PWD" "$@"
}

for pair in "${DBNAME:-temporal}=temporal" "${VISIBILITY_DBNAME:-temporal_visibility}=visibility"; do
  database="${pair%%=*}"
  schema="${pair#*=}"
  if sql --database "$database" create-database; then
    echo "database $database: created"
  else
    echo "database $database: exists (or cannot be created; the next step says which)"
  fi
  sql --database "$database" setup-schema --version 0.0
  sql --database "$database" update-schema --schema-dir "$schema_dir/$schema/versioned"
  echo "database $database: schema up to date"
done
