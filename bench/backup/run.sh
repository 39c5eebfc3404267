#!/usr/bin/env bash
# Backup (and restore) benchmark: `stowage backup --type data` against `pg_dump --data-only | gzip -6`,
# and `stowage restore` against `gunzip | psql`, on a database of SCALE pgbench scale (70 ≈ 1 GiB
# with the jsonb table) and on a small one, to show peak RSS does not grow with size.
# Usage: bench/backup/run.sh [big-scale=70] [small-scale=5]
# Output: one 'backup …' and one 'restore …' line per database (wall seconds, ratio to the baseline, peak RSS).
# Env: STOWAGE_TEST_PG_URL (superuser URL, default postgresql://postgres@127.0.0.1:5432/postgres),
#      BENCH_KEEP=1 to keep the databases for another run, BENCH_RESTORE=0 to skip restores.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIG=${1:-70}
SMALL=${2:-5}
ADMIN_URL=${STOWAGE_TEST_PG_URL:-postgresql://postgres@127.0.0.1:5432/postgres}
BASE=${ADMIN_URL%/*}
WORK=$(mktemp -d /tmp/stowage-bench-XXXXXX)
STOWAGE=(node apps/backup/bin/stowage.js)
trap 'rm -rf "$WORK"' EXIT

db_url() { echo "$BASE/$1"; }

# pgbench tables plus a wide jsonb table (about 1/3 of the size), built once and kept across runs.
ensure_db() {
  local name=$1 scale=$2
  if psql -X -At "$ADMIN_URL" -c "select 1 from pg_database where datname = '$name'" | grep -q 1; then return; fi
  echo "==> creating $name (pgbench scale $scale + wide jsonb)" >&2
  psql -X -q "$ADMIN_URL" -c "create database \"$name\""
  pgbench -q -i -s "$scale" "$(db_url "$name")" >/dev/null 2>&1
  psql -X -q "$(db_url "$name")" -c "
    create table wide_docs (id bigint primary key, doc jsonb not null);
    insert into wide_docs
    select i, jsonb_build_object('id', i, 'title', 'document ' || i, 'tags', jsonb_build_array('a' || i % 7, 'b' || i % 11),
             'body', repeat(md5(i::text), 12), 'attrs', (select jsonb_object_agg('k' || k, i * k) from generate_series(1, 20) k))
      from generate_series(1, $((scale * 1500))) i;" -c "vacuum analyze"
}

# Runs a command under /usr/bin/time -v; prints "<wall seconds> <peak RSS MiB>".
measure() {
  local log="$WORK/time.log"
  /usr/bin/time -v -o "$log" "$@" >/dev/null
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$log" | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
  rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$log")
  echo "$wall $rss"
}

bench_one() {
  local name=$1
  local url; url=$(db_url "$name")
  local size; size=$(psql -X -At "$url" -c "select pg_size_pretty(pg_database_size(current_database()))")
  echo "==> $name ($size)" >&2
  sync
  read -r base_wall _ < <(measure sh -c "pg_dump --data-only '$url' | gzip -6 > '$WORK/baseline.sql.gz'")
  rm -rf "$WORK/dest" && mkdir -p "$WORK/dest"
  read -r st_wall st_rss < <(measure "${STOWAGE[@]}" backup --db "$url" --type data --to "file://$WORK/dest" --name bench)
  # The engine alone (runBackup from a 20-line script): tells the CLI's start-up cost from the engine's.
  rm -rf "$WORK/direct" && mkdir -p "$WORK/direct"
  read -r en_wall en_rss < <(measure node --import tsx bench/backup/backup-direct.ts "$url" "$WORK/direct" data)
  local base_size st_size
  base_size=$(stat -c %s "$WORK/baseline.sql.gz")
  st_size=$(find "$WORK/dest" -name 'data.sql.gz' -printf '%s')
  echo "backup  $name size=$size baseline=${base_wall}s stowage=${st_wall}s ratio=$(echo "scale=3; $st_wall / $base_wall" | bc) peakRSS=${st_rss}MiB gz(baseline)=$base_size gz(stowage)=$st_size"
  echo "engine  $name runBackup()=${en_wall}s ratio=$(echo "scale=3; $en_wall / $base_wall" | bc) peakRSS=${en_rss}MiB"
  if [ "${BENCH_RESTORE:-1}" = "1" ]; then
    # Restore needs a full backup (roles, schema, data); both sides run the same SQL in one transaction.
    mkdir -p "$WORK/full"
    "${STOWAGE[@]}" backup --db "$url" --type full --to "file://$WORK/full" --name bench >/dev/null
    local id; id=$(cd "$WORK/full" && ls -d bench/*/ | head -1); id=${id%/}
    for target in "${name}_r1" "${name}_r2"; do
      psql -X -q "$ADMIN_URL" -c "drop database if exists \"$target\"" -c "create database \"$target\""
    done
    local f="$WORK/full/$id"
    read -r rb_wall _ < <(measure sh -c "cat '$f/roles.sql.gz' '$f/schema.sql.gz' '$f/data.sql.gz' | gunzip | psql -X -q --single-transaction -v ON_ERROR_STOP=1 '$(db_url "${name}_r1")'")
    read -r rs_wall rs_rss < <(measure "${STOWAGE[@]}" restore --from "file://$WORK/full" "$id" --db "$(db_url "${name}_r2")")
    echo "restore $name baseline=${rb_wall}s stowage=${rs_wall}s ratio=$(echo "scale=3; $rs_wall / $rb_wall" | bc) peakRSS=${rs_rss}MiB"
    psql -X -q "$ADMIN_URL" -c "drop database if exists \"${name}_r1\"" -c "drop database if exists \"${name}_r2\""
    rm -rf "$WORK/full"
  fi
}

ensure_db stowage_bench_small "$SMALL"
ensure_db stowage_bench_big "$BIG"
bench_one stowage_bench_small
bench_one stowage_bench_big
if [ "${BENCH_KEEP:-0}" != "1" ]; then
  psql -X -q "$ADMIN_URL" -c "drop database if exists stowage_bench_small" -c "drop database if exists stowage_bench_big"
fi
