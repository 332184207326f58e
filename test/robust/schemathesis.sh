#!/usr/bin/env bash
# Prints the path of the schemathesis CLI, installing it from PyPI into a virtualenv under the
# cache directory the first time (as scripts/node24.sh does for Node 24). Needs python3 with venv.
set -euo pipefail
version=4.32.5
dir="${KIB_SCHEMATHESIS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kube-image-bouncer/schemathesis}"
bin="$dir/bin/schemathesis"
if ! "$bin" --version 2>/dev/null | grep -q "version $version\$"; then
  rm -rf "$dir"
  python3 -m venv "$dir" >&2
  "$dir/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$version" >&2
fi
"$bin" --version >&2
echo "$bin"
