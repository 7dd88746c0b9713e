#!/usr/bin/env bash
# Installs Debian's chromium for the example pages' browser tests (playwright-core drives /usr/bin/chromium;
# `npx playwright install` cannot download browsers here). Idempotent: does nothing when it is there.
#   bash scripts/install-chromium.sh
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi
echo "installing chromium…" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq chromium >&2
