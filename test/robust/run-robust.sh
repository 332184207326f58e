#!/usr/bin/env bash
# npm run test:robust: property and schema fuzzing, a soak, faults under load and TLS refusals, all
# against the built CLI. Short by default (CI); ROBUST_LONG=1 for the long run whose figures are
# committed in test/robust/results.json. Extra arguments go to jest (e.g. a spec name to run one).
set -euo pipefail
cd "$(dirname "$0")/../.."
exec npx jest -c test/robust/jest.config.js --ci "$@"
