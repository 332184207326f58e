#!/usr/bin/env bash
# Prints the path of a test tool that only the Go module proxy can give, building it once at its
# pinned version and caching it, as test/k8s/build-control-plane.sh does for the control plane.
#
#   CRANE=$(bash test/tools/go-tool.sh crane | tail -1)
#
# Tools and versions are pinned in test/tools/go-tools.txt (name, package, version, and for a module
# that `go install pkg@version` cannot build, the module to build inside). The binary lands in
# $KIB_TOOLS_CACHE/<name>-<version>/<name> (default ~/.cache/kube-image-bouncer/tools).
# Concurrent calls for one tool wait for a single build.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
name=${1:?usage: go-tool.sh NAME (one of: $(awk '!/^#/ && NF {printf "%s ", $1}' "$HERE/go-tools.txt"))}
read -r _ package version module < <(awk -v n="$name" '$1 == n {print; exit}' "$HERE/go-tools.txt") ||
  { echo "go-tool.sh: no tool named $name in $HERE/go-tools.txt" >&2; exit 2; }
cache=${KIB_TOOLS_CACHE:-$HOME/.cache/kube-image-bouncer/tools}/$name-$version
bin=$cache/$name
if [[ -x $bin ]]; then echo "$bin"; exit 0; fi
command -v go >/dev/null || { echo "go-tool.sh: go not found in PATH; $name is built from the Go module proxy" >&2; exit 1; }
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [[ -x $bin ]]; then echo "$bin"; exit 0; fi
tmp=$(mktemp -d "$cache/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "[go-tool] building $package@$version (once; cached in $cache)" >&2
start=$SECONDS
if [[ -z ${module:-} ]]; then
  GOWORK=off GOFLAGS=-trimpath CGO_ENABLED=0 GOBIN="$tmp" go install "$package@$version" >&2
else
  # `go install pkg@version` first asks the proxy for the module's version list (to read its
  # deprecation), and a proxy may refuse that list while serving the version itself: notation's
  # answers 403. Download the pinned version, checked against the checksum database as `go install`
  # would, and build inside it with its own go.mod and go.sum.
  dir=$(GOWORK=off GOFLAGS=-modcacherw go mod download -json "$module@$version" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [[ -d $dir ]] || { echo "go-tool.sh: go mod download $module@$version gave no directory" >&2; exit 1; }
  (cd "$dir" && GOWORK=off GOFLAGS='-trimpath -mod=readonly' CGO_ENABLED=0 \
    go build -o "$tmp/$name" "./${package#"$module"/}") >&2
fi
built=$(find "$tmp" -maxdepth 1 -type f -perm -u+x | head -1)
[[ -n $built ]] || { echo "go-tool.sh: go install produced no binary" >&2; exit 1; }
mv "$built" "$bin"
echo "[go-tool] built $name $version in $((SECONDS - start)) s" >&2
echo "$bin"
