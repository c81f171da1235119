# shellcheck shell=bash
# Application servers of the lab: what runs where, how each is found, started and stopped, and
# the faults on them (svc-stop/svc-start, repl-break/repl-heal/repl-lag, mail-queue).
# Sourced by lab.sh (uses its hdir, ADDR, in_host, anchor_pid, alive, wait_gone, now_ms, die…);
# each server's details are in apps.sh (nginx, vsftpd, postfix), mysql.sh, pg.sh and dns.sh.
#
# Every server is a daemon adopted by its host's PID 1 (like sshd), writes only under
# $LAB_DIR/hosts/HOST (or in a tmpfs of the host's own mount namespace), and is found again by
# its comm and its parent (the host's anchor): no pid file of the machine is trusted.

# The servers `up` starts, per host. Names are those of svc-start/svc-stop.
declare -A SERVICES=(
    [prod]="nginx vsftpd postfix mariadb postgresql"
    [drp]="nginx mariadb postgresql"
    [dns]="knot"
)

# ---------------------------------------------------------------- generic helpers

# Is a socket of the host in the listening state on PORT? Reads the host's /proc/net through its
# anchor: no fork, so it can be polled every 10 ms.
listening() { # host tcp|udp port
    local a f st want local_addr s
    a=$(anchor_pid "$1") || return 1
    printf -v want ':%04X' "$3"
    if [[ $2 == udp ]]; then f=/proc/$a/net/udp st=07; else f=/proc/$a/net/tcp st=0A; fi
    while read -r _ local_addr _ s _; do
        [[ $local_addr == *"$want" && $s == "$st" ]] && return 0
    done <"$f"
    return 1
}

# Poll a command every 10 ms until it succeeds, or fail after TIMEOUT_MS (no blind sleeps).
wait_until() { # timeout_ms what cmd...
    local deadline=$(($(now_ms) + $1)) what=$2
    shift 2
    until "$@"; do
        if (($(now_ms) > deadline)); then
            note "$what: still not ready"
            return 1
        fi
        sleep 0.01
    done
}

# The daemon of a host: a process named COMM whose parent is the host's PID 1 (the anchor, a
# single-threaded bash: its children are in one file, read without a fork; reset runs this
# for every server).
daemon_pid() { # host comm -> root-namespace pid, or fail
    local a p c kids=()
    a=$(anchor_pid "$1") || return 1
    # (the file has no final newline: read fails at its end, having read it)
    read -r -a kids 2>/dev/null </proc/"$a"/task/"$a"/children || true
    for p in "${kids[@]}"; do
        read -r c 2>/dev/null </proc/"$p"/comm || continue
        [[ $c == "${2:0:15}" ]] && alive "$p" && echo "$p" && return 0
    done
    return 1
}

descendants() { # pid -> every descendant pid (children first level, then theirs…)
    local p c
    for p in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
        echo "$p"
        for c in $(descendants "$p"); do echo "$c"; done
    done
}

# Stop a daemon like its init script would: SIG (default TERM) to the main process, wait for it
# and its children to go, SIGKILL what is left after the grace period, then wait again.
stop_daemon() { # host comm [signal] [grace_ms]
    local h=$1 comm=$2 sig=${3:-TERM} grace=${4:-5000} p all=()
    p=$(daemon_pid "$h" "$comm") || return 0
    mapfile -t all < <(descendants "$p")
    all+=("$p")
    kill -CONT "${all[@]}" 2>/dev/null || true
    kill -"$sig" "$p" 2>/dev/null || true
    WAIT_GONE_MS=$grace wait_gone "${all[@]}" 2>/dev/null || kill_wait "${all[@]}"
}

host_has_mount() { # host path: is path a mount point in the host's mount namespace?
    in_host "$1" mountpoint -q "$2"
}

bind_in_host() { # host source target: bind-mount source on target, in the host only (once)
    host_has_mount "$1" "$3" || in_host "$1" mount --bind "$2" "$3"
}

tmpfs_in_host() { # host target size owner: a tmpfs of the host's own (gone with the host)
    host_has_mount "$1" "$2" && return 0
    in_host "$1" mount -t tmpfs -o "mode=0755,size=$3,nosuid,nodev" "vigie-${2//\//-}" "$2"
    in_host "$1" chown "$4:$4" "$2"
}

# ---------------------------------------------------------------- dispatch

svc_check() { # host name: is this server one of the host's?
    local s
    for s in ${SERVICES[$1]:-}; do [[ $s == "$2" ]] && return 0; done
    die "no server '$2' on ${1:-?} (servers: prod: ${SERVICES[prod]}; drp: ${SERVICES[drp]}; dns: ${SERVICES[dns]})"
}

svc_name() { # accepted aliases -> canonical name
    case $1 in
        mysql | mariadbd) echo mariadb ;;
        postgres | postgresql-standby | pg) echo postgresql ;;
        knotd) echo knot ;;
        ftp) echo vsftpd ;;
        *) echo "$1" ;;
    esac
}

cmd_svc_start() {
    check_host "${1:-}"
    local h=$1 n
    n=$(svc_name "${2:-}")
    svc_check "$h" "$n"
    case $n in
        nginx) nginx_start "$h" ;;
        vsftpd) vsftpd_start "$h" ;;
        postfix) postfix_start "$h" ;;
        mariadb) mysql_start "$h" ;;
        postgresql) if [[ $h == drp ]]; then pg_standby_start drp prod; else cmd_pg_start "$h"; fi ;;
        knot) knot_start "$h" ;;
    esac
}

cmd_svc_stop() {
    check_host "${1:-}"
    local h=$1 n
    n=$(svc_name "${2:-}")
    svc_check "$h" "$n"
    case $n in
        nginx) stop_daemon "$h" nginx QUIT ;;
        vsftpd) stop_daemon "$h" vsftpd ;;
        postfix) stop_daemon "$h" master ;;
        mariadb) stop_daemon "$h" mariadbd TERM 10000 ;;
        postgresql) cmd_pg_stop "$h" ;;
        knot) stop_daemon "$h" knotd ;;
    esac
}

svc_running() { # host name
    case $1/$(svc_name "$2") in
        */nginx) daemon_pid "$1" nginx ;;
        */vsftpd) daemon_pid "$1" vsftpd ;;
        */postfix) daemon_pid "$1" master ;;
        */mariadb) daemon_pid "$1" mariadbd ;;
        */postgresql) pg_pid "$1" ;;
        */knot) daemon_pid "$1" knotd ;;
        *) return 1 ;;
    esac
}

cmd_repl() { # break|heal|lag host kind [arg]
    local what=$1
    shift
    check_host "${1:-}"
    local h=$1 kind=${2:-} arg=${3:-}
    [[ $h == drp ]] || die "the lab's replicas are on drp (repl-$what drp mysql|postgresql)"
    case $kind/$what in
        mysql/break) mysql_repl_break "$h" "${arg:-error}" ;;
        mysql/heal) mysql_repl_heal "$h" ;;
        mysql/lag) mysql_repl_lag "$h" "${arg:-120}" ;;
        postgresql/break) pg_repl_break "$h" "${arg:-dead-primary}" ;;
        postgresql/heal) pg_repl_heal "$h" ;;
        postgresql/lag) pg_repl_lag "$h" ;;
        *) die "usage: repl-break|repl-heal|repl-lag drp mysql|postgresql" ;;
    esac
}

# ---------------------------------------------------------------- up, reset, status

# Every application server of the lab, started in parallel as soon as the hosts' anchors and the
# network are there (apps_start), while lab.sh starts the sshds; apps_wait waits for them. Each
# job logs to $LAB_DIR/up-JOB.log and its time to up-times.txt; a failing job fails `up` with
# its log. prod's PostgreSQL cluster may still be in initdb (lab.sh runs it in the background
# from the start): the pg job waits for its marker file.
declare -A APP_JOBS=()

apps_start() {
    chmod a+x "$LAB_DIR" "$LAB_DIR/hosts" "$LAB_DIR"/hosts/*
    app_job web-prod web_up prod
    app_job web-drp nginx_start drp
    app_job dns dns_up dns
    app_job mysql mysql_up prod drp
    app_job pg pg_up prod drp
}

app_job() { # name fn args...
    local n=$1
    shift
    (
        t0=$(now_ms)
        "$@"
        echo "$n $(($(now_ms) - t0)) ms" >>"$LAB_DIR/up-times.txt"
    ) </dev/null >"$LAB_DIR/up-$n.log" 2>&1 &
    APP_JOBS[$n]=$!
}

apps_wait() {
    local j failed=""
    for j in "${!APP_JOBS[@]}"; do
        wait "${APP_JOBS[$j]}" || failed+=" $j"
    done
    if [[ -n $failed ]]; then
        for j in $failed; do note "up: $j failed:"; sed 's/^/    /' "$LAB_DIR/up-$j.log" >&2; done
        die "application servers failed:$failed"
    fi
    rm -f "$LAB_DIR"/up-*.log
}

# prod's initdb, run in the background by `up` from its very start: leaves a marker when done.
pg_initdb_bg() { # host
    if pg_initdb "$1" >"$LAB_DIR/initdb-$1.log" 2>&1; then : >"$LAB_DIR/.initdb-$1.ok"; else : >"$LAB_DIR/.initdb-$1.failed"; fi
}

pg_initdb_done() { # host
    [[ -e $LAB_DIR/.initdb-$1.failed ]] && die "initdb of $1 failed: $(tail -n 5 "$LAB_DIR/initdb-$1.log")"
    [[ -e $LAB_DIR/.initdb-$1.ok ]]
}

web_up() { # prod: nginx, vsftpd, postfix
    nginx_start "$1" & local n=$!
    vsftpd_start "$1"
    postfix_start "$1"
    wait "$n"
}

pg_up() { # primary standby
    local seed t
    t=$(now_ms)
    wait_until 30000 "initdb of $1" pg_initdb_done "$1"
    rm -f "$LAB_DIR/initdb-$1.log" "$LAB_DIR/.initdb-$1.ok"
    echo "pg.initdb-wait $(($(now_ms) - t)) ms" >>"$LAB_DIR/up-times.txt"
    cmd_pg_start "$1"
    # the seed streams to the standby: both at once
    pg_seed_app "$1" & seed=$!
    t=$(now_ms)
    pg_standby_start "$2" "$1"
    echo "pg.standby $(($(now_ms) - t)) ms" >>"$LAB_DIR/up-times.txt"
    wait "$seed" || die "seeding database app on $1 failed"
    wait_until 10000 "standby $2 replaying $1" pg_caught_up "$2" "$1"
}

# Undo every application fault: servers running, replication healed, postfix's queue empty,
# www.example.test on prod. Cheap when nothing is wrong (reads of /proc, one query per replica,
# one DNS query).
apps_reset() {
    local h s
    for h in "${!SERVICES[@]}"; do
        for s in ${SERVICES[$h]}; do
            svc_running "$h" "$s" >/dev/null || cmd_svc_start "$h" "$s"
        done
    done
    postfix_flush_queue prod
    dns_reset_www
    mysql_repl_heal drp
    pg_repl_heal drp
}

apps_status() {
    local h s line ok=0
    for h in prod drp dns; do
        line=""
        for s in ${SERVICES[$h]}; do
            if svc_running "$h" "$s" >/dev/null 2>&1; then line+=" $s"; else line+=" $s:DOWN"; ok=1; fi
        done
        printf '%-9s%s\n' "$h" "$line"
    done
    printf 'replicas  %s, %s\n' "$(mysql_repl_state drp 2>/dev/null || echo 'mysql: ?')" \
        "$(pg_repl_state drp 2>/dev/null || echo 'postgresql: ?')"
    return $ok
}

# `check`: each server answers its own client, as an operator would try it.
apps_check() {
    local rc=0 h out
    check_line() { # label cmd...
        local label=$1
        shift
        if out=$("$@" 2>&1) && [[ -n $out ]]; then
            echo "$label: ok (${out//$'\n'/ })"
        else
            echo "$label: FAILED: ${out//$'\n'/ }"
            rc=1
        fi
    }
    for h in prod drp; do
        check_line "$h nginx" in_host "$h" curl -fsS -m 3 "http://${ADDR[$h]}/health"
    done
    check_line "prod vsftpd" in_host prod timeout 3 bash -c 'exec 3<>/dev/tcp/127.0.0.1/21; head -n 1 <&3'
    check_line "prod postfix" in_host prod timeout 3 bash -c 'exec 3<>/dev/tcp/127.0.0.1/25; head -n 1 <&3'
    for h in prod drp; do
        check_line "$h mariadb" in_host "$h" mysqladmin ping
        check_line "$h postgresql" in_host "$h" pg_isready -h /run/postgresql
    done
    check_line "drp mariadb replica" mysql_repl_state drp
    check_line "drp postgresql standby" pg_repl_state drp
    check_line "dns knot (from here)" kdig +short +time=2 +retry=0 @"${ADDR[$DNS_HOST]}" www.example.test A
    check_line "transfer backup-a->drp" in_host backup-a ssh -F "$LAB_DIR/transfer_ssh_config" drp hostname
    return $rc
}

# ---------------------------------------------------------------- host-to-host SSH (transfers)

# A dedicated key with which prod, backup-a, backup-b and drp reach each other directly (the DRP
# copy steps run rsync on one host to another: `[drp] transfer_ssh = "ssh -F …"`). Its line in
# the shared authorized_keys only accepts connections from dc1 and dc2.
TRANSFER_HOSTS=(prod backup-a backup-b drp)

write_transfer_files() {
    local h t k
    echo "from=\"10.77.1.0/24,10.77.2.0/24\" $(cat "$LAB_DIR/transfer/id_ed25519.pub")" \
        >>"$LAB_DIR/client/authorized_keys"
    : >"$LAB_DIR/transfer_known_hosts"
    {
        echo "# generated by tests/lab/lab.sh: host-to-host transfers inside the lab"
        echo "# (lab.sh exec backup-a ssh -F $LAB_DIR/transfer_ssh_config drp true)"
        for h in "${TRANSFER_HOSTS[@]}"; do
            read -r t k _ <"$(hdir "$h")/ssh_host_ed25519_key.pub"
            echo "${ADDR[$h]} $t $k" >>"$LAB_DIR/transfer_known_hosts"
            echo
            echo "Host $h"
            echo "  HostName ${ADDR[$h]}"
            echo "  Port 22"
            echo "  User root"
            echo "  IdentityFile $LAB_DIR/transfer/id_ed25519"
            echo "  IdentitiesOnly yes"
            echo "  UserKnownHostsFile $LAB_DIR/transfer_known_hosts"
            echo "  GlobalKnownHostsFile /dev/null"
            echo "  StrictHostKeyChecking yes"
            echo "  UpdateHostKeys no"
            echo "  BatchMode yes"
            echo "  ConnectTimeout 3"
            echo "  ControlMaster no"
        done
    } >"$LAB_DIR/transfer_ssh_config"
}
