#!/usr/bin/env bash
# Sourced by the npm scripts: `load_env_file FILE` exports each KEY=value line of FILE that is not already set,
# so variables given in the environment always win over the file.
load_env_file() {
  local line key
  while IFS= read -r line || [[ -n $line ]]; do
    [[ -z $line || $line == \#* || $line != *=* ]] && continue
    key=${line%%=*}
    [[ -z ${!key+x} ]] && export "$key=${line#*=}"
  done <"$1"
  return 0
}

# Secrets that must never keep the values shipped in .env.example (the services refuse them in production).
RANDOM_SECRET_VARS=(INTERNAL_API_TOKEN INSTANCE_SECRETS_KEY SIGNING_KEYS_ENCRYPTION_KEY KILLBILL_WEBHOOK_SECRET USER_SERVICE_DB_PASSWORD
  TENANT_SERVICE_DB_PASSWORD INSTANCE_SERVICE_DB_PASSWORD BILLING_SERVICE_DB_PASSWORD ODOO_PROVISIONER_PASSWORD
  BACKUP_DOWNLOAD_SECRET)

# `write_env_with_random_secrets TEMPLATE TARGET`: TEMPLATE with a fresh random value for each secret above
# (the AES-256-GCM keys INSTANCE_SECRETS_KEY and SIGNING_KEYS_ENCRYPTION_KEY: base64 of 32 bytes; the others: 44
# URL-safe characters).
write_env_with_random_secrets() {
  local line key value
  (
    umask 077
    while IFS= read -r line || [[ -n $line ]]; do
      key=${line%%=*}
      if [[ $line == *=* && $line != \#* && " ${RANDOM_SECRET_VARS[*]} " == *" $key "* ]]; then
        if [[ $key == INSTANCE_SECRETS_KEY || $key == SIGNING_KEYS_ENCRYPTION_KEY ]]; then
          value=$(head -c 32 /dev/urandom | base64 | tr -d '\n')
        else
          value=$(head -c 33 /dev/urandom | base64 | tr -d '\n' | tr '+/' '-_')
        fi
        line="$key=$value"
      fi
      printf '%s\n' "$line"
    done <"$1" >"$2"
  )
}
