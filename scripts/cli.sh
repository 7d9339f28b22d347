#!/usr/bin/env bash
# npm run cli -- <command>: user-service's operator commands (create-admin, ensure-admin), with .env's settings
# and user-service's own database identity, as start:local runs it. Builds first when dist/ is missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/env-file.sh
env_file=${START_LOCAL_ENV_FILE:-.env}
if [[ -f $env_file ]]; then load_env_file "$env_file"; else load_env_file .env.example; fi
[[ -f dist/apps/user-service/main.js ]] || npm run --silent build
export POSTGRES_DB=auth${DB_NAME_SUFFIX:-} DB_SERVICE_USER=user_service DB_SERVICE_PASSWORD=$USER_SERVICE_DB_PASSWORD
unset POSTGRES_PASSWORD PGPASSWORD
exec node dist/apps/user-service/main.js "$@"
