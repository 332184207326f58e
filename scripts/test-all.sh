#!/usr/bin/env bash
# Every test tier, as CI runs it: lint, type check, unit + e2e on this machine's Node and on Node 24
# (the Dockerfile's runtime), a real registry with crane and cosign, the robustness tier in its
# short mode, and Kubernetes conformance.
# Run from a clean clone after `npm ci`.
#
# Every tier runs even after one fails, so that one run shows every failure; a table of tiers with
# their result and time comes last, and the exit status is non-zero if any tier failed.
# `scripts/test-all.sh lint conformance` runs only the tiers whose names contain one of the words.
set -uo pipefail
cd "$(dirname "$0")/.."

# One tier a line: its name, a "|", and the command (run by bash). Add a tier by adding a line.
TIERS=(
  "lint and format|npx eslint . && npx prettier --check ."
  "type check|npx tsc --noEmit -p tsconfig.json"
  "unit and e2e on $(node --version)|npx jest --ci"
  "unit and e2e on Node 24|node24=\"\$(bash scripts/node24.sh)\" && \"\$node24\" node_modules/jest/bin/jest.js --ci"
  "registry: docker-registry, crane and cosign (needs Go; the first build is slow)|npm run test:registry"
  "robustness, short mode (needs python3 with venv)|npm run test:robust"
  "Kubernetes conformance (needs Go; first build is slow)|npm run test:k8s -- --ci"
)

SELECTION="$*"
selected() {
  local word
  [ -z "$SELECTION" ] && return 0
  for word in $SELECTION; do
    case "$1" in *"$word"*) return 0 ;; esac
  done
  return 1
}

# Ctrl-C stops the whole run, not just the tier it lands in.
trap 'printf "\ninterrupted\n"; exit 130' INT

names=() results=() times=()
failed=0
for tier in "${TIERS[@]}"; do
  name="${tier%%|*}"
  command="${tier#*|}"
  selected "$name" || continue
  printf '\n\033[1m== %s\033[0m\n%s\n' "$name" "$command"
  started=$SECONDS
  if bash -c "$command"; then result=pass; else result=FAIL; failed=$((failed + 1)); fi
  names+=("$name") results+=("$result") times+=("$((SECONDS - started))")
done

if [ "${#names[@]}" -eq 0 ]; then
  echo "no tier matches: $SELECTION" >&2
  exit 2
fi
width=4
for name in "${names[@]}"; do [ "${#name}" -gt "$width" ] && width=${#name}; done
printf '\n\033[1m== summary\033[0m\n'
printf "%-${width}s  %-6s  %s\n" tier result time
for i in "${!names[@]}"; do
  printf "%-${width}s  %-6s  %dm%02ds\n" "${names[$i]}" "${results[$i]}" \
    "$((times[i] / 60))" "$((times[i] % 60))"
done
if [ "$failed" -gt 0 ]; then
  printf '\n%d of %d tiers failed\n' "$failed" "${#names[@]}"
  exit 1
fi
printf '\nall %d tiers passed\n' "${#names[@]}"
