#!/usr/bin/env bash
# The main job on the embedded defaults (README: "npm start"): installs what is missing, builds the
# CLI bundle and the web UI, then runs `stowage serve` (SQLite metadata and a local backup folder
# under ./data) and prints the URL to open. Ctrl+C stops it.
#   PORT (3000), HOST (127.0.0.1), STOWAGE_DATA_DIR (./data), STOWAGE_SECRET_KEY: see README "The backup server".
#   Extra arguments go to `stowage serve` (e.g. `npm start -- --port 8080`).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/system-packages.sh
ensure_debian_packages
[ -d node_modules ] || npm ci --no-fund --no-audit
npm run build --silent -w @stowage/backup
# The web UI (apps/backup/web/dist), served by `stowage serve` at /.
npm run build:web --silent -w @stowage/backup
# The diagram web app (apps/diagrams/web/dist), served by `stowage-diagrams` at /.
npm run build:web --silent -w @stowage/diagrams
mkdir -p "${STOWAGE_DATA_DIR:-data}"
exec node apps/backup/bin/stowage.js serve "$@"
