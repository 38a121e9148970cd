#!/bin/sh
# Installs GAVO DaCHS 2.7 (Debian's gavodachs2-server) so that the tests can import
# resdir/cassisjuice/q.rd into a real DaCHS and query it (tests/dachs/). Called by
# deploy/install-system-packages.sh, i.e. by the README's test command.
#
# A no-op when DaCHS is installed and initialised (dpkg says installed and
# /var/gavo/etc/dsn exists): an existing DaCHS, its /etc/gavo.rc, its database and its
# running server are never touched.
#
# On a fresh Debian 12 machine, in this order:
#   1. PostgreSQL 15 with pgSphere and q3c (DaCHS's spherical types and sky index);
#   2. pgSphere 1.2.0's extension script patched: its block of "backwards-compatible
#      operators for GAVO DaCHS" declares COMMUTATOR/NEGATOR pairs that PostgreSQL 15
#      refuses ("commutator operator @> is already the commutator of operator <@"), and
#      the gavodachs2-server postinst creates the extension, so the patch must come
#      first (the original is kept as .orig);
#   3. the cluster started if it is down: the postinst creates the gavo database and
#      runs "dachs init", which needs a running server (containers forbid service starts
#      through policy-rc.d, so nobody else starts it);
#   4. gavodachs2-server, then the database and "dachs init" done by hand if the
#      postinst could not.
set -eu

installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

if installed gavodachs2-server && [ -f /var/gavo/etc/dsn ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-dachs: no apt-get; install gavodachs2-server by other means" >&2
    exit 1
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
apt="$sudo apt-get -o DPkg::Lock::Timeout=600 -y -q --no-upgrade"
pg=15

echo "install-dachs: installing PostgreSQL $pg, pgSphere, q3c"
$apt install postgresql-$pg postgresql-$pg-pgsphere postgresql-$pg-q3c >/dev/null \
    || { $sudo apt-get update -q >/dev/null \
         && $apt install postgresql-$pg postgresql-$pg-pgsphere postgresql-$pg-q3c >/dev/null; }

sql=/usr/share/postgresql/$pg/extension/pg_sphere--1.2.0.sql
if [ -f "$sql" ] && [ ! -f "$sql.orig" ]; then
    echo "install-dachs: dropping the COMMUTATOR/NEGATOR lines PostgreSQL $pg refuses from $sql"
    $sudo cp "$sql" "$sql.orig"
    # only inside the DaCHS compatibility block, only the @> and !<@ pairs
    awk '/backwards-compatible operators for GAVO DaCHS/ { block = 1 }
         block && /^ *(COMMUTATOR|NEGATOR) *= *.(@>|!<@).,/ { next }
         { print }' "$sql.orig" | $sudo tee "$sql" >/dev/null
fi

if ! pg_lsclusters -h | awk -v v=$pg '$1 == v && $2 == "main"' | grep -q .; then
    $sudo pg_createcluster $pg main >/dev/null
fi
if [ "$(pg_lsclusters -h | awk -v v=$pg '$1 == v && $2 == "main" { print $4 }')" != online ]; then
    $sudo pg_ctlcluster --skip-systemctl-redirect $pg main start
fi

echo "install-dachs: installing gavodachs2-server"
$apt install gavodachs2-server >/dev/null

as_postgres() { $sudo runuser -u postgres -- "$@"; }
if ! as_postgres psql -Atc "SELECT 1 FROM pg_roles WHERE rolname = 'dachsroot'" | grep -q 1; then
    as_postgres createuser -s dachsroot
fi
if ! as_postgres psql -Atc "SELECT 1 FROM pg_database WHERE datname = 'gavo'" | grep -q 1; then
    as_postgres createdb --encoding=UTF-8 --template template0 gavo
fi
if [ ! -f /var/gavo/etc/dsn ]; then
    $sudo mkdir -p /var/gavo
    $sudo chown dachsroot /var/gavo
    $sudo runuser -u dachsroot -- dachs init
fi
echo "install-dachs: DaCHS $(dachs --version 2>/dev/null | head -1) ready"
