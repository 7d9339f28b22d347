#!/usr/bin/env bash
# Builds the customer portal (apps/portal) into apps/portal/dist: API types regenerated from docs/openapi.json,
# type-checked, then bundled by Vite. Called by scripts/build.sh (npm run build).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# openapi-typescript lints the document as it reads it; its notes are shown only when generation fails.
if ! out=$(npx --no-install openapi-typescript docs/openapi.json --default-non-nullable=false \
  -o apps/portal/src/api/schema.gen.d.ts 2>&1); then
  echo "$out" >&2
  exit 1
fi
npx --no-install tsc -p apps/portal/tsconfig.json
# NODE_ENV=production whatever the caller's (npm test exports test): React's production build.
NODE_ENV=production npx --no-install vite build --config apps/portal/vite.config.mts --logLevel warn
