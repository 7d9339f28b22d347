#!/usr/bin/env bash
# Init of compose's odoo-postgres (the Odoo instances' own server), run once by the image's entrypoint on an
# empty data volume: creates odoo_provisioner and replaces pg_hba.conf so that, over TCP, only `odoo_*` roles
# (the provisioner and the one role per instance it creates) are accepted, and only from the networks the
# server is attached to (odoo and the tenant networks). The admin role works through the local socket only.
set -euo pipefail
# Docker secrets (infrastructure/swarm/stack.yml): ODOO_PROVISIONER_PASSWORD_FILE names the file holding it.
if [[ -z "${ODOO_PROVISIONER_PASSWORD:-}" && -n "${ODOO_PROVISIONER_PASSWORD_FILE:-}" ]]; then
  ODOO_PROVISIONER_PASSWORD="$(cat "$ODOO_PROVISIONER_PASSWORD_FILE")"
fi
if [[ -z "${ODOO_PROVISIONER_PASSWORD:-}" ]]; then
  echo "odoo-postgres init: ODOO_PROVISIONER_PASSWORD is not set" >&2
  exit 1
fi
psql -X -q -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname postgres \
  -v odoo_provisioner_password="$ODOO_PROVISIONER_PASSWORD" <<'SQL'
SELECT 'CREATE ROLE odoo_provisioner LOGIN' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'odoo_provisioner') \gexec
ALTER ROLE odoo_provisioner WITH LOGIN NOSUPERUSER CREATEDB CREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'odoo_provisioner_password';
SQL
cat > "$PGDATA/pg_hba.conf" <<'HBA'
# Written by infrastructure/postgres/odoo-initdb/10-odoo.sh. First match wins.
# TYPE  DATABASE  USER      ADDRESS   METHOD
local   all       all                 trust
host    all       /^odoo_   samenet   scram-sha-256
host    all       all       all       reject
HBA
echo "odoo-postgres init: odoo_provisioner and pg_hba (odoo_* roles over TCP only) are in place"
