#!/usr/bin/env bash
# The whole test run: system packages, dependencies, type check, page build, then every unit and end-to-end suite.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
trap 'echo "swarmcast: npm test took $((SECONDS - started)) s"' EXIT

bash scripts/ensure-system-deps.sh
[ -d node_modules ] || npm install --no-audit --no-fund
npx tsc -p .
# Dead code: unused files, exports and dependencies fail the run (knip.json says what the entry points are).
npx knip --no-progress
npx vite build --logLevel warn
npx vitest run "$@"
