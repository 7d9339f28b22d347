#!/usr/bin/env bash
# The test command (npm test): brings up Postgres, Redis and Docker when missing, prepares the *_test
# databases and roles, then runs lint, build and every test against the real services.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Test settings: .env.example's defaults, unless the environment says otherwise.
source scripts/env-file.sh
load_env_file .env.example
# TEST_DB_SUFFIX (default _test) names the databases: worktrees testing side by side each give their own.
export TEST_DB_SUFFIX=${TEST_DB_SUFFIX:-_test}
export NODE_ENV=test DB_NAME_SUFFIX=$TEST_DB_SUFFIX

BOOTSTRAP_TEST_TOOLS=1 bash scripts/bootstrap-deps.sh
bash scripts/swarm-init.sh
bash infrastructure/postgres/setup-host.sh
[[ -d node_modules ]] || npm install --no-audit --no-fund
if [[ -f infrastructure/odoo-stub/build.sh ]]; then bash infrastructure/odoo-stub/build.sh; fi

echo "== lint"
npm run --silent lint
npm run --silent lint:openapi
echo "== build"
npm run --silent build
npm run --silent check:bundle
echo "== tests"
node node_modules/jest/bin/jest.js --runInBand "$@"
