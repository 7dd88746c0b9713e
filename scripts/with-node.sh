#!/usr/bin/env bash
# Runs a command under another Node version, fetched from the npm registry's node-<os>-<arch> package (the
# binaries the `node` package installs) into ~/.cache/byokit-node/<version>, and put first on PATH, so that npm,
# turbo and vitest all run on it. node_modules need no reinstall: byokit's dependencies hold no native module
# that depends on Node's ABI (PGlite is WebAssembly).
#   bash scripts/with-node.sh 24 npm test        # the latest 24.x
#   bash scripts/with-node.sh 20.19.0 npx vitest run --root packages/core
set -euo pipefail

wanted=${1:?usage: with-node.sh <version, e.g. 24 or 20.19.0> <command…>}
shift
case "$(uname -s)" in Linux) os=linux ;; Darwin) os=darwin ;; *) echo "unsupported OS: $(uname -s)" >&2; exit 1 ;; esac
case "$(uname -m)" in x86_64) arch=x64 ;; aarch64 | arm64) arch=arm64 ;; *) echo "unsupported CPU: $(uname -m)" >&2; exit 1 ;; esac
package=node-$os-$arch

version=$(npm view "$package@$wanted" version --json | tr -d '[]" \n' | tr ',' '\n' | sort -V | tail -1)
[ -n "$version" ] || { echo "no $package@$wanted on the registry" >&2; exit 1; }
folder=${XDG_CACHE_HOME:-$HOME/.cache}/byokit-node/$version
if [ ! -x "$folder/package/bin/node" ]; then
  mkdir -p "$folder"
  (cd "$folder" && npm pack --silent "$package@$version" >/dev/null && tar xzf "$package-$version.tgz" && rm "$package-$version.tgz")
fi
export PATH="$folder/package/bin:$PATH"
echo "with-node: $(node --version)" >&2
exec "$@"
