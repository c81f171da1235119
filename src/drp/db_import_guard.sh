# Vigie db_import guard (src/drp/db_import_guard.rs): before a `return` import replaces a live
# database, what each side says of time. Run by /bin/sh (dash on Debian, bash on RHEL) as one
# short exec; the console prepends these assignments, every value single-quoted by it and
# checked there (and again below):
#   VG_OP     source: on the host holding the dump; live: on the host restored on
#   VG_PATH   source: the dump's absolute path
#   VG_KIND   live: postgresql | mysql
#   VG_DB     live: the live database's name ([A-Za-z0-9_-])
#   VG_PORT   live: PostgreSQL's port when not the default, or ""
#   VG_SUDO   1: read files (the dump, the server's) through `sudo -n` when not root ([ssh] sudo)
#
# It only reads, but for PostgreSQL's CHECKPOINT (see below). Every line it prints itself
# starts with "VIGIE_GUARD "; it ends with "VIGIE_GUARD end" when its answer is complete.

umask 077
PATH=${PATH:+$PATH:}/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
LC_ALL=C
LANG=C
export PATH LC_ALL LANG
set -f
# psql run as postgres must not start in root's home, which it cannot read.
cd / || exit 1

say() { printf 'VIGIE_GUARD %s\n' "$*"; }
fail() {
    say "error $*"
    say end
    exit 0
}
one() { tr '\n' ' ' | cut -c 1-300; }
# zone: this host's time zone by name (what localtime() uses when TZ is not set), or nothing.
zone() {
    _z=$(readlink /etc/localtime 2>/dev/null)
    case $_z in *zoneinfo/*) _z=${_z#*zoneinfo/} ;; *) _z= ;; esac
    [ -z "$_z" ] && [ -r /etc/timezone ] && read -r _z </etc/timezone
    case $_z in '' | *[!A-Za-z0-9/_+-]*) ;; *) printf '%s\n' "$_z" ;; esac
}
HOST=$(uname -n)
# Files the SSH user may not read (a server's data directory, a dump kept 0600 by its owner).
S=
if [ "$(id -u)" != 0 ] && [ "${VG_SUDO:-0}" = 1 ] && command -v sudo >/dev/null 2>&1; then
    S='sudo -n'
fi

# newest WHAT DIR [find tests]: "newest WHAT EPOCH COUNT DIR" for the newest modification time
# of the files under DIR, or "blind WHY" when they cannot all be read.
newest() {
    _what=$1 _dir=$2
    shift 2
    _out=$($S find "$_dir" -type f "$@" -printf 'm %T@\n' 2>&1 </dev/null)
    _rc=$?
    printf '%s\n' "$_out" | awk -v rc="$_rc" -v what="$_what" -v dir="$_dir" -v by="${S:-as $(id -un)}" '
        $1 == "m" && NF == 2 { n++; if (max == "" || $2 + 0 > max + 0) max = $2; next }
        NF > 0 && err == "" { err = $0 }
        END {
            if (err != "" || rc != 0) {
                if (err == "") err = "find exit " rc
                printf "VIGIE_GUARD blind cannot read the files of %s (%s, %s): %s\n", dir, what, by, substr(err, 1, 300)
            } else if (n == 0) {
                printf "VIGIE_GUARD blind no file under %s (%s)\n", dir, what
            } else {
                printf "VIGIE_GUARD newest %s %s %d %s\n", what, max, n, dir
            }
        }'
}

case ${VG_OP:-} in
source)
    case ${VG_PATH:-} in /*) ;; *) fail "bad dump path" ;; esac
    $S test -f "$VG_PATH" </dev/null || fail "$VG_PATH is not a file on $HOST (or cannot be seen${S:+ through sudo})"
    $S test -r "$VG_PATH" </dev/null || fail "cannot read $VG_PATH on $HOST"
    _h=$($S head -c 128 "$VG_PATH" </dev/null | od -An -v -tx1 | tr -d ' \n')
    say "magic $(printf '%s' "$_h" | cut -c 1-10)"
    _m=$($S find "$VG_PATH" -maxdepth 0 -printf '%T@' 2>/dev/null </dev/null) && say "mtime $_m"
    # A pg_dump archive says when the dump started, as the dumping machine's wall clock without
    # its zone (the same reading as db_import.sh's; db_import_clock.rs decides the zone): its
    # header's first bytes, what pg_restore prints of them under TZ=UTC0, this host's zone.
    case $_h in
    5047444d50*)
        say "header $_h"
        if command -v pg_restore >/dev/null 2>&1; then
            _a=$($S env TZ=UTC0 pg_restore -l "$VG_PATH" 2>/dev/null </dev/null |
                sed -n 's/^; *Archive created at \([0-9-]*\) \([0-9:]*\) UTC$/\1T\2/p' | head -n 1)
            say "clock ${_a:--}"
        fi
        _z=$(zone)
        [ -n "$_z" ] && say "zone $_z"
        ;;
    esac
    say end
    exit 0
    ;;
live) ;;
*) fail "unknown operation" ;;
esac

case ${VG_DB:-} in '' | -* | *[!A-Za-z0-9_-]*) fail "bad database name" ;; esac
case ${VG_PORT:-} in '' | [0-9] | [0-9]*[0-9]) ;; *) fail "bad port" ;; esac

if [ "${VG_KIND:-}" = postgresql ]; then
    command -v psql >/dev/null 2>&1 || fail "psql is not installed on $HOST"
    # As db_import.sh: the postgres user when we are root (peer authentication).
    AS=
    if [ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1 && command -v runuser >/dev/null 2>&1; then
        AS='runuser -u postgres --'
    fi
    [ -n "${VG_PORT:-}" ] && PGPORT=$VG_PORT && export PGPORT
    PGAPPNAME=vigie-guard
    PGCONNECT_TIMEOUT=10
    export PGAPPNAME PGCONNECT_TIMEOUT
    unset PGDATABASE PGOPTIONS
    q() { $AS psql -X -q -A -t -v ON_ERROR_STOP=1 -v db="$VG_DB" -d postgres "$@" 2>&1; }
    _oid=$(q <<'EOF'
select oid from pg_database where datname = :'db';
EOF
    ) || fail "cannot read the databases of PostgreSQL on $HOST: $(printf '%s' "$_oid" | one)"
    case $_oid in
    '') say absent && say end && exit 0 ;;
    *[!0-9]*) fail "unexpected answer from PostgreSQL on $HOST: $(printf '%s' "$_oid" | one)" ;;
    esac
    say "exists $_oid"
    # The time of the newest commit on the whole server, when it keeps them: exact, and never
    # older than the database's own newest change.
    _tc=$(q -c 'show track_commit_timestamp') || _tc=off
    if [ "$_tc" = on ]; then
        _c=$(q -c 'select extract(epoch from (pg_last_committed_xact()).timestamp)') || _c=
        case $_c in
        [0-9]*) say "newest commit $_c" && say end && exit 0 ;;
        esac
    fi
    # Else the files of the database. A commit reaches them only at the next checkpoint (it
    # is in the WAL before): CHECKPOINT first, so that none is missed.
    _e=$(q -c 'CHECKPOINT') || say "blind CHECKPOINT was refused, so the newest commits may not be in the files yet: $(printf '%s' "$_e" | one)"
    _dir=$(q -c 'show data_directory') || fail "cannot read data_directory of PostgreSQL on $HOST: $(printf '%s' "$_dir" | one)"
    case $_dir in /*) ;; *) fail "unexpected data_directory of PostgreSQL on $HOST: $(printf '%s' "$_dir" | one)" ;; esac
    # Not the relation cache (rewritten by any new session) nor temporary tables.
    newest files "$_dir/base/$_oid" ! -name 'pg_internal.init*' ! -name 't[0-9]*_*'
elif [ "${VG_KIND:-}" = mysql ]; then
    MY=$(command -v mysql 2>/dev/null || command -v mariadb 2>/dev/null) ||
        fail "the mysql client is not installed on $HOST"
    my() { "$MY" --batch --skip-column-names "$@" 2>&1 </dev/null; }
    _n=$(my -e "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '$VG_DB'") ||
        fail "cannot read the databases of MySQL on $HOST: $(printf '%s' "$_n" | one)"
    case $_n in
    0) say absent && say end && exit 0 ;;
    1) say exists ;;
    *) fail "unexpected answer from MySQL on $HOST: $(printf '%s' "$_n" | one)" ;;
    esac
    # Kept in memory by InnoDB (lost at a restart): a recent write, even not yet flushed.
    # MySQL 8 caches these statistics for a day unless told not to (MariaDB has no such
    # variable: the plain query then).
    _q="SELECT UNIX_TIMESTAMP(MAX(UPDATE_TIME)) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '$VG_DB'"
    _u=$(my -e "SET SESSION information_schema_stats_expiry = 0; $_q") || _u=$(my -e "$_q")
    case $_u in
    [0-9]*) say "newest updated $_u" ;;
    NULL | '') ;;
    *) say "blind cannot read the tables' UPDATE_TIME: $(printf '%s' "$_u" | one)" ;;
    esac
    _dir=$(my -e 'SELECT @@datadir') || fail "cannot read the datadir of MySQL on $HOST: $(printf '%s' "$_dir" | one)"
    case $_dir in /*) ;; *) fail "unexpected datadir of MySQL on $HOST: $(printf '%s' "$_dir" | one)" ;; esac
    # The schema's directory: its name with `-` written @002d, as the server does.
    newest files "${_dir%/}/$(printf '%s' "$VG_DB" | sed 's/-/@002d/g')"
else
    fail "unknown database kind"
fi
say end
exit 0
