#!/usr/bin/env bash
# Builds, once, the local stand-in for the official node:20-bookworm-slim image, tagged with the
# name the CI passes to deploy/Dockerfile (NODE_IMAGE): the cached debootstrap'd bookworm minbase
# (.ci/bookworm-rootfs.sh) plus this machine's Node 20 and npm laid out as the official image lays
# them out (/usr/local/bin/node, /usr/local/lib/node_modules/npm, /usr/local/include/node).
# These machines cannot pull from a registry; a user who can simply builds with the default
# NODE_IMAGE. Also carries the machine's CA bundle (its egress proxy signs TLS with its own CA) so
# npm inside a build reaches the registry; images built on the official base have no such need.
#   usage: DOCKER_HOST=... .ci/node-base-image.sh      prints the image tag
set -euo pipefail
cd "$(dirname "$0")/.."
docker="${EDGELOOP_DOCKER:-/usr/bin/docker}"
tag="${EDGELOOP_NODE_IMAGE:-edgeloop/node:20-bookworm}"
node_version="$(node --version)"
if [ "$("$docker" image inspect -f '{{index .Config.Labels "org.edgeloop.node"}}' "$tag" 2>/dev/null)" = "$node_version" ]; then
  echo "$tag"; exit 0
fi
rootfs="$(.ci/bookworm-rootfs.sh amd64)"
"$docker" import "$rootfs" edgeloop/bookworm:minbase >/dev/null

ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT
node_bin="$(readlink -f "$(command -v node)")"
prefix="$(dirname "$(dirname "$node_bin")")"
mkdir -p "$ctx/usr/local/bin" "$ctx/usr/local/lib" "$ctx/usr/local/include"
cp "$node_bin" "$ctx/usr/local/bin/node"
cp -a "$prefix/lib/node_modules/npm" "$ctx/usr/local/lib/node_modules-npm"
cp -a "$prefix/include/node" "$ctx/usr/local/include/node"
cp /etc/ssl/certs/ca-certificates.crt "$ctx/ca-certificates.crt"
cat >"$ctx/Dockerfile" <<DOCKERFILE
FROM edgeloop/bookworm:minbase
COPY usr/local/bin/node /usr/local/bin/node
COPY usr/local/lib/node_modules-npm /usr/local/lib/node_modules/npm
COPY usr/local/include/node /usr/local/include/node
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\
 && node --version && npm --version
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt NODE_VERSION=${node_version#v}
LABEL org.edgeloop.node="$node_version"
CMD ["node"]
DOCKERFILE
DOCKER_BUILDKIT=0 "$docker" build -q -t "$tag" "$ctx" >/dev/null
echo "$tag"
