#!/usr/bin/env bash
# npm run test:registry [-- jest args]: the registry tier. Needs Debian's docker-registry and
# apache2-utils (htpasswd) and Go for crane and cosign, which are built once and cached.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash test/registry/ensure-tools.sh
exec npx jest -c test/registry/jest.config.js --ci "$@"
