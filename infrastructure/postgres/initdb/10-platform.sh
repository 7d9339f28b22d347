#!/usr/bin/env bash
# Runs platform.psql. In the compose Postgres container the entrypoint calls this once at init; on a host,
# infrastructure/postgres/setup-host.sh calls it with a psql command line in PSQL.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [[ -z "${PSQL:-}" ]]; then
  PSQL="psql --username ${POSTGRES_USER:-postgres} --dbname postgres"
fi
for var in USER_SERVICE_DB_PASSWORD TENANT_SERVICE_DB_PASSWORD INSTANCE_SERVICE_DB_PASSWORD BILLING_SERVICE_DB_PASSWORD ODOO_PROVISIONER_PASSWORD; do
  # Docker secrets (infrastructure/swarm/stack.yml): NAME_FILE names a file holding NAME.
  file_var="${var}_FILE"
  if [[ -z "${!var:-}" && -n "${!file_var:-}" ]]; then printf -v "$var" '%s' "$(cat "${!file_var}")"; fi
  if [[ -z "${!var:-}" ]]; then
    echo "postgres setup: $var is not set" >&2
    exit 1
  fi
done
$PSQL -X -q -v ON_ERROR_STOP=1 \
  -v db_suffix="${DB_NAME_SUFFIX:-}" \
  -v user_service_password="$USER_SERVICE_DB_PASSWORD" \
  -v tenant_service_password="$TENANT_SERVICE_DB_PASSWORD" \
  -v instance_service_password="$INSTANCE_SERVICE_DB_PASSWORD" \
  -v billing_service_password="$BILLING_SERVICE_DB_PASSWORD" \
  -v odoo_provisioner_password="$ODOO_PROVISIONER_PASSWORD" \
  -f "$here/platform.psql"
echo "postgres setup: platform roles and databases${DB_NAME_SUFFIX:+ (suffix $DB_NAME_SUFFIX)} are in place"
