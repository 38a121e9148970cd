#!/bin/sh
# Installs the portal's browser libraries (Aladin Lite, sampjs; portal/package.json, pinned
# by portal/package-lock.json) into portal/node_modules with `npm ci`. The server serves
# them itself (/portal/vendor/...), so the portal works offline and loads nothing from a CDN.
# Run by deploy/install-system-packages.sh (the README's test command) and by
# `cassisjuice demo` when they are missing; a second run does nothing.
set -eu
portal="$(cd "$(dirname "$0")/../portal" && pwd)"
installed="$portal/node_modules/.package-lock.json"
if [ -f "$installed" ] && [ "$installed" -nt "$portal/package-lock.json" ] \
   && [ -f "$portal/node_modules/aladin-lite/dist/aladin.js" ] \
   && [ -f "$portal/node_modules/sampjs/samp.js" ]; then
    exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
    # Debian's nodejs has no npm (NodeSource's has); the npm package brings it
    if command -v apt-get >/dev/null 2>&1; then
        sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        echo "install-web-assets: installing npm"
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends \
            npm >/dev/null
    else
        echo "install-web-assets: npm is missing; install Node.js and npm" >&2
        exit 1
    fi
fi
echo "install-web-assets: npm ci in portal/ (aladin-lite, sampjs)"
cd "$portal"
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
