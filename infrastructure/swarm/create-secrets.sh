#!/usr/bin/env bash
# Creates the Docker secrets infrastructure/swarm/stack.yml uses from a .env file (default ./.env, the same
# variables as docker-compose.dev.yml), once, on a manager. Existing secrets are kept (rotate by creating a
# new name and updating the stack). Values never appear on a command line: they go through stdin.
set -euo pipefail
env_file=${1:-.env}
[[ -f $env_file ]] || { echo "create-secrets: $env_file not found" >&2; exit 1; }
set -a
# shellcheck disable=SC1090
source "$env_file"
set +a
declare -A secrets=(
  [postgres_password]=POSTGRES_PASSWORD
  [odoo_postgres_password]=ODOO_POSTGRES_PASSWORD
  [user_service_db_password]=USER_SERVICE_DB_PASSWORD
  [tenant_service_db_password]=TENANT_SERVICE_DB_PASSWORD
  [instance_service_db_password]=INSTANCE_SERVICE_DB_PASSWORD
  [billing_service_db_password]=BILLING_SERVICE_DB_PASSWORD
  [odoo_provisioner_password]=ODOO_PROVISIONER_PASSWORD
  [redis_password]=REDIS_PASSWORD
  [internal_api_token]=INTERNAL_API_TOKEN
  [instance_secrets_key]=INSTANCE_SECRETS_KEY
  [signing_keys_encryption_key]=SIGNING_KEYS_ENCRYPTION_KEY
  [killbill_password]=KILLBILL_PASSWORD
  [killbill_api_secret]=KILLBILL_API_SECRET
  [killbill_webhook_secret]=KILLBILL_WEBHOOK_SECRET
  [backup_download_secret]=BACKUP_DOWNLOAD_SECRET
  [traefik_dashboard_users]=TRAEFIK_DASHBOARD_USERS
)
create() { # name value
  if docker secret inspect "$1" >/dev/null 2>&1; then
    echo "create-secrets: $1 exists, kept"
  else
    printf '%s' "$2" | docker secret create "$1" - >/dev/null
    echo "create-secrets: $1 created"
  fi
}
for name in "${!secrets[@]}"; do
  var=${secrets[$name]}
  [[ -n ${!var:-} ]] || { echo "create-secrets: $var is not set in $env_file" >&2; exit 1; }
  create "$name" "${!var}"
done
create redis_url "redis://:${REDIS_PASSWORD}@redis:6379"
