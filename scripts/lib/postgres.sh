# Makes a PostgreSQL server available for tests and exports STOWAGE_TEST_PG_URL (a superuser URL).
# Uses the server on 127.0.0.1:5432 when it answers (trust auth); otherwise starts a throwaway
# cluster with the installed binaries in a temp folder, stopped by stop_throwaway_postgres.
THROWAWAY_PGDATA=""
ensure_postgres() {
  if [ -n "${STOWAGE_TEST_PG_URL:-}" ] && psql "$STOWAGE_TEST_PG_URL" -Atqc 'select 1' >/dev/null 2>&1; then
    echo "==> PostgreSQL: using STOWAGE_TEST_PG_URL"; return 0
  fi
  for user in postgres "$(id -un)"; do
    if psql "postgresql://$user@127.0.0.1:5432/postgres" -Atqc 'select 1' >/dev/null 2>&1; then
      export STOWAGE_TEST_PG_URL="postgresql://$user@127.0.0.1:5432/postgres"
      echo "==> PostgreSQL: using the server on 127.0.0.1:5432 as $user"; return 0
    fi
  done
  # The machine's cluster may just be stopped.
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
    for v in $(ls /etc/postgresql 2>/dev/null); do pg_ctlcluster --skip-systemctl-redirect "$v" main start 2>/dev/null || true; done
    sleep 1
    if psql "postgresql://postgres@127.0.0.1:5432/postgres" -Atqc 'select 1' >/dev/null 2>&1; then
      export STOWAGE_TEST_PG_URL="postgresql://postgres@127.0.0.1:5432/postgres"
      echo "==> PostgreSQL: started the machine's cluster"; return 0
    fi
  fi
  local bindir
  bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [ -n "$bindir" ] || { echo "no PostgreSQL server binaries found (apt-get install postgresql)" >&2; return 1; }
  THROWAWAY_PGDATA=$(mktemp -d /tmp/stowage-pg.XXXXXX)
  local port=55432 runas=()
  if [ "$(id -u)" -eq 0 ]; then chown postgres "$THROWAWAY_PGDATA"; runas=(runuser -u postgres --); fi
  "${runas[@]}" "$bindir/initdb" -D "$THROWAWAY_PGDATA/data" -U postgres -A trust >/dev/null
  "${runas[@]}" "$bindir/pg_ctl" -D "$THROWAWAY_PGDATA/data" -o "-p $port -k $THROWAWAY_PGDATA -c listen_addresses=127.0.0.1" -l "$THROWAWAY_PGDATA/log" -w start >/dev/null
  export STOWAGE_TEST_PG_URL="postgresql://postgres@127.0.0.1:$port/postgres"
  echo "==> PostgreSQL: started a throwaway cluster on port $port"
}
stop_throwaway_postgres() {
  [ -n "$THROWAWAY_PGDATA" ] || return 0
  local bindir runas=()
  bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [ "$(id -u)" -eq 0 ] && runas=(runuser -u postgres --)
  "${runas[@]}" "$bindir/pg_ctl" -D "$THROWAWAY_PGDATA/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$THROWAWAY_PGDATA"
}

# A server with wal_level=logical for the point-in-time tests (packages/backup-core/test/pitr), exported as
# STOWAGE_TEST_PG_LOGICAL_URL: the test server when it already has it, else a throwaway cluster on a free port
# (the shared server is never restarted to change wal_level). Stopped by stop_logical_postgres.
LOGICAL_PGDATA=""
ensure_logical_postgres() {
  if [ -n "${STOWAGE_TEST_PG_URL:-}" ] && [ "$(psql "$STOWAGE_TEST_PG_URL" -Atqc 'show wal_level' 2>/dev/null)" = "logical" ]; then
    export STOWAGE_TEST_PG_LOGICAL_URL="$STOWAGE_TEST_PG_URL"; return 0
  fi
  local bindir port runas=()
  bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [ -n "$bindir" ] || { echo "no PostgreSQL server binaries found (apt-get install postgresql)" >&2; return 1; }
  LOGICAL_PGDATA=$(mktemp -d /tmp/stowage-pg-logical.XXXXXX)
  port=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
  if [ "$(id -u)" -eq 0 ]; then chown postgres "$LOGICAL_PGDATA"; runas=(runuser -u postgres --); fi
  "${runas[@]}" "$bindir/initdb" -D "$LOGICAL_PGDATA/data" -U postgres -A trust --no-sync >/dev/null
  "${runas[@]}" "$bindir/pg_ctl" -D "$LOGICAL_PGDATA/data" -l "$LOGICAL_PGDATA/log" -w start \
    -o "-p $port -k $LOGICAL_PGDATA -c listen_addresses=127.0.0.1 -c wal_level=logical -c max_replication_slots=20 -c max_wal_senders=20 -c fsync=off" >/dev/null
  export STOWAGE_TEST_PG_LOGICAL_URL="postgresql://postgres@127.0.0.1:$port/postgres"
  echo "==> PostgreSQL (wal_level=logical): started a throwaway cluster on port $port"
}
stop_logical_postgres() {
  [ -n "$LOGICAL_PGDATA" ] || return 0
  local bindir runas=()
  bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [ "$(id -u)" -eq 0 ] && runas=(runuser -u postgres --)
  "${runas[@]}" "$bindir/pg_ctl" -D "$LOGICAL_PGDATA/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$LOGICAL_PGDATA"
}
