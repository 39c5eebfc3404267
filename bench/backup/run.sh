#!/usr/bin/env bash
# Backup (and restore) benchmark: `stowage backup --type data` against `pg_dump --data-only | gzip -6`,
# and `stowage restore` against `gunzip | psql`, on a database of SCALE pgbench scale (70 ≈ 1.1 GiB
# with the jsonb table) and on a small one, to show peak RSS does not grow with size.
# Each comparison runs BENCH_RUNS times interleaved (baseline, stowage, baseline, stowage, …) so load
# changes hit both sides alike; the summary gives medians and the ratio of the medians.
# Usage: bench/backup/run.sh [big-scale=70] [small-scale=5]
# Output: one line per run, then 'backup …' and 'restore …' summary lines per database (wall seconds,
# ratio of medians, peak RSS of the stowage process) with the 1-minute load average seen at each run.
# Env: STOWAGE_TEST_PG_URL (superuser URL, default postgresql://postgres@127.0.0.1:5432/postgres),
#      BENCH_RUNS (default 3), BENCH_KEEP=1 to keep the databases for another run, BENCH_RESTORE=0 to
#      skip restores, BENCH_ENGINE=1 to also time the engine alone (backup-direct.ts), BENCH_ONLY=small|big,
#      BENCH_BACKUP=0 to skip the backup comparison (restores only), BENCH_SPLIT_PSQL=0 to skip the
#      third restore variant (the split layout through psql alone, see bench_restore).
# Runs under `flock /tmp/stowage-bench.lock` itself, so benchmarks of other helpers never overlap.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -z "${STOWAGE_BENCH_LOCKED:-}" ]; then
  exec env STOWAGE_BENCH_LOCKED=1 flock /tmp/stowage-bench.lock "$0" "$@"
fi
BIG=${1:-70}
SMALL=${2:-5}
RUNS=${BENCH_RUNS:-3}
ADMIN_URL=${STOWAGE_TEST_PG_URL:-postgresql://postgres@127.0.0.1:5432/postgres}
BASE=${ADMIN_URL%/*}
WORK=$(mktemp -d /tmp/stowage-bench-XXXXXX)
# Executed through its shebang, as `npx stowage` does (the shebang carries the V8 flags).
STOWAGE=(apps/backup/bin/stowage.js)
trap 'rm -rf "$WORK"' EXIT

db_url() { echo "$BASE/$1"; }
load1() { cut -d' ' -f1 /proc/loadavg; }
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# The bin runs the esbuild bundle only while it is fresh (bin/bundle-check.js); other people edit
# the sources during a run, so rebuild right before every measured stowage run and say which ran.
fresh_bundle() {
  node apps/backup/bin/build.js >/dev/null
  node -e 'import("./apps/backup/bin/bundle-check.js").then((m) => process.exit(m.freshBundle(new URL("file://" + process.cwd() + "/apps/backup/dist/")) ? 0 : 1))' \
    || echo "warning: the bundle is stale, stowage runs through tsx" >&2
}

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

# Runs a command under /usr/bin/time -v; prints "<wall seconds> <peak RSS MiB> <load1 before>".
measure() {
  local log="$WORK/time.log" load
  load=$(load1)
  /usr/bin/time -v -o "$log" "$@" >/dev/null
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$log" | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
  rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$log")
  echo "$wall $rss $load"
}

recreate() { psql -X -q "$ADMIN_URL" -c "drop database if exists \"$1\"" -c "create database \"$1\""; }

# CPU seconds used by the backends of database $1 and their parallel workers (CREATE INDEX), sampled
# every 0.1 s until $WORK/watch.stop exists, written to $2: the server's side of a restore, which
# /usr/bin/time cannot see. A process's last 0.1 s before it exits is missed.
server_cpu_watch() {
  local db=$1 out=$2 pid p ut st sum=0
  declare -A ticks=()
  while [ ! -e "$WORK/watch.stop" ]; do
    for pid in $(pgrep -f "postgres: .* $db " || true); do
      for p in $pid $(pgrep -f "parallel worker for PID $pid\$" || true); do
        read -r ut st < <(awk '{ print $14, $15 }' "/proc/$p/stat" 2>/dev/null) || continue
        [ -n "$ut" ] && ticks[$p]=$((ut + st))
      done
    done
    sleep 0.1
  done
  for p in "${!ticks[@]}"; do sum=$((sum + ticks[$p])); done
  echo "scale=2; $sum / $(getconf CLK_TCK)" | bc >"$out"
}

# measure, for a restore into database $1: prints "<wall> <peak RSS MiB> <load1 before> <client CPU s>
# <server CPU s> <exit status>"; client CPU is user + system of the command and its children (gunzip,
# psql, stowage). A failed run (e.g. roles.sql meeting a concurrent role change of a test suite on a
# shared server: "tuple concurrently updated") is reported and left out of the medians.
measure_restore() {
  local db=$1 log="$WORK/time.log" load watcher status=0
  shift
  load=$(load1)
  rm -f "$WORK/watch.stop" "$WORK/server.cpu"
  server_cpu_watch "$db" "$WORK/server.cpu" &
  watcher=$!
  /usr/bin/time -v -o "$log" "$@" >/dev/null || status=$?
  touch "$WORK/watch.stop"
  wait "$watcher"
  local wall rss cpu
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$log" | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
  rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$log")
  cpu=$(awk -F': ' '/(User|System) time \(seconds\)/ { s += $2 } END { printf "%.2f", s }' "$log")
  echo "$wall $rss $load $cpu $(cat "$WORK/server.cpu") $status"
}

# Restore of one full backup three ways, interleaved, each into a fresh database (issue 17):
# - baseline: the backup in the layout before the post-data split (one schema file holding indexes,
#   keys, triggers and policies, then the data: what `gunzip | psql` of an old backup, or of Supabase's
#   documented restore, does), made by concatenating schema + post-data, through
#   `gunzip | psql --single-transaction`;
# - stowage: `stowage restore` of the backup as it is (schema, data, then post-data);
# - split psql (BENCH_SPLIT_PSQL=1, default): the same split order through gunzip | psql alone, which
#   tells the layout's gain from stowage's own cost.
bench_restore() {
  local name=$1 url=$2
  mkdir -p "$WORK/full"
  fresh_bundle
  "${STOWAGE[@]}" backup --db "$url" --type full --to "file://$WORK/full" --name bench >/dev/null
  local id; id=$(cd "$WORK/full" && ls -d bench/*/ | head -1); id=${id%/}
  local f="$WORK/full/$id" target="${name}_r" post=""
  [ -f "$f/post-data.sql.gz" ] && post="$f/post-data.sql.gz"
  local bw="" bc="" bs="" sw="" sc="" ss="" srss="" pw="" pc="" ps="" loads=""
  for i in $(seq "$RUNS"); do
    recreate "$target"
    read -r w _ l c s st < <(measure_restore "$target" bash -o pipefail -c "cat '$f/roles.sql.gz' '$f/schema.sql.gz' $post '$f/data.sql.gz' | gunzip | psql -X -q --single-transaction -v ON_ERROR_STOP=1 '$(db_url "$target")'")
    if [ "$st" = 0 ]; then bw="$bw $w"; bc="$bc $c"; bs="$bs $s"; fi
    loads="$loads $l"
    echo "  run $i restore baseline (old layout) ${w}s cpu client ${c}s server ${s}s exit $st (load $l)" >&2
    recreate "$target"
    fresh_bundle
    read -r w r l c s st < <(measure_restore "$target" "${STOWAGE[@]}" restore --from "file://$WORK/full" "$id" --db "$(db_url "$target")")
    if [ "$st" = 0 ]; then sw="$sw $w"; sc="$sc $c"; ss="$ss $s"; srss="$srss $r"; fi
    loads="$loads $l"
    echo "  run $i restore stowage               ${w}s cpu client ${c}s server ${s}s ${r}MiB exit $st (load $l)" >&2
    if [ "${BENCH_SPLIT_PSQL:-1}" = "1" ] && [ -n "$post" ]; then
      recreate "$target"
      read -r w _ l c s st < <(measure_restore "$target" bash -o pipefail -c "cat '$f/roles.sql.gz' '$f/schema.sql.gz' '$f/data.sql.gz' $post | gunzip | psql -X -q --single-transaction -v ON_ERROR_STOP=1 '$(db_url "$target")'")
      if [ "$st" = 0 ]; then pw="$pw $w"; pc="$pc $c"; ps="$ps $s"; fi
      loads="$loads $l"
      echo "  run $i restore split layout, psql    ${w}s cpu client ${c}s server ${s}s exit $st (load $l)" >&2
    fi
  done
  psql -X -q "$ADMIN_URL" -c "drop database if exists \"$target\""
  local bm sm; bm=$(echo "$bw" | median); sm=$(echo "$sw" | median)
  echo "restore $name runs=$RUNS baseline(old layout)=[${bw# }]s median=${bm}s cpu(client/server)=$(echo "$bc" | median)/$(echo "$bs" | median)s stowage=[${sw# }]s median=${sm}s cpu(client/server)=$(echo "$sc" | median)/$(echo "$ss" | median)s ratio=$(echo "scale=3; $sm / $bm" | bc) peakRSS=[${srss# }]MiB load=[${loads# }]"
  if [ -n "$pw" ]; then
    local pm; pm=$(echo "$pw" | median)
    echo "restore $name split-layout psql=[${pw# }]s median=${pm}s cpu(client/server)=$(echo "$pc" | median)/$(echo "$ps" | median)s ratio(to baseline)=$(echo "scale=3; $pm / $bm" | bc)"
  fi
  rm -rf "$WORK/full"
}

# `stowage backup --type data` against `pg_dump --data-only | gzip -6`, interleaved.
bench_backup() {
  local name=$1 url=$2
  local size; size=$(psql -X -At "$url" -c "select pg_size_pretty(pg_database_size(current_database()))")
  local bw="" sw="" ew="" srss="" erss="" loads="" base_size=0 st_size=0
  for i in $(seq "$RUNS"); do
    sync
    read -r w _ l < <(measure sh -c "pg_dump --data-only '$url' | gzip -6 > '$WORK/baseline.sql.gz'")
    bw="$bw $w"; loads="$loads $l"
    echo "  run $i backup baseline ${w}s (load $l)" >&2
    rm -rf "$WORK/dest" && mkdir -p "$WORK/dest"
    fresh_bundle
    read -r w r l < <(measure "${STOWAGE[@]}" backup --db "$url" --type data --to "file://$WORK/dest" --name bench)
    sw="$sw $w"; srss="$srss $r"; loads="$loads $l"
    echo "  run $i backup stowage  ${w}s ${r}MiB (load $l)" >&2
    if [ "${BENCH_ENGINE:-0}" = "1" ]; then
      # The engine alone (runBackup from a 20-line script under tsx): the CLI's own cost vs the engine's.
      rm -rf "$WORK/direct" && mkdir -p "$WORK/direct"
      read -r w r l < <(measure node --import tsx bench/backup/backup-direct.ts "$url" "$WORK/direct" data)
      ew="$ew $w"; erss="$erss $r"
      echo "  run $i backup engine   ${w}s ${r}MiB (load $l)" >&2
    fi
  done
  base_size=$(stat -c %s "$WORK/baseline.sql.gz")
  st_size=$(find "$WORK/dest" -name 'data.sql.gz' -printf '%s')
  local bm sm; bm=$(echo "$bw" | median); sm=$(echo "$sw" | median)
  echo "backup  $name size=$size runs=$RUNS baseline=[${bw# }]s median=${bm}s stowage=[${sw# }]s median=${sm}s ratio=$(echo "scale=3; $sm / $bm" | bc) peakRSS=[${srss# }]MiB gz(baseline)=$base_size gz(stowage)=$st_size load=[${loads# }]"
  if [ -n "$ew" ]; then
    echo "engine  $name runBackup()=[${ew# }]s median=$(echo "$ew" | median)s peakRSS=[${erss# }]MiB"
  fi
}

bench_one() {
  local name=$1
  local url; url=$(db_url "$name")
  local size; size=$(psql -X -At "$url" -c "select pg_size_pretty(pg_database_size(current_database()))")
  echo "==> $name ($size)" >&2
  if [ "${BENCH_BACKUP:-1}" = "1" ]; then bench_backup "$name" "$url"; fi
  if [ "${BENCH_RESTORE:-1}" = "1" ]; then bench_restore "$name" "$url"; fi
}

[ "${BENCH_ONLY:-small}" = "big" ] || ensure_db stowage_bench_small "$SMALL"
[ "${BENCH_ONLY:-big}" = "small" ] || ensure_db stowage_bench_big "$BIG"
[ "${BENCH_ONLY:-small}" = "big" ] || bench_one stowage_bench_small
[ "${BENCH_ONLY:-big}" = "small" ] || bench_one stowage_bench_big
if [ "${BENCH_KEEP:-0}" != "1" ]; then
  psql -X -q "$ADMIN_URL" -c "drop database if exists stowage_bench_small" -c "drop database if exists stowage_bench_big"
fi
