#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server for the tests (idempotent): its own cluster under /tmp
# (one per checkout: the postgres user must be able to reach it, which a checkout under a private
# home folder would not allow), on 127.0.0.1 from port 55432 up (the first free one), trust authentication on loopback, database and role "kyso".
# Prints the URL to use. Needs Debian's postgresql package (scripts/test.sh installs it).
set -euo pipefail
cd "$(dirname "$0")/.."
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bindir/initdb" ] || { echo "PostgreSQL server binaries not found under /usr/lib/postgresql" >&2; exit 1; }
dir=${KYSO_PG_DIR:-/tmp/kyso-pg-$(pwd | sha256sum | cut -c1-12)}
mkdir -p "$dir"
as_db_user=()
if [ "$(id -u)" = 0 ]; then
  # initdb refuses to run as root: the cluster belongs to the postgres system user.
  chown postgres: "$dir"
  as_db_user=(runuser -u postgres --)
fi
if [ ! -f "$dir/data/PG_VERSION" ]; then
  "${as_db_user[@]}" "$bindir/initdb" -D "$dir/data" --auth=trust --username=postgres --encoding=UTF8 --locale=C.UTF-8 >/dev/null
fi
if "${as_db_user[@]}" "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
  port=$(sed -n 4p "$dir/data/postmaster.pid")   # the running server's port
else
  # Another checkout's server may hold a port: take the first free one.
  port=55432
  while port_busy "$port"; do port=$((port + 1)); done
  "${as_db_user[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
fi
psql_cmd=(psql -h 127.0.0.1 -p "$port" -U postgres -v ON_ERROR_STOP=1 -qAt)
"${psql_cmd[@]}" -c "SELECT 1 FROM pg_roles WHERE rolname = 'kyso'" | grep -q 1 || "${psql_cmd[@]}" -c "CREATE ROLE kyso LOGIN CREATEDB"
"${psql_cmd[@]}" -c "SELECT 1 FROM pg_database WHERE datname = 'kyso'" | grep -q 1 || "${psql_cmd[@]}" -c "CREATE DATABASE kyso OWNER kyso"
echo "postgres://kyso@127.0.0.1:$port/kyso"
