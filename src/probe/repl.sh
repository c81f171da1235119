# Replication (REPL): one section `repl.<kind>` per configured replication kind, read by
# src/probe/parse/repl/. A section is a series of parts, one per command:
#   @@<part> [argument]
#   what the command printed (standard output and error)
#   @@rc <its exit status>
# The parsers judge every status themselves (a stopped heartbeat exits 1 and says so), so a
# section ends with status 0 unless its tool is missing (127). Every command runs under `t`.

# Prints one part whose output is "$3" and status "$2". A line of remote output that starts
# with @@ (a replicated query quoted in a MySQL error, a crafted name) gets a space after its
# first @: no output can end its part early or forge another one.
rp_print() {
    printf '@@%s\n' "$1"
    case $3 in
        '') ;;
        @@* | *"
@@"*) printf '%s\n' "$3" | sed 's/^@@/@ @/' ;;
        *) printf '%s\n' "$3" ;;
    esac
    printf '@@rc %s\n' "$2"
}

# `rp NAME CMD...`: runs CMD and prints it as part NAME. Its output stays in _ro, its status
# in _rr (and is returned).
rp() {
    _rn=$1
    shift
    _ro=$("$@" 2>&1)
    _rr=$?
    rp_print "$_rn" "$_rr" "$_ro"
    return "$_rr"
}

# Heartbeat and Pacemaker are one check, under the name the operator wrote (config/apps.rs).
# Pacemaker: crm_mon, as XML where it can (2.x --output-as=xml, 1.1 --as-xml), as text on
# older versions. Heartbeat v1 (no Pacemaker): cl_status.
s_repl_cluster() {
    set -f
    if have crm_mon; then
        # The name operators call the cluster by (corosync, pacemaker 1.1 and 2).
        if [ -r /etc/corosync/corosync.conf ]; then
            _cn=$(sed -n 's/^[[:space:]]*cluster_name[[:space:]]*:[[:space:]]*\([^[:space:]#]*\).*/\1/p' \
                /etc/corosync/corosync.conf 2>/dev/null | head -n 1)
            [ -n "$_cn" ] && rp_print name 0 "$_cn"
        fi
        for _x in --output-as=xml --as-xml; do
            rp xml t 5 $_sudo crm_mon -1 "$_x" && return 0
            # An answer (the cluster is down, a refused connection or sudo) rather than an
            # unknown option: asking again would only repeat it.
            case $_rr:$_ro in
                124:* | 137:* | *'<pacemaker-result'* | *'<crm_mon'* | *'not available'* | *'onnect to'* | *'not connected'* | *'ermission'* | *'sudo:'*)
                    return 0
                    ;;
            esac
        done
        rp text t 5 $_sudo crm_mon -1
        return 0
    fi
    if have cl_status; then
        rp hbstatus t 5 cl_status hbstatus || return 0
        if rp nodes t 5 cl_status listnodes; then
            _i=0
            for _node in $_ro; do
                _i=$((_i + 1))
                [ "$_i" -le 16 ] || break
                rp "node $_node" t 5 cl_status nodestatus "$_node"
            done
        fi
        rp resources t 5 cl_status rscstatus
        return 0
    fi
    not_installed crm_mon
}

s_repl_heartbeat() { s_repl_cluster; }
s_repl_pacemaker() { s_repl_cluster; }

# The resources drbdadm has in its configuration, with their minors: `name minor...` a line
# (at most 16 resources).
drbd_config() {
    _res=$(t 5 $_sudo drbdadm sh-resources 2>&1) || {
        printf '%s\n' "$_res"
        return 1
    }
    _i=0
    for _r in $_res; do
        _i=$((_i + 1))
        [ "$_i" -le 16 ] || break
        printf '%s %s\n' "$_r" "$(t 2 $_sudo drbdadm sh-minor "$_r" 2>/dev/null | tr '\n' ' ')"
    done
}

# DRBD 8: /proc/drbd holds every minor's state. DRBD 9: /proc/drbd holds the version only, and
# `drbdadm status` the state. The configuration names 8.x minors, and shows resources that
# are configured but down (9.x lists only those up).
s_repl_drbd() {
    set -f
    _v=
    if [ -r /proc/drbd ]; then
        rp proc cat /proc/drbd
        case $_ro in "version: 8."*) _v=8 ;; esac
    fi
    if have drbdadm; then
        rp config drbd_config
        if [ -r /proc/drbd ] && [ "$_v" != 8 ]; then
            rp status t 5 $_sudo drbdadm status all
        fi
    fi
    return 0
}

# `gluster volume heal VOL info [summary|split-brain]` without the entries themselves (paths
# and gfids, possibly thousands): the bricks, their status and the counts stay.
gl_heal() {
    _h=$(t 5 $_sudo gluster volume heal "$1" info $2 2>&1)
    _hr=$?
    printf '%s\n' "$_h" | grep -v -e '^/' -e '^<gfid:' | head -n 400
    return $_hr
}

s_repl_glusterfs() {
    set -f
    have gluster || {
        not_installed gluster
        return 127
    }
    if [ "$(id -u)" != 0 ] && [ -z "$_sudo" ]; then
        echo "VIGIE_UNAVAILABLE the gluster command needs root (sudo is off for this host)"
        return 1
    fi
    cs
    _g0=$_cs
    rp peers t 5 $_sudo gluster peer status || return 0
    rp info t 5 $_sudo gluster volume info all || return 0
    # Heal information for started replicated or dispersed volumes only (the others have none).
    _vols=$(printf '%s\n' "$_ro" | awk '
        /^Volume Name:/ { n = $3 }
        /^Type:/ { t = $2 }
        /^Status:/ { if ($2 == "Started" && t ~ /Replicate|Disperse/) print n }')
    rp status t 5 $_sudo gluster volume status all
    _i=0
    for _vol in $_vols; do
        _i=$((_i + 1))
        cs
        if [ "$_i" -gt 4 ]; then
            rp_print "heal $_vol" 0 "VIGIE_SKIPPED heal read for the first 4 volumes only"
            continue
        elif [ $((_cs - _g0)) -gt 1000 ]; then
            rp_print "heal $_vol" 0 "VIGIE_SKIPPED time budget of 10 s spent"
            continue
        fi
        # `info summary` (3.13 and later) has every count; older versions list the entries.
        rp "heal $_vol" gl_heal "$_vol" summary
        case $_ro in *"Total Number of entries"* | *"Transport endpoint"*) continue ;; esac
        rp "heal $_vol" gl_heal "$_vol"
        rp "split-brain $_vol" gl_heal "$_vol" split-brain
    done
    return 0
}

s_repl_ceph() {
    have ceph || {
        not_installed ceph
        return 127
    }
    # Unreachable monitors: the client says so after 4 s rather than retrying for 300 s.
    rp status t 5 $_sudo ceph --connect-timeout 4 status -f json
    case $_ro in *"unrecognized arguments"*) rp status t 5 $_sudo ceph status -f json ;; esac
    return 0
}

# One statement through the mysql client: `my_q STATEMENT [-E|-N -B]`. The login user's own
# credentials first (~/.my.cnf, the unix socket of root on Debian), sudo after an access denied.
my_q() {
    t 5 $_mysudo "$_my" --connect-timeout=3 $2 $3 -e "$1"
}

s_repl_mysql() {
    _my=mysql
    have mysql || _my=mariadb
    have "$_my" || {
        not_installed mysql
        return 127
    }
    _mysudo=
    # MariaDB lists every connection with SHOW ALL SLAVES STATUS; MySQL 8.0.22 and later name
    # it SHOW REPLICA STATUS, older servers SHOW SLAVE STATUS (a syntax error says which).
    for _q in 'SHOW ALL SLAVES STATUS' 'SHOW REPLICA STATUS' 'SHOW SLAVE STATUS'; do
        _o=$(my_q "$_q" -E 2>&1)
        _r=$?
        case $_o in
            *"ERROR 1045"* | *"ERROR 1698"*)
                if [ -z "$_mysudo" ] && [ -n "$_sudo" ]; then
                    _mysudo=$_sudo
                    _o=$(my_q "$_q" -E 2>&1)
                    _r=$?
                fi
                ;;
        esac
        case $_o in *"ERROR 1064"*) continue ;; esac
        break
    done
    rp_print "replica $_q" "$_r" "$_o"
    [ "$_r" = 0 ] || return 0
    # A primary: the replicas reading its binary log now.
    rp primary my_q "SELECT HOST FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%'" -N -B
    return 0
}

# One query through psql as the postgres superuser (unaligned, tuples only, `|` between
# fields), from / so that psql need not read the login user's directory.
pg_q() {
    if [ "$(id -u)" = 0 ]; then
        if have runuser; then
            (cd / && t 5 runuser -u postgres -- psql -X -A -t -F'|' -v ON_ERROR_STOP=1 -d postgres -c "$1")
        else
            # The query travels in the environment: nothing is pasted into the shell code.
            # shellcheck disable=SC2016
            (cd / && export VIGIE_Q="$1" &&
                t 5 su postgres -s /bin/sh -c 'psql -X -A -t -F"|" -v ON_ERROR_STOP=1 -d postgres -c "$VIGIE_Q"')
        fi
    elif [ -n "$_sudo" ]; then
        (cd / && t 5 $_sudo -u postgres psql -X -A -t -F'|' -v ON_ERROR_STOP=1 -d postgres -c "$1")
    else
        t 5 psql -X -A -t -F'|' -v ON_ERROR_STOP=1 -d postgres -c "$1"
    fi
}

# The queries by server version: PostgreSQL 10 renamed xlog to wal and location to lsn, and
# added the lag times; 9.6 added pg_stat_wal_receiver.
s_repl_postgresql() {
    have psql || {
        not_installed psql
        return 127
    }
    export PGCONNECT_TIMEOUT=3
    # $$…$$ is PostgreSQL's dollar quoting, not the shell's.
    # shellcheck disable=SC2016
    rp role pg_q 'SELECT pg_is_in_recovery(), current_setting($$server_version_num$$)' || return 0
    _v=${_ro#*|}
    case $_v in '' | *[!0-9]*) _v=0 ;; esac
    case $_ro in
        f\|*)
            if [ "$_v" -ge 100000 ]; then
                rp primary pg_q 'SELECT application_name, client_addr, state, sync_state,
                    sent_lsn, write_lsn, flush_lsn, replay_lsn, extract(epoch from write_lag),
                    extract(epoch from flush_lag), extract(epoch from replay_lag),
                    pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) FROM pg_stat_replication'
            else
                rp primary pg_q 'SELECT application_name, client_addr, state, sync_state,
                    sent_location, write_location, flush_location, replay_location, NULL, NULL,
                    NULL, pg_xlog_location_diff(pg_current_xlog_location(), replay_location)
                    FROM pg_stat_replication'
            fi
            ;;
        t\|*)
            if [ "$_v" -ge 100000 ]; then
                rp standby pg_q 'SELECT pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn(),
                    extract(epoch from now() - pg_last_xact_replay_timestamp()),
                    pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()),
                    (SELECT status FROM pg_stat_wal_receiver),
                    (SELECT extract(epoch from now() - last_msg_receipt_time) FROM pg_stat_wal_receiver)'
            elif [ "$_v" -ge 90600 ]; then
                rp standby pg_q 'SELECT pg_last_xlog_receive_location(), pg_last_xlog_replay_location(),
                    extract(epoch from now() - pg_last_xact_replay_timestamp()),
                    pg_xlog_location_diff(pg_last_xlog_receive_location(), pg_last_xlog_replay_location()),
                    (SELECT status FROM pg_stat_wal_receiver),
                    (SELECT extract(epoch from now() - last_msg_receipt_time) FROM pg_stat_wal_receiver)'
            else
                rp standby pg_q 'SELECT pg_last_xlog_receive_location(), pg_last_xlog_replay_location(),
                    extract(epoch from now() - pg_last_xact_replay_timestamp()),
                    pg_xlog_location_diff(pg_last_xlog_receive_location(), pg_last_xlog_replay_location()),
                    NULL, NULL'
            fi
            ;;
    esac
    return 0
}

# Words only from config::REPLICATION_KINDS reach here; anything else is ignored.
set -f
for _kind in ${REPL:-}; do
    case $_kind in
        heartbeat | pacemaker | drbd | glusterfs | ceph | mysql | postgresql)
            sec "repl.$_kind" "s_repl_$_kind" </dev/null
            ;;
    esac
done
set +f
