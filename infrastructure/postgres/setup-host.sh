#!/usr/bin/env bash
# npm run db:setup: create the platform roles and databases on a host Postgres, idempotently.
# Admin access: POSTGRES_USER + POSTGRES_PASSWORD (with POSTGRES_HOST/PORT) when given; otherwise, on a
# Debian host with a local cluster, the postgres OS user through the local socket.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [[ -n "${POSTGRES_PASSWORD:-}" ]]; then
  export PGPASSWORD="$POSTGRES_PASSWORD"
  export PSQL="psql -h ${POSTGRES_HOST:-127.0.0.1} -p ${POSTGRES_PORT:-5432} -U ${POSTGRES_USER:-postgres} -d postgres"
elif id postgres >/dev/null 2>&1 && [[ $(id -u) -eq 0 ]]; then
  export PSQL="runuser -u postgres -- psql -p ${POSTGRES_PORT:-5432} -d postgres"
elif id -un | grep -qx postgres; then
  export PSQL="psql -p ${POSTGRES_PORT:-5432} -d postgres"
else
  echo "db:setup: give admin credentials (POSTGRES_USER, POSTGRES_PASSWORD) or run as root on a host with a local cluster" >&2
  exit 1
fi
exec bash "$here/initdb/10-platform.sh"
