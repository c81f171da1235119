#!/usr/bin/env bash
# Captures real outputs of the lab's servers into tests/fixtures/real/<tool>/<state>.txt,
# healthy and broken, and writes tests/fixtures/real/INDEX.md (file, host, command, exit status).
# Run as root with the lab up (tests/lab/lab.sh up); it breaks things with lab.sh's fault
# commands and heals them (lab.sh reset) at the end. Not part of the test suite: run it again
# when a tool's version changes, and review the diff.
set -Eeuo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB=$HERE/lab.sh
OUT=$(cd "$HERE/../fixtures" && pwd)/real
LAB_DIR=${LAB_DIR:-/tmp/vigie-lab}
[[ -f $LAB_DIR/lab.env ]] || { echo "capture-fixtures: the lab is not up" >&2; exit 1; }
((EUID == 0)) || { echo "capture-fixtures: run as root" >&2; exit 1; }

INDEX=()

# The lab lock of tests/common/lab.rs (a directory made atomically, its owner file "PID
# START-TIME NAME"): no test runs while the servers are broken here, nor breaks them under us.
LOCK=$LAB_DIR/lock.d
start_time() { # pid -> field 22 of /proc/PID/stat, or nothing
    local rest
    read -r rest 2>/dev/null </proc/"$1"/stat || return 0
    rest=${rest##*) }
    # shellcheck disable=SC2086
    set -- $rest
    echo "${20:-}"
}
lock_stale() { # the owner is dead (or the file is missing since more than 10 s)
    local pid start
    read -r pid start _ 2>/dev/null <"$LOCK/owner" || { [[ -n $(find "$LOCK" -maxdepth 0 -mmin +0.17 2>/dev/null) ]]; return; }
    [[ $(start_time "$pid") != "$start" ]]
}
ME="$$ $(start_time $$) capture-fixtures"
until mkdir "$LOCK" 2>/dev/null; do
    if lock_stale; then mv "$LOCK" "$LOCK.stale.$$" && rm -rf "$LOCK.stale.$$"; continue; fi
    echo "capture-fixtures: waiting for the lab lock ($(cat "$LOCK/owner" 2>/dev/null))" >&2
    sleep 1
done
echo "$ME" >"$LOCK/owner.tmp" && mv "$LOCK/owner.tmp" "$LOCK/owner"
trap '[[ $(cat "$LOCK/owner" 2>/dev/null) == "$ME" ]] && rm -rf "$LOCK"' EXIT

# cap TOOL STATE HOST CMD... : CMD's stdout and stderr, as the probe would get them over SSH
# (no terminal), into TOOL/STATE.txt.
cap() {
    local tool=$1 state=$2 host=$3 rc=0 f
    shift 3
    f=$OUT/$tool/$state.txt
    mkdir -p "$OUT/$tool"
    "$LAB" exec "$host" "$@" </dev/null >"$f" 2>&1 || rc=$?
    INDEX+=("| \`$tool/$state.txt\` | $host | \`$(shown "$@")\` | $rc |")
    echo "captured $tool/$state.txt (exit $rc)" >&2
}

# A command as a reader would type it: arguments with blanks or quotes in single quotes, the
# probe's long queries on one line, `|` escaped for the Markdown table.
shown() {
    local a out=()
    for a; do
        a=$(tr -s ' \n' ' ' <<<"$a" | sed 's/ $//')
        if [[ $a =~ [^A-Za-z0-9_./:@%=+,-] ]]; then a="'${a//\'/\'\\\'\'}'"; fi
        out+=("$a")
    done
    local joined="${out[*]}"
    echo "${joined//|/\\|}"
}

# The probe's own commands (src/probe/repl.sh, apps.sh), so that parsers meet what it reads.
MY_ALL=(mysql --connect-timeout=3 -E -e 'SHOW ALL SLAVES STATUS')
MY_REPLICA=(mysql -e 'SHOW REPLICA STATUS\G')
MY_SLAVE=(mysql -e 'SHOW SLAVE STATUS\G')
MY_DUMPS=(mysql --connect-timeout=3 -N -B -e "SELECT HOST FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%'")
PSQL=(runuser -u postgres -- psql -X -A -t -F'|' -v ON_ERROR_STOP=1 -d postgres -c)
# shellcheck disable=SC2016
PG_ROLE='SELECT pg_is_in_recovery(), current_setting($$server_version_num$$)'
PG_PRIMARY='SELECT application_name, client_addr, state, sync_state,
                    sent_lsn, write_lsn, flush_lsn, replay_lsn, extract(epoch from write_lag),
                    extract(epoch from flush_lag), extract(epoch from replay_lag),
                    pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) FROM pg_stat_replication'
PG_STANDBY='SELECT pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn(),
                    extract(epoch from now() - pg_last_xact_replay_timestamp()),
                    pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()),
                    (SELECT status FROM pg_stat_wal_receiver),
                    (SELECT extract(epoch from now() - last_msg_receipt_time) FROM pg_stat_wal_receiver)'
PG_WAL_RECEIVER='SELECT pid, status, receive_start_lsn, written_lsn, flushed_lsn, sender_host, sender_port, slot_name, conninfo FROM pg_stat_wal_receiver'
# shellcheck disable=SC2016
FTP_BANNER='exec 3<>"/dev/tcp/$1/$2" || exit 7
            n=0
            cr=$(printf "\r")
            while [ $n -lt 20 ] && IFS= read -r -t 4 l <&3; do
                printf "%s\n" "$l"
                n=$((n + 1))
                case $l in [0-9][0-9][0-9]" "* | [0-9][0-9][0-9] | [0-9][0-9][0-9]"$cr") break ;; esac
            done
            printf "QUIT\r\n" >&3
            [ $n -gt 0 ]'

mysql_all() { # state
    cap mysql-show-replica-status "$1" drp "${MY_REPLICA[@]}"
    cap mysql-show-slave-status "$1" drp "${MY_SLAVE[@]}"
    cap mysql-show-all-slaves-status "$1" drp "${MY_ALL[@]}"
}

pg_all() { # state
    cap psql-pg-stat-replication "$1" prod "${PSQL[@]}" "$PG_PRIMARY"
    cap psql-standby "$1" drp "${PSQL[@]}" "$PG_STANDBY"
    cap psql-pg-stat-wal-receiver "$1" drp "${PSQL[@]}" "$PG_WAL_RECEIVER"
}

"$LAB" reset
mkdir -p "$OUT"
find "$OUT" -mindepth 1 -maxdepth 1 -type d -exec rm -rf {} + # README.md, written by hand, stays

# ---- MariaDB
mysql_all healthy
cap mysql-show-replica-status primary prod "${MY_REPLICA[@]}"
cap mysql-show-all-slaves-status primary prod "${MY_ALL[@]}"
cap mysql-binlog-dump-hosts primary-with-replica prod "${MY_DUMPS[@]}"
cap mysqladmin-ping alive prod mysqladmin --connect-timeout=3 ping
"$LAB" repl-break drp mysql error
mysql_all sql-error
"$LAB" repl-heal drp mysql
"$LAB" repl-break drp mysql stop
mysql_all sql-stopped
"$LAB" repl-heal drp mysql
"$LAB" repl-lag drp mysql 310
mysql_all lagging-310s
"$LAB" repl-heal drp mysql
"$LAB" svc-stop prod mariadb
sleep 2 # the IO thread sees the primary go and retries every second (MASTER_CONNECT_RETRY=1)
mysql_all primary-down
cap mysqladmin-ping down prod mysqladmin --connect-timeout=3 ping
"$LAB" svc-start prod mariadb
"$LAB" repl-heal drp mysql

# ---- PostgreSQL
cap psql-role primary prod "${PSQL[@]}" "$PG_ROLE"
cap psql-role standby drp "${PSQL[@]}" "$PG_ROLE"
cap pg_isready primary prod pg_isready -t 3
cap pg_isready standby drp pg_isready -t 3
# an idle standby: its last replayed commit is the seed of `up` (the replay-time age grows)
pg_all streaming-idle
"$LAB" exec prod "${PSQL[@]}" 'set client_min_messages = warning; create table if not exists lab_fixture(at timestamptz); insert into lab_fixture values (now())' >/dev/null
sleep 1.5 # wal_receiver_status_interval is 1 s: the lags on the primary are filled in
pg_all streaming-after-write
# a restarted standby reports the start of its streaming as received until new WAL comes:
# received < replayed, a negative difference
"$LAB" svc-stop drp postgresql
"$LAB" svc-start drp postgresql
cap psql-standby restarted-no-new-wal drp "${PSQL[@]}" "$PG_STANDBY"
"$LAB" repl-lag drp postgresql
sleep 2
pg_all lagging
"$LAB" repl-heal drp postgresql
"$LAB" repl-break drp postgresql
pg_all broken-dead-primary
"$LAB" repl-heal drp postgresql
"$LAB" svc-stop prod postgresql
pg_all primary-down
cap pg_isready down prod pg_isready -t 3
"$LAB" svc-start prod postgresql
"$LAB" repl-heal drp postgresql

# ---- nginx
cap nginx-stub-status ok prod curl -sS -m 4 -w '\n@@code %{http_code}\n' http://127.0.0.1/nginx_status
cap nginx-stub-status forbidden-from-host-address prod curl -sS -m 4 -w '\n@@code %{http_code}\n' http://10.77.1.11/nginx_status
cap nginx-index ok drp curl -sS -m 4 -w '\n@@code %{http_code}\n' http://127.0.0.1/
cap nginx-health ok prod curl -sS -m 4 -w '\n@@code %{http_code}\n' http://127.0.0.1/health
"$LAB" svc-stop drp nginx
cap nginx-stub-status down drp curl -sS -m 4 -w '\n@@code %{http_code}\n' http://127.0.0.1/nginx_status
"$LAB" svc-start drp nginx

# ---- postfix
cap postqueue-p empty prod postqueue -p
cap postfix-status running prod postfix status
cap postfix-status running-tty prod script -qec 'postfix status' /dev/null
"$LAB" mail-queue prod 3
cap postqueue-p deferred-3 prod postqueue -p
"$LAB" svc-stop prod postfix
cap postfix-status stopped prod postfix status
cap postfix-status stopped-tty prod script -qec 'postfix status' /dev/null
cap postqueue-p stopped-with-3-queued prod postqueue -p
"$LAB" reset

# ---- vsftpd
cap vsftpd-banner ok prod bash -c "$FTP_BANNER" vigie 127.0.0.1 21
cap vsftpd-curl anonymous-refused prod curl -sS -v -m 4 -o /dev/null ftp://127.0.0.1/
"$LAB" svc-stop prod vsftpd
cap vsftpd-banner down prod bash -c "$FTP_BANNER" vigie 127.0.0.1 21
"$LAB" svc-start prod vsftpd

# ---- ip, inside prod
cap ip-j-addr prod prod ip -j addr
cap ip-j-d-addr-show prod prod ip -j -d addr show
cap ip-j-route prod prod ip -j route
cap ip-j-route-show prod prod ip -j route show
cap ip-j-6-route-show prod-no-ipv6 prod ip -j -6 route show
cap ip-addr prod prod ip addr
cap ip-route prod prod ip route

# ---- kdig: the blocklist and the site's zone, from backup-a (10.77.1.12)
for q in "66.113.0.203.bl.test A listed" "66.113.0.203.bl.test TXT listed-txt" \
    "99.113.0.203.bl.test A error-code" "11.113.0.203.bl.test A not-listed" \
    "www.example.test A www"; do
    read -r name type state <<<"$q"
    cap kdig "$state" backup-a kdig @10.77.1.53 "$name" "$type"
    cap kdig-short "$state" backup-a kdig +short @10.77.1.53 "$name" "$type"
done
"$LAB" svc-stop dns knot
cap kdig server-down backup-a kdig +time=1 +retry=0 @10.77.1.53 66.113.0.203.bl.test A
"$LAB" reset

{
    echo "<!-- generated by tests/lab/capture-fixtures.sh: do not edit by hand -->"
    echo "| file | host | command (run inside the host as root, no terminal) | exit status |"
    echo "|---|---|---|---|"
    printf '%s\n' "${INDEX[@]}"
} >"$OUT/INDEX.md"
echo "capture-fixtures: ${#INDEX[@]} files in $OUT" >&2
