#!/usr/bin/env bash
# Backup compression benchmark (issue 17): one run prints, side by side, on the issue's database
# (1,000,000 rows of md5 text + jsonb, ~220 MB, created once as `stowage_bench_compress`):
#   limit       pg_dump --data-only > /dev/null
#   zstd-shell  pg_dump --data-only | zstd -T0 -3
#   zstd        stowage backup --type data --compression zstd
#   gzip-shell  pg_dump --data-only | gzip -6
#   gzip-1      stowage backup --type data --compression gzip, STOWAGE_COMPRESS_THREADS=1
#   gzip-2      the same with STOWAGE_COMPRESS_THREADS=2
# Every round runs all six in that order (so load changes hit all alike), BENCH_RUNS rounds (default 3);
# the summary gives medians of wall time and of CPU time (user+sys of the command and its children:
# pg_dump, zstd, gzip; the server's backend is not counted, for either side), the ratios the issue
# asks for, output sizes and peak RSS, with the 1-minute load average at each run.
# CPU time is what to compare when the machine is busy: wall time then measures the other tenants.
# Env: STOWAGE_TEST_PG_URL (superuser URL, default postgresql://postgres@127.0.0.1:5432/postgres),
#      BENCH_RUNS (default 3), BENCH_KEEP=0 to drop the database afterwards (kept by default: ~30 s to build).
# Takes `flock /tmp/stowage-bench.lock` itself, so it never overlaps another benchmark.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -z "${STOWAGE_BENCH_LOCKED:-}" ]; then
  exec env STOWAGE_BENCH_LOCKED=1 flock /tmp/stowage-bench.lock "$0" "$@"
fi
RUNS=${BENCH_RUNS:-3}
ADMIN_URL=${STOWAGE_TEST_PG_URL:-postgresql://postgres@127.0.0.1:5432/postgres}
DB=stowage_bench_compress
URL="${ADMIN_URL%/*}/$DB"
WORK=$(mktemp -d /tmp/stowage-bench-compress-XXXXXX)
STOWAGE=(apps/backup/bin/stowage.js)
trap 'rm -rf "$WORK"' EXIT

load1() { cut -d' ' -f1 /proc/loadavg; }
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { echo "scale=2; $1 / $2" | bc | sed 's/^\./0./'; }

if ! psql -X -At "$ADMIN_URL" -c "select 1 from pg_database where datname = '$DB'" | grep -q 1; then
  echo "==> creating $DB (1,000,000 rows of md5 text + jsonb)" >&2
  psql -X -q "$ADMIN_URL" -c "create database \"$DB\""
  psql -X -q "$URL" -c "
    create table docs (id integer primary key, note text not null, doc jsonb not null);
    insert into docs
    select i, md5(i::text), jsonb_build_object('id', i, 'hash', md5((i * 7)::text), 'n', i % 1000,
             'tags', jsonb_build_array('a' || i % 7, 'b' || i % 11), 'flag', i % 3 = 0)
      from generate_series(1, 1000000) i;" -c "vacuum analyze docs"
fi

# The bin runs the esbuild bundle only while it is fresh; build it once, and again only if someone
# changed a source during the run (otherwise the bin would fall back to tsx and measure that).
ensure_bundle() {
  if ! node -e 'import("./apps/backup/bin/bundle-check.js").then((m) => process.exit(m.freshBundle(new URL("file://" + process.cwd() + "/apps/backup/dist/")) ? 0 : 1))'; then
    node apps/backup/bin/build.js >/dev/null
  fi
}

# Runs a command under /usr/bin/time; prints "<wall s> <user+sys s> <peak RSS MiB> <load1 before>".
measure() {
  local log="$WORK/time.log" load
  load=$(load1)
  /usr/bin/time -f '%e %U %S %M' -o "$log" "$@" >/dev/null
  awk -v l="$load" '{ printf "%s %.2f %.0f %s\n", $1, $2 + $3, $4 / 1024, l }' "$log"
}

stowage_backup() { # <compression> <threads> <dest>
  rm -rf "$3" && mkdir -p "$3"
  ensure_bundle
  measure env STOWAGE_COMPRESS_THREADS="$2" "${STOWAGE[@]}" backup --db "$URL" --type data --compression "$1" \
    --to "file://$3" --name bench
}

declare -A WALL CPU RSS LOADS SIZE
NAMES=(limit zstd-shell zstd gzip-shell gzip-1 gzip-2)
record() { # <name> <wall> <cpu> <rss> <load>
  WALL[$1]="${WALL[$1]:-} $2"; CPU[$1]="${CPU[$1]:-} $3"; RSS[$1]="${RSS[$1]:-} $4"; LOADS[$1]="${LOADS[$1]:-} $5"
  printf '  %-10s wall %6ss cpu %6ss rss %4s MiB (load %s)\n' "$1" "$2" "$3" "$4" "$5" >&2
}

echo "==> $DB ($(psql -X -At "$URL" -c "select pg_size_pretty(pg_database_size(current_database()))")), uptime before: $(uptime)" >&2
ensure_bundle
for i in $(seq "$RUNS"); do
  echo " round $i" >&2
  sync
  read -r w c r l < <(measure sh -c "pg_dump --data-only '$URL' > /dev/null"); record limit "$w" "$c" "$r" "$l"
  read -r w c r l < <(measure sh -c "pg_dump --data-only '$URL' | zstd -T0 -3 -q > '$WORK/shell.sql.zst'"); record zstd-shell "$w" "$c" "$r" "$l"
  read -r w c r l < <(stowage_backup zstd "" "$WORK/zstd"); record zstd "$w" "$c" "$r" "$l"
  read -r w c r l < <(measure sh -c "pg_dump --data-only '$URL' | gzip -6 > '$WORK/shell.sql.gz'"); record gzip-shell "$w" "$c" "$r" "$l"
  read -r w c r l < <(stowage_backup gzip 1 "$WORK/gzip1"); record gzip-1 "$w" "$c" "$r" "$l"
  read -r w c r l < <(stowage_backup gzip 2 "$WORK/gzip2"); record gzip-2 "$w" "$c" "$r" "$l"
done
SIZE[zstd-shell]=$(stat -c %s "$WORK/shell.sql.zst")
SIZE[gzip-shell]=$(stat -c %s "$WORK/shell.sql.gz")
SIZE[zstd]=$(find "$WORK/zstd" -name 'data.sql.zst' -printf '%s')
SIZE[gzip-1]=$(find "$WORK/gzip1" -name 'data.sql.gz' -printf '%s')
SIZE[gzip-2]=$(find "$WORK/gzip2" -name 'data.sql.gz' -printf '%s')
# One zlib level-6 stream of the same SQL (what Stowage wrote before the members): the 2% yardstick.
SINGLE=$(gunzip -c "$WORK/shell.sql.gz" | node -e '
  const z = require("node:zlib").createGzip({ level: 6 }); let n = 0;
  z.on("data", (b) => { n += b.length; }).on("end", () => console.log(n)); process.stdin.pipe(z);')
# Every stored file must still read back: gunzip/zstd -t over Stowage output.
gunzip -t "$(find "$WORK/gzip2" -name 'data.sql.gz')"
zstd -q -t "$(find "$WORK/zstd" -name 'data.sql.zst')"

declare -A MW MC
echo "backup compression $DB runs=$RUNS uptime after: $(uptime)"
printf '%-10s %-22s %8s %-22s %8s %10s %-14s %s\n' pipeline "wall runs (s)" median "cpu runs (s)" median "bytes" "peak RSS MiB" "load"
for n in "${NAMES[@]}"; do
  MW[$n]=$(echo "${WALL[$n]}" | median); MC[$n]=$(echo "${CPU[$n]}" | median)
  printf '%-10s %-22s %8s %-22s %8s %10s %-14s %s\n' "$n" "${WALL[$n]# }" "${MW[$n]}" "${CPU[$n]# }" "${MC[$n]}" "${SIZE[$n]:--}" "${RSS[$n]# }" "${LOADS[$n]# }"
done
echo "ratios (wall / cpu):"
echo "  zstd   / limit      = $(ratio "${MW[zstd]}" "${MW[limit]}") / $(ratio "${MC[zstd]}" "${MC[limit]}")   (target wall <= 1.25)"
echo "  zstd   / zstd-shell = $(ratio "${MW[zstd]}" "${MW[zstd-shell]}") / $(ratio "${MC[zstd]}" "${MC[zstd-shell]}")   (target wall <= 1.1)"
echo "  gzip-1 / gzip-shell = $(ratio "${MW[gzip-1]}" "${MW[gzip-shell]}") / $(ratio "${MC[gzip-1]}" "${MC[gzip-shell]}")"
echo "  gzip-2 / gzip-shell = $(ratio "${MW[gzip-2]}" "${MW[gzip-shell]}") / $(ratio "${MC[gzip-2]}" "${MC[gzip-shell]}")   (target wall <= 0.6)"
echo "  gzip-2 / gzip-1     = $(ratio "${MW[gzip-2]}" "${MW[gzip-1]}") wall   (scaling from 1 to 2 workers)"
echo "sizes: gzip members $(echo "scale=4; (${SIZE[gzip-2]} / $SINGLE - 1) * 100" | bc)% vs one zlib level-6 stream ($SINGLE B), $(echo "scale=4; (${SIZE[gzip-2]} / ${SIZE[gzip-shell]} - 1) * 100" | bc)% vs gzip -6; zstd $(echo "scale=4; (${SIZE[zstd]} / ${SIZE[zstd-shell]} - 1) * 100" | bc)% vs the shell's"
if [ "${BENCH_KEEP:-1}" = "0" ]; then psql -X -q "$ADMIN_URL" -c "drop database if exists \"$DB\""; fi
