#!/usr/bin/env bash
# npm run test:registry [-- jest args]: the registry tier. Needs Debian's docker-registry and
# apache2-utils (htpasswd) and Go for crane and cosign, which are built once and cached.
set -euo pipefail
cd "$(dirname "$0")/../.."
for tool in docker-registry htpasswd; do
  command -v "$tool" >/dev/null || { echo "test:registry needs $tool (apt-get install docker-registry apache2-utils)" >&2; exit 1; }
done
bash test/tools/go-tool.sh crane >/dev/null
bash test/tools/go-tool.sh cosign >/dev/null
exec npx jest -c test/registry/jest.config.js --ci "$@"
