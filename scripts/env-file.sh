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
