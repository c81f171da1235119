# Vigie database import (src/drp/db_import.rs): one DRP `db_import` step, run on its target
# host by /bin/sh (dash on Debian, bash on RHEL), as a detached job (VI_OP=import) or as a
# short check of what is done (VI_OP=check, the step's postcondition). The console prepends
# these assignments, every value single-quoted by it and checked there (and again below):
#   VI_OP       import | check
#   VI_KIND     postgresql | mysql
#   VI_RUN      the run id ([A-Za-z0-9._-])
#   VI_DB       the live database name ([A-Za-z0-9_-]); in a drill, the drill database (*_drill)
#   VI_NEW      the database this run restores into before the switch ("" in a drill)
#   VI_BEFORE   the name the previous live database is kept under ("" in a drill)
#   VI_DRILL    1: restore into VI_DB itself (dropping a previous drill's), verify, no switch
#   VI_SRC_HOST the backup server holding the dump ("" when it is on this host)
#   VI_SRC_PATH the dump's absolute path there
#   VI_SRC_Q    the same path quoted for the backup server's shell (sha256sum, wc, cat)
#   VI_SSH      [drp] transfer_ssh, split into words as rsync -e does
#   VI_WORK     where the dump is fetched to, one directory per run and database
#   VI_VERIFY   the SQL whose answer is journaled, run read-only on the restored database
#   VI_HINT     the capture time the plan read for the backup (ISO, UTC), or ""
#   VI_PORT     PostgreSQL's port when not the default, or ""
#
# Every line this script prints itself starts with "VIGIE_IMPORT "; what the tools print is
# indented, so that nothing from a dump, a database or a server can pass for one of them.
#
# Safety, whatever point a previous attempt died at:
# - the live database is never dropped; the previous one is renamed VI_BEFORE and kept;
# - the restore goes into VI_NEW, a name only this run makes; it is marked (PostgreSQL: the
#   database's comment; MySQL: a table vigie_import in it) once complete, so that a retry goes
#   on from there, and a database by that name without the mark is a half restore of this run,
#   dropped and redone;
# - the switch happens once: a live database marked with this run id means it is done.

umask 077
PATH=${PATH:+$PATH:}/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
LC_ALL=C
LANG=C
export PATH LC_ALL LANG
set -f
# psql run as postgres must not start in root's home, which it cannot read.
cd / || exit 1

say() { printf 'VIGIE_IMPORT %s\n' "$*"; }
fail() {
    say "error $*"
    exit 1
}
# The tail of a tool's output, indented.
show() {
    [ -s "$1" ] && tail -n 30 "$1" | sed -e 's/^/  /'
    return 0
}
hex() { od -An -v -tx1 | tr -d ' \n'; }
# zone: this host's time zone by name (what localtime() uses when TZ is not set), or nothing.
zone() {
    _z=$(readlink /etc/localtime 2>/dev/null)
    case $_z in *zoneinfo/*) _z=${_z#*zoneinfo/} ;; *) _z= ;; esac
    [ -z "$_z" ] && [ -r /etc/timezone ] && read -r _z </etc/timezone
    case $_z in '' | *[!A-Za-z0-9/_+-]*) ;; *) printf '%s\n' "$_z" ;; esac
}
pause() { sleep 0.2 2>/dev/null || sleep 1; }

ident() {
    case $1 in '' | -* | *[!A-Za-z0-9_-]*) return 1 ;; esac
    return 0
}
case ${VI_RUN:-} in '' | *[!A-Za-z0-9._-]*) fail "bad run id" ;; esac
ident "${VI_DB:-}" || fail "bad database name"
case ${VI_OP:-} in import | check) ;; *) fail "unknown operation" ;; esac
case ${VI_KIND:-} in postgresql | mysql) ;; *) fail "unknown database kind" ;; esac
if [ "${VI_DRILL:-0}" = 1 ]; then
    case $VI_DB in *_drill) ;; *) fail "a drill restores only into a database named *_drill" ;; esac
    VI_NEW='' VI_BEFORE=''
    TARGET=$VI_DB
else
    if ! ident "${VI_NEW:-}" || ! ident "${VI_BEFORE:-}"; then fail "bad database names"; fi
    TARGET=$VI_NEW
fi
case ${VI_WORK:-} in /*/*/*) ;; *) fail "bad work directory" ;; esac
case ${VI_PORT:-} in '' | [0-9] | [0-9]*[0-9]) ;; *) fail "bad port" ;; esac
case ${VI_HINT:-} in
'' | [0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z) ;;
*) VI_HINT= ;;
esac
HOST=$(uname -n)

# ------------------------------------------------------------------ PostgreSQL primitives
# Clients run as the postgres user when we are root (peer authentication, the default on
# Debian and RHEL); files are always opened by this shell, so they need not be readable by it.

pg_setup() {
    command -v psql >/dev/null 2>&1 || fail "psql is not installed on $HOST"
    AS=
    if [ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1 && command -v runuser >/dev/null 2>&1; then
        AS='runuser -u postgres --'
    fi
    [ -n "${VI_PORT:-}" ] && PGPORT=$VI_PORT && export PGPORT
    PGAPPNAME=vigie-import
    PGCONNECT_TIMEOUT=10
    export PGAPPNAME PGCONNECT_TIMEOUT
    unset PGDATABASE PGOPTIONS
}

# sql DB [psql options]: SQL on stdin, with the names as psql variables (:"db", :'run'), never
# pasted into the SQL text.
sql() {
    _on=$1
    shift
    $AS psql -X -q -A -t -v ON_ERROR_STOP=1 -v db="$VI_DB" -v new="$VI_NEW" \
        -v before="$VI_BEFORE" -v run="$VI_RUN" "$@" -d "$_on"
}

# pg_state: ST holds "NAME absent|other|ours-STATE" for the three names.
pg_state() {
    ST=$(sql postgres 2>&1 <<'EOF'
select datname || ' ' || case
    when position(('vigie-import run=' || :'run' || ' ') in coalesce(shobj_description(oid, 'pg_database'), '')) = 1
    then 'ours-' || coalesce(substring(shobj_description(oid, 'pg_database') from ' state=([a-z]+) '), 'unknown')
    else 'other' end
from pg_database where datname in (:'db', :'new', :'before');
EOF
    ) || fail "cannot read the databases of PostgreSQL on $HOST: $(printf '%s' "$ST" | tail -n 3 | tr '\n' ' ')"
}

# pg_mark_hex DB: the mark of DB, hex, or "-".
pg_mark_hex() {
    _m=$(sql postgres -v x="$1" <<'EOF'
select encode(convert_to(shobj_description(oid, 'pg_database'), 'UTF8'), 'hex') from pg_database where datname = :'x';
EOF
    ) || _m=
    printf '%s\n' "${_m:--}"
}

# pg_quiet A [B]: end every other session on databases A and B; fails after ~10 s.
pg_quiet() {
    _i=0
    while :; do
        _n=$(sql postgres -v a="$1" -v b="${2:-}" <<'EOF'
select count(pg_terminate_backend(pid)) from pg_stat_activity where datname in (:'a', :'b') and pid <> pg_backend_pid();
EOF
        ) || return 1
        [ "$_n" = 0 ] && return 0
        _i=$((_i + 1))
        [ "$_i" -ge 50 ] && return 1
        pause
    done
}

# pg_drop DB: only this run's half restore or a previous drill's database ever comes here.
pg_drop() {
    case $1 in "$VI_NEW" | *_drill) ;; *) fail "refusing to drop $1" ;; esac
    _i=0
    while :; do
        pg_quiet "$1" || fail "sessions on $1 do not end"
        sql postgres -v x="$1" >"$VI_WORK/drop.log" 2>&1 <<'EOF' && return 0
DROP DATABASE IF EXISTS :"x";
EOF
        _i=$((_i + 1))
        [ "$_i" -ge 3 ] && { show "$VI_WORK/drop.log"; fail "cannot drop $1 on $HOST"; }
        pause
    done
}

# pg_create DB: a new database like the live one (owner, encoding, locale) when it exists.
pg_create() {
    sql postgres -v x="$1" >"$VI_WORK/create.log" 2>&1 <<'EOF' || { show "$VI_WORK/create.log"; fail "cannot create the database $1 on $HOST"; }
select format('CREATE DATABASE %I TEMPLATE template0 OWNER %I ENCODING %L LC_COLLATE %L LC_CTYPE %L',
        :'x', pg_get_userbyid(datdba), pg_encoding_to_char(encoding), datcollate, datctype)
    from pg_database where datname = :'db'
union all
select format('CREATE DATABASE %I TEMPLATE template0', :'x')
    where not exists (select from pg_database where datname = :'db')
\gexec
EOF
}

# pg_restore_into DB FILE FORMAT: in one transaction; the restore's own SQL gets no variable.
pg_restore_into() {
    _log=$VI_WORK/restore.log
    case $3 in
    custom)
        command -v pg_restore >/dev/null 2>&1 || fail "pg_restore is not installed on $HOST"
        { pg_restore -f - "$2" 2>"$VI_WORK/reader.log"; echo $? >"$VI_WORK/reader.rc"; } |
            $AS psql -X -q -o /dev/null -v ON_ERROR_STOP=1 --single-transaction -d "$1" >"$_log" 2>&1
        ;;
    gzip)
        { gzip -dc "$2" 2>"$VI_WORK/reader.log"; echo $? >"$VI_WORK/reader.rc"; } |
            $AS psql -X -q -o /dev/null -v ON_ERROR_STOP=1 --single-transaction -d "$1" >"$_log" 2>&1
        ;;
    *)
        : >"$VI_WORK/reader.log"
        echo 0 >"$VI_WORK/reader.rc"
        $AS psql -X -q -o /dev/null -v ON_ERROR_STOP=1 --single-transaction -d "$1" <"$2" >"$_log" 2>&1
        ;;
    esac
    _rc=$?
    read -r _rrc <"$VI_WORK/reader.rc" 2>/dev/null || _rrc=1
    if [ "$_rc" != 0 ] || [ "$_rrc" != 0 ]; then
        show "$VI_WORK/reader.log"
        show "$_log"
        fail "the restore into $1 on $HOST failed (reader exit $_rrc, psql exit $_rc)"
    fi
    show "$_log"
}

pg_mark() { # DB: marks a complete restore (state restored), with what the archive said
    _c="vigie-import run=$VI_RUN state=restored captured_at=$CAP captured_by=$CAPBY sha256=$SUM \
clock=${CLOCK:--} header=${HDR:--} mtime=${MTIME:--} zones=${ZONES:--} "
    sql postgres -v x="$1" -v c="$_c" >"$VI_WORK/mark.log" 2>&1 <<'EOF' || { show "$VI_WORK/mark.log"; fail "cannot mark $1"; }
COMMENT ON DATABASE :"x" IS :'c';
EOF
}

pg_verify() { # DB: the verify query, read-only, its answer kept in the mark (state verified)
    PGOPTIONS='-c default_transaction_read_only=on'
    export PGOPTIONS
    $AS psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$1" -c "$VI_VERIFY" >"$VI_WORK/verify.out" 2>&1
    _rc=$?
    unset PGOPTIONS
    head -n 20 "$VI_WORK/verify.out" | sed -e 's/^/VIGIE_IMPORT verify /'
    [ "$_rc" = 0 ] || fail "the verify query failed on $1 (psql exit $_rc)"
    _v=$(head -c 2000 "$VI_WORK/verify.out")
    sql postgres -v x="$1" -v v="$_v" >"$VI_WORK/mark.log" 2>&1 <<'EOF' || { show "$VI_WORK/mark.log"; fail "cannot mark $1 verified"; }
select format('COMMENT ON DATABASE %I IS %L', :'x',
        regexp_replace(split_part(shobj_description(oid, 'pg_database'), E'\n', 1), ' state=[a-z]+ ', ' state=verified ')
        || E'\nverify: ' || :'v')
    from pg_database where datname = :'x'
\gexec
EOF
}

# pg_switch: the live name moves to the restored database, in one transaction, after new
# sessions on the live one are refused and the open ones ended; the previous one keeps its
# data under VI_BEFORE and accepts connections again.
pg_switch() {
    _live=$1
    if [ "$_live" = other ]; then
        sql postgres >"$VI_WORK/switch.log" 2>&1 <<'EOF' || { show "$VI_WORK/switch.log"; fail "cannot refuse new sessions on $VI_DB"; }
ALTER DATABASE :"db" WITH ALLOW_CONNECTIONS false;
EOF
        if ! pg_quiet "$VI_DB" "$VI_NEW" || ! sql postgres >"$VI_WORK/switch.log" 2>&1 <<'EOF'; then
BEGIN;
ALTER DATABASE :"db" RENAME TO :"before";
ALTER DATABASE :"new" RENAME TO :"db";
COMMIT;
EOF
            show "$VI_WORK/switch.log"
            sql postgres >/dev/null 2>&1 <<'EOF'
ALTER DATABASE :"db" WITH ALLOW_CONNECTIONS true;
EOF
            fail "the switch failed: $VI_DB on $HOST is unchanged and accepts sessions again"
        fi
        sql postgres >"$VI_WORK/switch.log" 2>&1 <<'EOF' || say "note $VI_BEFORE still refuses sessions: ALTER DATABASE \"$VI_BEFORE\" WITH ALLOW_CONNECTIONS true"
ALTER DATABASE :"before" WITH ALLOW_CONNECTIONS true;
EOF
    else
        # No live database (a first import, or the previous one already kept aside).
        pg_quiet "$VI_NEW" || fail "sessions on $VI_NEW do not end"
        sql postgres >"$VI_WORK/switch.log" 2>&1 <<'EOF' || { show "$VI_WORK/switch.log"; fail "cannot rename $VI_NEW to $VI_DB on $HOST"; }
ALTER DATABASE :"new" RENAME TO :"db";
EOF
    fi
}

# ------------------------------------------------------------------ MySQL / MariaDB primitives
# The client runs as this user (root: unix_socket authentication or ~/.my.cnf). Names are
# checked words, written between backquotes; table names never go through this shell: the
# statements that move tables are built inside the server.

my_setup() {
    MY=$(command -v mysql 2>/dev/null || command -v mariadb 2>/dev/null) ||
        fail "the mysql client is not installed on $HOST"
}
my() { "$MY" --batch --skip-column-names "$@"; }

# my_state: like pg_state, and "empty" for a schema without any table (VI_BEFORE made just
# before a switch that did not happen).
my_state() {
    ST=$(my -e "SELECT s.SCHEMA_NAME,
            (SELECT COUNT(*) FROM information_schema.TABLES t WHERE t.TABLE_SCHEMA = s.SCHEMA_NAME),
            (SELECT COUNT(*) FROM information_schema.TABLES t WHERE t.TABLE_SCHEMA = s.SCHEMA_NAME
                AND t.TABLE_NAME = 'vigie_import')
        FROM information_schema.SCHEMATA s WHERE s.SCHEMA_NAME IN ('$VI_DB', '$VI_NEW', '$VI_BEFORE')" 2>&1) ||
        fail "cannot read the databases of MySQL on $HOST: $(printf '%s' "$ST" | tail -n 3 | tr '\n' ' ')"
    _all=$ST
    ST=
    for _n in "$VI_DB" "$VI_NEW" "$VI_BEFORE"; do
        [ -n "$_n" ] || continue
        # shellcheck disable=SC2046 # two numbers, split on purpose
        set -- $(printf '%s\n' "$_all" | awk -v n="$_n" '$1 == n { print $2, $3; exit }')
        [ $# = 2 ] || continue
        _s=other
        if [ "$2" != 0 ]; then
            _s=$(my -e "SELECT state FROM \`$_n\`.vigie_import WHERE run_id = '$VI_RUN'" 2>/dev/null)
            _s=${_s:+ours-$_s}
            _s=${_s:-other}
        elif [ "$1" = 0 ]; then
            _s=empty
        fi
        ST="$ST$_n $_s
"
    done
}

my_mark_hex() {
    _m=$(my -e "SELECT HEX(CONCAT('vigie-import run=', run_id, ' state=', state, ' captured_at=',
        captured_at, ' captured_by=', captured_by, ' sha256=', sha256, ' ',
        IF(verify IS NULL, '', CONCAT('\nverify: ', verify))))
        FROM \`$1\`.vigie_import WHERE run_id = '$VI_RUN'" 2>/dev/null) || _m=
    printf '%s\n' "${_m:--}"
}

my_drop() {
    case $1 in "$VI_NEW" | *_drill) ;; *) fail "refusing to drop $1" ;; esac
    my -e "DROP DATABASE IF EXISTS \`$1\`" >"$VI_WORK/drop.log" 2>&1 ||
        { show "$VI_WORK/drop.log"; fail "cannot drop $1 on $HOST"; }
}

my_create() {
    my -e "SET @cs = (SELECT DEFAULT_CHARACTER_SET_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '$VI_DB');
        SET @co = (SELECT DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '$VI_DB');
        SET @s = CONCAT('CREATE DATABASE \`$1\`', IF(@cs IS NULL, '', CONCAT(' CHARACTER SET ', @cs, ' COLLATE ', @co)));
        PREPARE s FROM @s; EXECUTE s; DEALLOCATE PREPARE s" >"$VI_WORK/create.log" 2>&1 ||
        { show "$VI_WORK/create.log"; fail "cannot create the database $1 on $HOST"; }
}

my_restore_into() { # DB FILE FORMAT
    _log=$VI_WORK/restore.log
    if [ "$3" = gzip ]; then
        { gzip -dc "$2" 2>"$VI_WORK/reader.log"; echo $? >"$VI_WORK/reader.rc"; } |
            my "$1" >"$_log" 2>&1
    else
        : >"$VI_WORK/reader.log"
        echo 0 >"$VI_WORK/reader.rc"
        my "$1" <"$2" >"$_log" 2>&1
    fi
    _rc=$?
    read -r _rrc <"$VI_WORK/reader.rc" 2>/dev/null || _rrc=1
    if [ "$_rc" != 0 ] || [ "$_rrc" != 0 ]; then
        show "$VI_WORK/reader.log"
        show "$_log"
        fail "the restore into $1 on $HOST failed (reader exit $_rrc, mysql exit $_rc)"
    fi
    show "$_log"
}

my_mark() {
    # A vigie_import table that came with the dump (an earlier import, backed up) is replaced.
    my -e "DROP TABLE IF EXISTS \`$1\`.vigie_import;
        CREATE TABLE \`$1\`.vigie_import (run_id varchar(100) NOT NULL PRIMARY KEY,
            state varchar(20) NOT NULL, captured_at varchar(40) NOT NULL, captured_by varchar(20) NOT NULL,
            sha256 varchar(64) NOT NULL, verify text, marked_at timestamp DEFAULT CURRENT_TIMESTAMP);
        INSERT INTO \`$1\`.vigie_import (run_id, state, captured_at, captured_by, sha256)
            VALUES ('$VI_RUN', 'restored', '$CAP', '$CAPBY', '$SUM')" >"$VI_WORK/mark.log" 2>&1 ||
        { show "$VI_WORK/mark.log"; fail "cannot mark $1"; }
}

my_verify() {
    my -D "$1" -e "SET SESSION TRANSACTION READ ONLY; $VI_VERIFY" >"$VI_WORK/verify.out" 2>&1
    _rc=$?
    head -n 20 "$VI_WORK/verify.out" | sed -e 's/^/VIGIE_IMPORT verify /'
    [ "$_rc" = 0 ] || fail "the verify query failed on $1 (mysql exit $_rc)"
    _v=$(head -c 2000 "$VI_WORK/verify.out" | hex)
    my -e "UPDATE \`$1\`.vigie_import SET state = 'verified', verify = UNHEX('$_v') WHERE run_id = '$VI_RUN'" \
        >"$VI_WORK/mark.log" 2>&1 || { show "$VI_WORK/mark.log"; fail "cannot mark $1 verified"; }
}

# my_switch: MySQL has no RENAME DATABASE. Every table of the live schema moves to VI_BEFORE
# and every table of VI_NEW to the live schema in ONE RENAME TABLE statement (atomic: all or
# none). Views, triggers, routines and events cannot move that way: they are refused before
# anything moves.
my_switch() {
    _in="'$VI_DB', '$VI_NEW'"
    _o=$(my -e "SELECT CONCAT(
        (SELECT COUNT(*) FROM information_schema.VIEWS WHERE TABLE_SCHEMA IN ($_in)), ' views, ',
        (SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA IN ($_in)), ' triggers, ',
        (SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA IN ($_in)), ' routines, ',
        (SELECT COUNT(*) FROM information_schema.EVENTS WHERE EVENT_SCHEMA IN ($_in)), ' events')" 2>&1) ||
        fail "cannot list the objects of $VI_DB and $VI_NEW: $_o"
    [ "$_o" = "0 views, 0 triggers, 0 routines, 0 events" ] ||
        fail "$VI_DB and $VI_NEW hold $_o, which RENAME TABLE cannot move: $VI_DB is unchanged; switch by hand (rename $VI_NEW's tables into $VI_DB)"
    if [ "$1" = absent ]; then
        _pre="CREATE DATABASE IF NOT EXISTS \`$VI_DB\`;"
    else
        _pre="SET @cs = (SELECT DEFAULT_CHARACTER_SET_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '$VI_DB');
            SET @co = (SELECT DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '$VI_DB');
            SET @s = CONCAT('CREATE DATABASE IF NOT EXISTS \`$VI_BEFORE\` CHARACTER SET ', @cs, ' COLLATE ', @co);
            PREPARE s FROM @s; EXECUTE s; DEALLOCATE PREPARE s;"
    fi
    my -e "$_pre
        SET SESSION lock_wait_timeout = 60;
        SET SESSION group_concat_max_len = 16777216;
        SET @r = (SELECT GROUP_CONCAT(CONCAT('\`', REPLACE(TABLE_SCHEMA, '\`', '\`\`'), '\`.\`',
                REPLACE(TABLE_NAME, '\`', '\`\`'), '\` TO \`', IF(TABLE_SCHEMA = '$VI_DB', '$VI_BEFORE', '$VI_DB'),
                '\`.\`', REPLACE(TABLE_NAME, '\`', '\`\`'), '\`')
            ORDER BY TABLE_SCHEMA = '$VI_NEW', TABLE_NAME SEPARATOR ', ')
            FROM information_schema.TABLES WHERE TABLE_SCHEMA IN ($_in) AND TABLE_TYPE <> 'VIEW');
        SET @r = CONCAT('RENAME TABLE ', @r);
        PREPARE s FROM @r; EXECUTE s; DEALLOCATE PREPARE s" >"$VI_WORK/switch.log" 2>&1 ||
        { show "$VI_WORK/switch.log"; fail "the switch failed: no table moved ($VI_DB on $HOST is unchanged)"; }
    # VI_NEW is empty now: it goes, as it is this run's own.
    _n=$(my -e "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '$VI_NEW'" 2>/dev/null)
    [ "$_n" = 0 ] && my -e "DROP DATABASE \`$VI_NEW\`" >/dev/null 2>&1
    return 0
}

# ------------------------------------------------------------------ common

if [ "$VI_KIND" = postgresql ]; then
    pg_setup
    state() { pg_state; }
    mark_hex() { pg_mark_hex "$1"; }
else
    my_setup
    state() { my_state; }
    mark_hex() { my_mark_hex "$1"; }
fi

# state_of NAME: absent, other, ours-restored, ours-verified.
state_of() {
    _s=$(printf '%s\n' "$ST" | sed -n "s/^$1 //p" | head -n 1)
    printf '%s\n' "${_s:-absent}"
}

finish() { # FINAL: what the step did, for the console
    say "database $1"
    if [ -n "$VI_BEFORE" ] && [ "$(state_of "$VI_BEFORE")" != absent ]; then
        say "previous $VI_BEFORE"
    else
        say "previous -"
    fi
    say "mark $(mark_hex "$1")"
}

if [ "$VI_OP" = check ]; then
    state
    _t=$(state_of "$VI_DB")
    say "live $_t"
    [ -n "$VI_NEW" ] && say "new $(state_of "$VI_NEW")"
    finish "$VI_DB"
    exit 0
fi

# ------------------------------------------------------------------ the import job

mkdir -p "$VI_WORK" || fail "cannot create $VI_WORK on $HOST"
if command -v flock >/dev/null 2>&1; then
    # Held by every process of this attempt (psql, pg_restore inherit it): a retry never
    # runs beside an attempt whose processes outlived their job's wrapper.
    exec 9>"$VI_WORK/lock"
    flock -n 9 || fail "another attempt of this import is still running on $HOST ($VI_WORK/lock is held)"
fi

state
LIVE=$(state_of "$VI_DB")
if [ "$VI_DRILL" != 1 ]; then
    case $LIVE in
    ours-*)
        say "note $VI_DB is already the database this run imported: nothing left to do"
        say "phase done"
        finish "$VI_DB"
        exit 0
        ;;
    esac
    case $LIVE/$(state_of "$VI_BEFORE") in
    absent/* | */absent | */empty) ;;
    *)
        fail "both $VI_DB and $VI_BEFORE exist and $VI_DB is not this run's import: someone made $VI_DB meanwhile; refusing to go on"
        ;;
    esac
fi
TSTATE=$(state_of "$TARGET")
if [ "$VI_DRILL" = 1 ] && [ "$TSTATE" = ours-verified ]; then
    say "note the drill database $TARGET already holds this run's verified import"
    say "phase done"
    finish "$TARGET"
    exit 0
fi

case $TSTATE in
ours-*)
    say "note $TARGET already holds this run's complete restore: not fetched nor restored again"
    ;;
*)
    # ---- fetching
    say "phase fetching"
    F=$VI_WORK/${VI_SRC_PATH##*/}
    if [ -z "$VI_SRC_HOST" ]; then
        F=$VI_SRC_PATH
        [ -f "$F" ] || fail "$F is not a file on $HOST"
        SUM=$(sha256sum <"$F") || fail "cannot read $F"
        SUM=${SUM%% *}
    else
        _sz=$($VI_SSH "$VI_SRC_HOST" "wc -c < $VI_SRC_Q" </dev/null 2>"$VI_WORK/ssh.log") ||
            { show "$VI_WORK/ssh.log"; fail "cannot reach $VI_SRC_PATH on $VI_SRC_HOST from $HOST"; }
        _sz=$(printf '%s' "$_sz" | tr -d ' \n')
        case $_sz in '' | *[!0-9]*) fail "cannot read the size of $VI_SRC_PATH on $VI_SRC_HOST" ;; esac
        _free=$(df -Pk "$VI_WORK" 2>/dev/null | awk 'NR == 2 { print $4 }')
        _have=0
        [ -f "$F" ] && _have=$(wc -c <"$F")
        case $_free in
        '' | *[!0-9]*) ;;
        *)
            [ $(((_sz - _have) / 1024)) -lt "$_free" ] ||
                fail "$VI_WORK on $HOST has $_free KiB free, the dump is $_sz bytes"
            ;;
        esac
        SUM=$($VI_SSH "$VI_SRC_HOST" "sha256sum -- $VI_SRC_Q" </dev/null 2>"$VI_WORK/ssh.log") ||
            { show "$VI_WORK/ssh.log"; fail "cannot checksum $VI_SRC_PATH on $VI_SRC_HOST"; }
        SUM=${SUM%% *}
        _got=
        [ -f "$F" ] && _got=$(sha256sum <"$F") && _got=${_got%% *}
        if [ "$_got" = "$SUM" ]; then
            say "note $F was already fetched (same checksum)"
        else
            say "fetch $VI_SRC_HOST:$VI_SRC_PATH $_sz"
            if command -v rsync >/dev/null 2>&1; then
                rsync -s --partial-dir=.vigie-partial --timeout=300 -e "$VI_SSH" \
                    -- "$VI_SRC_HOST:$VI_SRC_PATH" "$F" </dev/null >"$VI_WORK/fetch.log" 2>&1
            else
                $VI_SSH "$VI_SRC_HOST" "cat -- $VI_SRC_Q" </dev/null >"$F.part" 2>"$VI_WORK/fetch.log" &&
                    mv -f "$F.part" "$F"
            fi || { show "$VI_WORK/fetch.log"; fail "the fetch of $VI_SRC_PATH from $VI_SRC_HOST failed"; }
            _got=$(sha256sum <"$F") && _got=${_got%% *}
            if [ "$_got" != "$SUM" ]; then
                rm -f "$F"
                fail "the fetched copy of $VI_SRC_PATH differs from the original (sha256 $_got, not $SUM)"
            fi
        fi
    fi
    case $SUM in *[!0-9a-f]* | '') fail "no checksum of $F" ;; esac
    say "fetched $SUM $(wc -c <"$F" | tr -d ' ')"

    # What the dump is, by its content: a pg_dump custom archive starts with PGDMP, gzip with
    # 1f 8b; anything else is read as plain SQL.
    case $(head -c 5 "$F" | hex) in
    5047444d50) FMT=custom ;;
    1f8b*) FMT=gzip ;;
    *) FMT=plain ;;
    esac
    [ "$FMT" = custom ] && [ "$VI_KIND" != postgresql ] && fail "$F is a pg_dump archive, not a MySQL dump"
    say "format $FMT"
    # A dump that names its database would restore into the live one whatever we say.
    if [ "$FMT" != custom ]; then
        if [ "$FMT" = gzip ]; then _rd='gzip -dc'; else _rd='cat'; fi
        # They come first (mysqldump --databases, pg_dump --create, pg_dumpall): the first
        # 16 MiB are read, not a whole dump of many gigabytes.
        if $_rd "$F" 2>/dev/null | head -c 16777216 | grep -m 1 -E '^(USE |CREATE DATABASE |\\connect |\\c )' >"$VI_WORK/names.txt"; then
            show "$VI_WORK/names.txt"
            fail "the dump names its database (made with --databases, --all-databases or --create): restoring it would write into that database, not $TARGET"
        fi
    fi

    # The capture time. A pg_dump archive's header holds when the dump started as the dumping
    # machine's wall clock, without its zone (db_import_clock.rs decides it): what is said here
    # is its first bytes, what pg_restore prints of them under TZ=UTC0, the dump file's date
    # on its own host (the dump started before the file was last written; a fetched copy is
    # dated by the fetch) and the zones of that host and this one. The plan's capture time is
    # the fallback, and the only one for any other dump.
    CAP='' CAPBY='' CLOCK='' HDR='' MTIME='' ZONES=''
    if [ "$FMT" = custom ]; then
        _l=$(TZ=UTC0 pg_restore -l "$F" 2>"$VI_WORK/list.log") ||
            { show "$VI_WORK/list.log"; fail "$F is not a readable pg_dump archive"; }
        _a=$(printf '%s\n' "$_l" | sed -n 's/^; *Archive created at \([0-9-]*\) \([0-9:]*\) UTC$/\1T\2/p' | head -n 1)
        case $_a in
        [0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]) CLOCK=$_a ;;
        esac
        HDR=$(head -c 128 "$F" | hex)
        case $HDR in *[!0-9a-f]*) HDR= ;; esac
        printf '%s\n' "$_l" | sed -n -e 's/^; *\(dbname: .*\)$/VIGIE_IMPORT archive \1/p' \
            -e 's/^; *\(Dumped .*\)$/VIGIE_IMPORT archive \1/p'
        if [ -z "$VI_SRC_HOST" ]; then
            _o=$(find "$F" -maxdepth 0 -printf 'mtime %T@\n' 2>/dev/null </dev/null)
        else
            _o=$($VI_SSH "$VI_SRC_HOST" "find $VI_SRC_Q -maxdepth 0 -printf 'mtime %T@\n'; echo zone \$(readlink /etc/localtime)" </dev/null 2>/dev/null)
        fi
        MTIME=$(printf '%s\n' "$_o" | sed -n 's/^mtime \([0-9][0-9]*\)\(\.[0-9]*\)\{0,1\}$/\1/p' | head -n 1)
        for _z in "$(printf '%s\n' "$_o" | sed -n 's/^zone .*zoneinfo\///p' | head -n 1)" "$(zone)"; do
            case $_z in '' | *[!A-Za-z0-9/_+-]*) continue ;; esac
            case ",$ZONES," in *",$_z,"*) ;; *) ZONES=${ZONES:+$ZONES,}$_z ;; esac
        done
        say "capture clock=${CLOCK:--} header=${HDR:--} mtime=${MTIME:--} zones=${ZONES:--}"
    fi
    [ -n "$VI_HINT" ] && CAP=$VI_HINT CAPBY=backup
    [ -z "$CAP" ] && CAP=- CAPBY=unknown
    [ "$FMT" = custom ] || say "captured_at $CAP $CAPBY"

    # ---- restoring
    say "phase restoring"
    if [ "$TSTATE" != absent ]; then
        say "note dropping $TARGET: $([ "$VI_DRILL" = 1 ] && echo "a previous drill's database" || echo "a restore of this run that did not complete")"
        if [ "$VI_KIND" = postgresql ]; then pg_drop "$TARGET"; else my_drop "$TARGET"; fi
    fi
    if [ "$VI_KIND" = postgresql ]; then
        pg_create "$TARGET"
        pg_restore_into "$TARGET" "$F" "$FMT"
        pg_mark "$TARGET"
    else
        my_create "$TARGET"
        my_restore_into "$TARGET" "$F" "$FMT"
        my_mark "$TARGET"
    fi
    say "restored $TARGET"
    ;;
esac

# ---- verifying (again on a retry: cheap, and the answer is the journal's)
say "phase verifying"
if [ "$VI_KIND" = postgresql ]; then pg_verify "$TARGET"; else my_verify "$TARGET"; fi

if [ "$VI_DRILL" = 1 ]; then
    say "note drill: $TARGET is left as restored, the live database is not switched"
    FINAL=$TARGET
else
    # ---- switching
    say "phase switching"
    state
    LIVE=$(state_of "$VI_DB")
    case $LIVE in
    ours-*) ;;
    *)
        if [ "$VI_KIND" = postgresql ]; then pg_switch "$LIVE"; else my_switch "$LIVE"; fi
        ;;
    esac
    state
    case $(state_of "$VI_DB") in
    ours-verified) ;;
    *) fail "after the switch, $VI_DB on $HOST is not this run's import" ;;
    esac
    FINAL=$VI_DB
fi
# The fetched dump and the tools' logs are no longer needed (the backup server keeps the
# original; the job's output keeps what the operator saw). After a failure they stay, for the
# retry and for whoever looks into it.
rm -rf "$VI_WORK"
rmdir "${VI_WORK%/*}" 2>/dev/null
say "phase done"
finish "$FINAL"
exit 0
