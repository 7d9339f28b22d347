#!/usr/bin/env bash
# npm run migration:generate -- <app> <Name>   writes apps/<app>/src/database/migrations/<timestamp>-<Name>.ts
# npm run migration:run -- <app>               applies pending migrations (apps also do it at boot)
# npm run migration:show -- <app>              lists applied and pending migrations
# Uses the app's own data source file (apps/<app>/src/database/data-source.cli.ts) and its own role, read
# from the environment / .env: POSTGRES_HOST, POSTGRES_PORT, and the app's *_SERVICE_DB_PASSWORD.
# A generated migration must then be added to the app's data-source.ts migrations list.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command=${1:?usage: migration.sh generate|run|show <app> [Name]}
app=${2:?usage: migration.sh $command <app> [Name]}
[[ -d apps/$app ]] || { echo "unknown app: $app" >&2; exit 1; }
source scripts/env-file.sh
[[ -f .env ]] && load_env_file .env
case $app in
  user-service) db=auth role=user_service pw=${USER_SERVICE_DB_PASSWORD:-} ;;
  tenant-service) db=tenant role=tenant_service pw=${TENANT_SERVICE_DB_PASSWORD:-} ;;
  instance-service | instance-worker) db=instance role=instance_service pw=${INSTANCE_SERVICE_DB_PASSWORD:-} ;;
  billing-service) db=billing role=billing_service pw=${BILLING_SERVICE_DB_PASSWORD:-} ;;
esac
export POSTGRES_DB=${POSTGRES_DB:-$db}${DB_NAME_SUFFIX:-} DB_SERVICE_USER=$role DB_SERVICE_PASSWORD=$pw
unset POSTGRES_PASSWORD
datasource=apps/$app/src/database/data-source.cli.ts
typeorm=(node -r ts-node/register -r tsconfig-paths/register node_modules/typeorm/cli.js)
export TS_NODE_TRANSPILE_ONLY=1
case $command in
  generate)
    name=${3:?usage: migration.sh generate <app> <Name>}
    "${typeorm[@]}" migration:generate -d "$datasource" "apps/$app/src/database/migrations/$name" ;;
  run) "${typeorm[@]}" migration:run -d "$datasource" ;;
  show) "${typeorm[@]}" migration:show -d "$datasource" ;;
  *) echo "unknown command: $command" >&2; exit 1 ;;
esac
