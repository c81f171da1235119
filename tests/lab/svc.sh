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

# The daemon of a host: a process named COMM whose parent is the host's PID 1.
daemon_pid() { # host comm -> root-namespace pid, or fail
    local a p
    a=$(anchor_pid "$1") || return 1
    for p in $(host_pids_named "$1" "$2"); do
        [[ $(proc_ppid "$p") == "$a" ]] && echo "$p" && return 0
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

# Every application server of the lab, started in parallel once the hosts are up (prod's
# PostgreSQL cluster may still be in initdb: PG_INIT_PID is waited for here). Each job logs to
# $LAB_DIR/up-JOB.log; a failing job fails `up` with its log.
apps_up() { # pg_init_pid
    local pg_init=$1 j failed=""
    local -A pids=()
    chmod a+x "$LAB_DIR" "$LAB_DIR/hosts" "$LAB_DIR"/hosts/*
    job() { # name fn args...
        local n=$1
        shift
        ("$@") </dev/null >"$LAB_DIR/up-$n.log" 2>&1 &
        pids[$n]=$!
    }
    job web-prod web_up prod
    job web-drp nginx_start drp
    job dns dns_up dns
    job mysql mysql_up prod drp
    job pg pg_up "$pg_init" prod drp
    for j in "${!pids[@]}"; do
        wait "${pids[$j]}" || failed+=" $j"
    done
    if [[ -n $failed ]]; then
        for j in $failed; do note "up: $j failed:"; sed 's/^/    /' "$LAB_DIR/up-$j.log" >&2; done
        die "application servers failed:$failed"
    fi
    rm -f "$LAB_DIR"/up-*.log
}

web_up() { # prod: nginx, vsftpd, postfix
    nginx_start "$1" & local n=$!
    vsftpd_start "$1"
    postfix_start "$1"
    wait "$n"
}

pg_up() { # initdb_pid primary standby
    wait "$1" || die "initdb of $2 failed"
    cmd_pg_start "$2"
    pg_seed_app "$2"
    pg_standby_start "$3" "$2"
}

# Undo every application fault: servers running, replication healed. Cheap when nothing is
# wrong (a few reads of /proc and one query per replica).
apps_reset() {
    local h s
    for h in "${!SERVICES[@]}"; do
        for s in ${SERVICES[$h]}; do
            svc_running "$h" "$s" >/dev/null || cmd_svc_start "$h" "$s"
        done
    done
    postfix_flush_queue prod
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
