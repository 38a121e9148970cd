#!/bin/sh
# Back up an atlas store: deploy/backup-store.sh STORE_URL FILE
#   postgresql://...  pg_dump of the whole database in the custom format (the atlas, its
#                     TAP_SCHEMA and the UWS jobs, with owners and grants)
#   sqlite:///path    SQLite's online backup of the atlas (a consistent copy while it is
#                     served) to FILE, and of its UWS jobs (path.uws.sqlite) to FILE.uws
# The backup is written beside FILE and renamed onto it once complete, so FILE is never a
# partial backup. Restore with deploy/restore-store.sh.
set -eu
[ $# -eq 2 ] || { echo "usage: $0 STORE_URL FILE" >&2; exit 2; }
url="$1"; file="$2"; part="$file.part"
trap 'rm -f "$part" "$part.uws"' EXIT
case "$url" in
postgresql://*|postgres://*)
    pg_dump --format=custom --file="$part" "$url"
    ;;
sqlite:///*)
    atlas="${url#sqlite:///}"
    [ -f "$atlas" ] || { echo "$0: no atlas at $atlas" >&2; exit 1; }
    python3 - "$atlas" "$part" <<'PY'
import sqlite3, sys
from pathlib import Path
source, target = Path(sys.argv[1]), Path(sys.argv[2])
for src, dst in ((source, target), (Path(f"{source}.uws.sqlite"), Path(f"{target}.uws"))):
    if src.exists():
        with sqlite3.connect(f"file:{src}?mode=ro", uri=True) as a, sqlite3.connect(dst) as b:
            a.backup(b)
PY
    if [ -f "$part.uws" ]; then mv "$part.uws" "$file.uws"; fi
    ;;
*)
    echo "$0: STORE_URL must be postgresql://... or sqlite:///path" >&2; exit 2 ;;
esac
mv "$part" "$file"
echo "backed up to $file"
