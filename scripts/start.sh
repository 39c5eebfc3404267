#!/usr/bin/env bash
# The main job on the embedded defaults (README: "npm start"): installs what is missing, then backs
# up a PostgreSQL database to a local folder and lists the backups there.
#   DATABASE_URL        database to back up (default: the local server, postgresql://postgres@127.0.0.1:5432/postgres)
#   STOWAGE_DESTINATION where to (default: file://$PWD/data/backups)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/system-packages.sh
ensure_debian_packages
[ -d node_modules ] || npm ci --no-fund --no-audit
npm run build --silent -w @stowage/backup
# The web UI (apps/backup/web/dist), served by `stowage serve` at /.
npm run build:web --silent -w @stowage/backup
db="${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/postgres}"
dest="${STOWAGE_DESTINATION:-file://$PWD/data/backups}"
case "$dest" in file://*) mkdir -p "${dest#file://}" ;; esac
npx stowage backup --db "$db" --to "$dest" "$@"
npx stowage list --from "$dest"
