#!/usr/bin/env bash
# What the registry tier and the conformance tier's supply-chain scenarios need: Debian's
# docker-registry and htpasswd, unshare (util-linux, for the timestamp server's own network
# namespace), and crane, cosign v2 and v3, notation and sigstore's timestamp-server built once from
# the Go module proxy.
set -euo pipefail
cd "$(dirname "$0")/../.."
# Debian's packages, installed on a fresh machine where we may (as root, with apt), as CI's is.
if ! command -v docker-registry >/dev/null || ! command -v htpasswd >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "test:registry: installing Debian's docker-registry and apache2-utils" >&2
    # RUNLEVEL=1: the package must not start its own registry, which would listen on every interface.
    apt-get update -qq >&2 && RUNLEVEL=1 DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-registry apache2-utils >&2
  fi
fi
for tool in docker-registry htpasswd; do
  command -v "$tool" >/dev/null || { echo "test:registry needs $tool (apt-get install docker-registry apache2-utils)" >&2; exit 1; }
done
command -v unshare >/dev/null || { echo "test:registry needs unshare (util-linux)" >&2; exit 1; }
for tool in crane cosign cosign3 notation timestamp-server; do
  bash test/tools/go-tool.sh "$tool" >/dev/null
done
