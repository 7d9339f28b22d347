#!/usr/bin/env bash
# Builds every app to dist/apps/<app>/main.js (webpack bundles the shared libs; node_modules stay external),
# and, without arguments, the customer portal to apps/portal/dist (scripts/build-portal.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
apps=(user-service tenant-service instance-service billing-service instance-worker)
for app in "${@:-${apps[@]}}"; do
  npx --no-install nest build "$app"
done
if [[ $# -eq 0 ]]; then bash scripts/build-portal.sh; fi
