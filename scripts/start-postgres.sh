#!/usr/bin/env bash
# Starts the machine's PostgreSQL server for the storage-postgres tests and prints the DATABASE_URL to use.
# Installs Debian's postgresql package if it is missing. Idempotent: safe to run when it is already up.
#   export DATABASE_URL=$(bash scripts/start-postgres.sh)
set -euo pipefail

DATABASE=${BYOKIT_TEST_DATABASE:-byokit_test}
ROLE=byokit
PASSWORD=byokit-test-only

if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  echo "installing postgresql…" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
fi

cluster=$(pg_lsclusters --no-header | awk 'NR==1 {print $1" "$2}')
if [ -z "$cluster" ]; then
  version=$(ls /usr/lib/postgresql | sort -V | tail -1)
  pg_createcluster "$version" main >&2
  cluster="$version main"
fi
# shellcheck disable=SC2086
pg_ctlcluster $cluster start >&2 2>/dev/null || true
port=$(pg_lsclusters --no-header | awk 'NR==1 {print $3}')

for _ in $(seq 1 30); do
  su postgres -c "psql -p $port -qtAc 'select 1'" >/dev/null 2>&1 && break
  sleep 1
done

su postgres -c "psql -p $port -qtAc \"SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'\"" | grep -q 1 ||
  su postgres -c "psql -p $port -qc \"CREATE ROLE $ROLE LOGIN PASSWORD '$PASSWORD'\"" >&2
su postgres -c "psql -p $port -qtAc \"SELECT 1 FROM pg_database WHERE datname = '$DATABASE'\"" | grep -q 1 ||
  su postgres -c "psql -p $port -qc \"CREATE DATABASE $DATABASE OWNER $ROLE\"" >&2

echo "postgres://$ROLE:$PASSWORD@127.0.0.1:$port/$DATABASE"
