#!/usr/bin/env bash
# A multi-node Docker Swarm on this machine, by hand: `bash scripts/swarm-lab.sh up [nodes] [image...]`,
# `traces`, `clean`. Needs root. See libs/testing/src/swarm-lab/README.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec node -r ts-node/register/transpile-only -r tsconfig-paths/register scripts/swarm-lab.ts "$@"
