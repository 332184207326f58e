#!/usr/bin/env bash
# Every test tier, as CI runs it: lint, type check, unit + e2e on this machine's Node and on Node 24
# (the Dockerfile's runtime), the robustness tier in its short mode, and Kubernetes conformance.
# Run from a clean clone after `npm ci`.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "lint and format"
npx eslint .
npx prettier --check .

step "type check"
npx tsc --noEmit -p tsconfig.json

step "unit and e2e tests on $(node --version)"
npx jest --ci

step "unit and e2e tests on Node 24"
NODE24="$(bash scripts/node24.sh)"
"$NODE24" node_modules/jest/bin/jest.js --ci

step "robustness, short mode: fuzzing, schemathesis, a 60 s soak, faults under load, TLS refusals (needs python3 with venv)"
npm run test:robust

step "Kubernetes conformance: a real kube-apiserver against the built bouncer (needs Go; first build is slow)"
npm run test:k8s -- --ci
