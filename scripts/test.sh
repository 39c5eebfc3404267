#!/usr/bin/env bash
# The test command (README: "npm test"). On a fresh Debian 12 machine with Node 20 it installs what
# is missing, starts what the tests need, runs lint, typecheck and every test, and stops what it started.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/system-packages.sh
source scripts/lib/postgres.sh

ensure_debian_packages chromium rclone age poppler-utils
if [ "${CI:-}" = "true" ] || [ ! -d node_modules ]; then
  echo "==> npm ci"
  npm ci --no-fund --no-audit
fi
# The stowage bin runs this bundle when it is fresh (40 MB less memory than tsx), else tsx.
npm run build --silent -w @stowage/backup
# The web UI (apps/backup/web/dist), served by `stowage serve` at /.
npm run build:web --silent -w @stowage/backup
# The diagram web app (apps/diagrams/web/dist), served by `stowage-diagrams` at /.
npm run build:web --silent -w @stowage/diagrams
trap 'stop_throwaway_postgres; stop_logical_postgres' EXIT
ensure_postgres
ensure_logical_postgres

echo "==> lint (biome)"
npx biome ci .
echo "==> typecheck (tsc --noEmit)"
npx tsc --noEmit -p tsconfig.json
npx tsc --noEmit -p apps/backup/web/tsconfig.json
npx tsc --noEmit -p apps/diagrams/web/tsconfig.json
echo "==> tests (vitest)"
npx vitest run "$@"
