#!/bin/sh
# Restore a backup of deploy/backup-store.sh: deploy/restore-store.sh FILE STORE_URL
#   postgresql://...  pg_restore into the (existing) database in one transaction, the
#                     objects of the backup replaced: readers see the old atlas or the
#                     restored one, never a mixture. Run it as the owner or a superuser.
#   sqlite:///path    the copy is placed beside the atlas and renamed onto it (atomic);
#                     servers notice the new file at their next request
set -eu
[ $# -eq 2 ] || { echo "usage: $0 FILE STORE_URL" >&2; exit 2; }
file="$1"; url="$2"
[ -f "$file" ] || { echo "$0: no backup at $file" >&2; exit 1; }
case "$url" in
postgresql://*|postgres://*)
    pg_restore --clean --if-exists --single-transaction --exit-on-error --dbname="$url" "$file"
    ;;
sqlite:///*)
    atlas="${url#sqlite:///}"
    mkdir -p "$(dirname "$atlas")"
    cp "$file" "$atlas.restoring"
    if [ -f "$file.uws" ]; then
        cp "$file.uws" "$atlas.uws.sqlite.restoring"
        mv "$atlas.uws.sqlite.restoring" "$atlas.uws.sqlite"
    fi
    mv "$atlas.restoring" "$atlas"
    ;;
*)
    echo "$0: STORE_URL must be postgresql://... or sqlite:///path" >&2; exit 2 ;;
esac
echo "restored $file into $url"
