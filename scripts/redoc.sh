#!/usr/bin/env bash
# Refreshes restapi/reference/redoc.standalone.js, the renderer of the
# gateway's API reference page (/v1/docs), from the npm package pinned in
# restapi/reference/package-lock.json: npm pack fetches that version, its
# tarball must match the lock's integrity, and the standalone bundle and its
# licence notice are copied out. The gateway embeds them (go:embed): the
# page loads nothing from any other host.
set -euo pipefail
cd "$(dirname "$0")/../restapi/reference"
read -r version integrity < <(node -p "const p=require('./package-lock.json').packages['node_modules/redoc']; p.version+' '+p.integrity")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tgz=$(cd "$tmp" && npm pack --silent "redoc@$version")
got="sha512-$(openssl dgst -sha512 -binary "$tmp/$tgz" | base64 -w0)"
[ "$got" = "$integrity" ] || { echo "redoc@$version: tarball $got, lock says $integrity" >&2; exit 1; }
tar -xzf "$tmp/$tgz" -C "$tmp" package/bundles/redoc.standalone.js package/bundles/redoc.standalone.js.LICENSE.txt
cp "$tmp/package/bundles/redoc.standalone.js" "$tmp/package/bundles/redoc.standalone.js.LICENSE.txt" .
echo "redoc@$version -> restapi/reference/redoc.standalone.js"
