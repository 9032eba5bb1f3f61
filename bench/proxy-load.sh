#!/bin/sh
# Load bench at 1,000 and 10,000 miners (issue 6 item 3). Raises the fd limit
# (each side holds one descriptor per miner), builds to a temp dir, runs both.
#   sh bench/proxy-load.sh [seconds] [rate]
set -e
cd "$(dirname "$0")/.."
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
OUT=${OUT:-/tmp/surplus-rel-bench}
npx tsc -p tsconfig.json --outDir "$OUT" >/dev/null 2>&1 || true
ln -sfn "$PWD/node_modules" "$OUT/node_modules"
for n in 1000 10000; do
  echo "== $n miners"
  node "$OUT/bench/proxy-load.js" --miners "$n" --seconds "${1:-30}" --rate "${2:-2000}" --jobs 10
done
