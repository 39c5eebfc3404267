#!/usr/bin/env bash
# Storage benchmark: streams generated data of unknown length through each provider on loopback,
# next to a baseline in the same run. Prints MB/s, peak RSS and ratios.
#   bash bench/storage/run.sh [size-MiB ...]      (default: 256 1024)
set -euo pipefail
cd "$(dirname "$0")/../.."
exec npx tsx bench/storage/run.ts "$@"
