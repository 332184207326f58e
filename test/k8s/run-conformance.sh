#!/usr/bin/env bash
# npm run test:k8s [-- jest args]: the Kubernetes conformance tier.
#   1. build (or reuse the cached) etcd, kube-apiserver, kube-controller-manager and kubectl;
#   2. build (or reuse the cached) helm, for scenario 9's lint, template and dry run of the chart;
#   3. build the bouncer (dist/), which the scenarios run as a real process;
#   4. run test/k8s/**/*.k8s-spec.ts, one file at a time.
# KIB_K8S_KEEP=1 keeps the control plane's directory (logs, certificates, configuration) after the run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

KIB_K8S_BIN=$(bash test/k8s/build-control-plane.sh | tail -1)
export KIB_K8S_BIN
KIB_HELM=$(bash test/tools/go-tool.sh helm | tail -1)
export KIB_HELM
# Scenarios 10 and 11 push to a local registry with crane and sign with cosign.
bash test/registry/ensure-tools.sh
npm run --silent build
exec npx jest --config test/k8s/jest.config.js --runInBand "$@"
