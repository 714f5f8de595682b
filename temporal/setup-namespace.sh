#!/bin/sh
# Creates the namespace Baton runs in and registers Baton's search attributes (DESIGN §2.1) on a self-hosted Temporal
# cluster. Safe to run again: what exists is left alone. Needs the Temporal CLI (`temporal`, or TEMPORAL_CLI), and
# reads the worker's settings: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_CERT/KEY.
#
#   TEMPORAL_ADDRESS=temporal:7233 TEMPORAL_NAMESPACE=default sh temporal/setup-namespace.sh
#
# On Temporal Cloud, create the namespace and the same search attributes in the Cloud UI or with tcld instead.
set -eu

cli="${TEMPORAL_CLI:-temporal}"
namespace="${TEMPORAL_NAMESPACE:-default}"
retention="${BATON_NAMESPACE_RETENTION:-30d}"
# name=type, one per search attribute; the same as src/workflows/search-attributes.ts (a test keeps them equal).
search_attributes="BatonGoal=Keyword BatonStatus=Keyword BatonApprovers=KeywordList BatonCostUsd=Double"

# The CLI reads TEMPORAL_ADDRESS and TEMPORAL_API_KEY itself; mTLS files are passed as flags.
t() {
  if [ -n "${TEMPORAL_TLS_CERT:-}" ]; then
    "$cli" "$@" --tls-cert-path "$TEMPORAL_TLS_CERT" --tls-key-path "${TEMPORAL_TLS_KEY:?set TEMPORAL_TLS_KEY too}"
  else
    "$cli" "$@"
  fi
}

# Runs a command until it succeeds: the server may still be starting, and a new namespace takes a moment to be known.
retry() {
  tries=0
  until "$@"; do
    tries=$((tries + 1))
    if [ "$tries" -ge "${BATON_SETUP_TRIES:-60}" ]; then
      echo "giving up after $tries tries: $*" >&2
      return 1
    fi
    sleep "${BATON_SETUP_INTERVAL:-2}"
  done
}

retry t operator cluster health >/dev/null

if t operator namespace describe --namespace "$namespace" >/dev/null 2>&1; then
  echo "namespace $namespace: exists"
else
  t operator namespace create --namespace "$namespace" --retention "$retention"
  echo "namespace $namespace: created (retention $retention)"
fi

existing="$(retry t operator search-attribute list --namespace "$namespace")"
for pair in $search_attributes; do
  name="${pair%%=*}"
  type="${pair#*=}"
  if printf '%s\n' "$existing" | grep -qw "$name"; then
    echo "search attribute $name: exists"
  else
    retry t operator search-attribute create --namespace "$namespace" --name "$name" --type "$type"
    echo "search attribute $name ($type): created"
  fi
done
