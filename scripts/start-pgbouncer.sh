#!/usr/bin/env bash
# Starts a PgBouncer in transaction pooling mode in front of the PostgreSQL server scripts/start-postgres.sh starts,
# and prints the DATABASE_URL to use through it (the storage-postgres tests take it as PGBOUNCER_DATABASE_URL).
# Installs Debian's pgbouncer package if it is missing. Its config, log and pid file are in a folder of its own
# (BYOKIT_PGBOUNCER_DIR, default /var/tmp/byokit-pgbouncer), on a port of its own (BYOKIT_PGBOUNCER_PORT, default
# 6432); the package's own /etc/pgbouncer is left alone. BYOKIT_PGBOUNCER_POOL_MODE=session starts one in session
# mode instead (a folder and port of its own for it, then). Idempotent: safe to run when it is already up.
#   export PGBOUNCER_DATABASE_URL=$(bash scripts/start-pgbouncer.sh)
set -euo pipefail

DIR=${BYOKIT_PGBOUNCER_DIR:-/var/tmp/byokit-pgbouncer}
PORT=${BYOKIT_PGBOUNCER_PORT:-6432}
POOL_MODE=${BYOKIT_PGBOUNCER_POOL_MODE:-transaction}

server_url=$(bash "$(dirname "$0")/start-postgres.sh")
# postgres://ROLE:PASSWORD@HOST:PORT/DATABASE, as start-postgres.sh prints it.
[[ $server_url =~ ^postgres://([^:]+):([^@]+)@([^:]+):([0-9]+)/(.+)$ ]] || {
  echo "start-postgres.sh printed a URL this script cannot read" >&2
  exit 1
}
role=${BASH_REMATCH[1]} password=${BASH_REMATCH[2]} host=${BASH_REMATCH[3]} server_port=${BASH_REMATCH[4]}
database=${BASH_REMATCH[5]}
url="postgres://$role:$password@127.0.0.1:$PORT/$database"

if ! command -v pgbouncer >/dev/null 2>&1 && [ ! -x /usr/sbin/pgbouncer ]; then
  echo "installing pgbouncer…" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq pgbouncer >&2
fi
PGBOUNCER=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)

if psql "$url" -qtAc 'SELECT 1' >/dev/null 2>&1; then
  echo "$url"
  exit 0
fi

# PgBouncer refuses to run as root: it runs as the postgres user, which owns its folder.
mkdir -p "$DIR"
cat >"$DIR/pgbouncer.ini" <<EOF
[databases]
* = host=$host port=$server_port

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PORT
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $DIR/userlist.txt
pool_mode = $POOL_MODE
max_client_conn = 500
default_pool_size = 20
logfile = $DIR/pgbouncer.log
pidfile = $DIR/pgbouncer.pid
EOF
printf '"%s" "%s"\n' "$role" "$password" >"$DIR/userlist.txt"
chmod 600 "$DIR/userlist.txt"
if [ "$(id -u)" = 0 ]; then
  chown -R postgres: "$DIR"
  su postgres -s /bin/sh -c "$PGBOUNCER -d -q $DIR/pgbouncer.ini" >&2
else
  "$PGBOUNCER" -d -q "$DIR/pgbouncer.ini" >&2
fi

for _ in $(seq 1 30); do
  psql "$url" -qtAc 'SELECT 1' >/dev/null 2>&1 && break
  sleep 1
done

echo "$url"
