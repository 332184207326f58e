#!/usr/bin/env bash
# Prints the path of a Node 24 binary, installing it from the npm registry (the `node` package)
# into a cache the first time. The Dockerfile runs Node 24, so CI tests on it too.
set -euo pipefail
dir="${KIB_NODE24_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kube-image-bouncer/node24}"
bin="$dir/node_modules/node/bin/node"
if ! "$bin" --version 2>/dev/null | grep -q '^v24\.'; then
  mkdir -p "$dir"
  npm install --prefix "$dir" --no-save --no-package-lock --loglevel=error node@24 >&2
fi
"$bin" --version >&2
echo "$bin"
