#!/bin/sh
# Installs the Debian packages listed in deploy/system-packages.txt that are missing.
# Part of the README's test command, so a fresh machine needs nothing installed by hand.
set -eu
here="$(dirname "$0")"
missing=""
for pkg in $(grep -v '^[[:space:]]*#' "$here/system-packages.txt"); do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
        || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "install-system-packages: no apt-get; install these by other means:$missing" >&2
        exit 1
    fi
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    echo "install-system-packages: installing$missing"
    # shellcheck disable=SC2086
    $sudo apt-get install -y -q --no-install-recommends $missing >/dev/null \
        || { $sudo apt-get update -q >/dev/null \
             && $sudo apt-get install -y -q --no-install-recommends $missing >/dev/null; }
fi
# GAVO DaCHS, which the tests import resdir/cassisjuice/q.rd into (no-op once installed)
sh "$here/install-dachs.sh"
# the portal's browser libraries (npm), served by us
sh "$here/install-web-assets.sh"
