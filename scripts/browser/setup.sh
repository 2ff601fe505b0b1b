#!/usr/bin/env bash
# Installs Debian's chromium for the browser test (tests/service/test_web_browser.py), where
# /usr/bin/chromium is missing. Playwright drives it through executable_path: no browser is
# downloaded by Playwright itself. Quiet, and a second run does nothing.
set -euo pipefail

CHROMIUM=/usr/bin/chromium
log() { printf 'browser: %s\n' "$*" >&2; }

if [ -x "$CHROMIUM" ]; then
    exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    log "needs $CHROMIUM: run 'apt-get install chromium' as root"
    exit 1
fi
log "installing Debian's chromium (apt-get install chromium)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null
"$CHROMIUM" --version >&2
