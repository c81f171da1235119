#!/usr/bin/env bash
# The Vigie test lab: real OpenSSH servers in network namespaces on this machine.
#
#   root ns ──vl-root/vl-rtr── vigie-net (router: br-dmz, br-dc1, br-dc2, ip_forward)
#                                 ├─ br-dmz 10.77.0.1 ── bastion  10.77.0.10
#                                 ├─ br-dc1 10.77.1.1 ── prod     10.77.1.11, backup-a 10.77.1.12,
#                                 │                      dns      10.77.1.53
#                                 └─ br-dc2 10.77.2.1 ── backup-b 10.77.2.21, drp 10.77.2.22
#
# The root namespace reaches only the bastion (and port 53 of dns); everything else goes through
# the bastion (ProxyJump). Application servers run inside the hosts (svc.sh, apps.sh, mysql.sh,
# pg.sh, dns.sh). See tests/lab/README.md. Run as root. State lives in $LAB_DIR (default
# /tmp/vigie-lab).
set -Eeuo pipefail
trap 'echo "lab.sh: command failed (line $LINENO): $BASH_COMMAND" >&2' ERR

LAB_DIR=${LAB_DIR:-/tmp/vigie-lab}
LAB_DIR=${LAB_DIR%/}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

NET=vigie-net              # the router namespace
NS_PREFIX=vigie-           # every lab namespace is named vigie-*
HOSTS=(bastion prod backup-a backup-b drp dns)
declare -A ADDR=([bastion]=10.77.0.10 [prod]=10.77.1.11 [backup-a]=10.77.1.12 [backup-b]=10.77.2.21 [drp]=10.77.2.22
    [dns]=10.77.1.53)
declare -A DC=([bastion]=dmz [prod]=dc1 [backup-a]=dc1 [backup-b]=dc2 [drp]=dc2 [dns]=dc1)
# dns is the site's authoritative DNS server: a production server (Vigie's roles are production,
# backup, drp and bastion); it comes last, so "the" production host of the lab stays prod.
declare -A ROLE=([bastion]=bastion [prod]=production [backup-a]=backup [backup-b]=backup [drp]=drp [dns]=production)
DCS=(dmz dc1 dc2)
declare -A DCNUM=([dmz]=0 [dc1]=1 [dc2]=2)
ROOT_IF=vl-root ROOT_ADDR=10.77.255.1
RTR_IF=vl-rtr RTR_ADDR=10.77.255.2
LAB_RANGE=10.77.0.0/16
SRV_SIZE=64m BACKUPS_SIZE=256m
LAB_TMPFS=vigie-lab LAB_DIR_SIZE=2g
FILL_FILE=.vigie-lab-fill
# ip rule priorities used in the router
PREF_ROOT_ISOLATION=50 PREF_FORWARD_OFF=100

die() { echo "lab.sh: $*" >&2; exit 1; }
note() { echo "lab.sh: $*" >&2; }
now_ms() { local t; t=$(date +%s%N); echo $((t / 1000000)); }

need_root() { ((EUID == 0)) || die "must run as root"; }

# shellcheck source=tests/lab/pg.sh
source "$HERE/pg.sh"
# shellcheck source=tests/lab/svc.sh
source "$HERE/svc.sh"
# shellcheck source=tests/lab/apps.sh
source "$HERE/apps.sh"
# shellcheck source=tests/lab/mysql.sh
source "$HERE/mysql.sh"
# shellcheck source=tests/lab/dns.sh
source "$HERE/dns.sh"

check_host() {
    [[ -n ${1:-} && -n ${ADDR[$1]:-} ]] || die "unknown host '${1:-}' (hosts: ${HOSTS[*]})"
}

hdir() { echo "$LAB_DIR/hosts/$1"; }

# Fixed MACs (random ones left stale ARP entries and 5 s stalls).
# host side eth0: 02:77:00:DC:OCT:01, router side r-HOST: 02:77:00:DC:OCT:02
mac_of() { # host side|router
    local a=${ADDR[$1]} dc oct
    dc=$(cut -d. -f3 <<<"$a"); oct=$(cut -d. -f4 <<<"$a")
    printf '02:77:00:%02x:%02x:%02x' "$dc" "$oct" "$([[ $2 == host ]] && echo 1 || echo 2)"
}
rif() { echo "r-$1"; } # router-side veth of a host

# ---------------------------------------------------------------- processes

# pid of a live, non-zombie process, or fail
alive() {
    local pid=$1 st rest
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    [[ -r /proc/$pid/stat ]] || return 1
    read -r rest 2>/dev/null </proc/"$pid"/stat || return 1
    rest=${rest##*) }
    st=${rest%% *}
    [[ $st != Z && $st != X ]]
}

proc_state() { # pid -> one-letter state, or "-" when gone
    local rest
    if read -r rest 2>/dev/null </proc/"$1"/stat; then rest=${rest##*) }; echo "${rest%% *}"; else echo -; fi
}

proc_ppid() {
    local rest
    read -r rest 2>/dev/null </proc/"$1"/stat || return 1
    rest=${rest##*) }
    set -- $rest
    echo "$2"
}

proc_comm() { local c; read -r c 2>/dev/null </proc/"$1"/comm || return 1; echo "$c"; }

netns_inode() { stat -L -c %i "/run/netns/$1" 2>/dev/null; }

# Inodes of every lab network namespace: the named ones plus any recorded at creation
# (a namespace outlives its name while a process is still in it).
lab_netns_inodes() {
    local f
    for f in /run/netns/"$NS_PREFIX"*; do
        [[ -e $f ]] && stat -L -c %i "$f" 2>/dev/null || true
    done
    [[ -f $LAB_DIR/netns.inodes ]] && cut -d' ' -f2 "$LAB_DIR/netns.inodes" || true
}

# pids (root pid namespace view) of every process whose network namespace is one of $@ (inodes)
pids_in_netns() {
    (($# > 0)) || return 0
    local -A want=()
    local i dir link ino
    for i; do [[ -n $i ]] && want[$i]=1; done
    while IFS=$'\t' read -r dir link; do
        ino=${link#net:[}; ino=${ino%]}
        if [[ -n $ino && -n ${want[$ino]:-} ]]; then
            dir=${dir#/proc/}; echo "${dir%/ns}"
        fi
    done < <(find /proc/[0-9]*/ns/net -maxdepth 0 -printf '%h\t%l\n' 2>/dev/null || true)
}

host_pids() { # host -> pids in its network namespace
    local ino
    ino=$(netns_inode "$NS_PREFIX$1") || return 0
    pids_in_netns "$ino"
}

host_pids_named() { # host comm -> pids of that host whose comm is comm (15 chars max)
    local want=${2:0:15} p c
    for p in $(host_pids "$1"); do
        read -r c 2>/dev/null </proc/"$p"/comm || continue # no subshell: this runs for every process
        [[ $c == "$want" ]] && alive "$p" && echo "$p"
    done
    return 0
}

# Wait until every pid in $@ is gone. A zombie whose parent is the machine's PID 1 is
# reaped by it on a ~2 s cycle: we wait for that too, so that no trace is left.
wait_gone() {
    local deadline=$(($(now_ms) + ${WAIT_GONE_MS:-6000})) p left
    while :; do
        left=()
        for p; do [[ -e /proc/$p ]] && left+=("$p"); done
        ((${#left[@]} == 0)) && return 0
        if (($(now_ms) > deadline)); then
            note "processes still present: ${left[*]}"
            return 1
        fi
        set -- "${left[@]}"
        sleep 0.02
    done
}

kill_wait() { # pids: SIGKILL then wait until they vanish
    (($# > 0)) || return 0
    kill -KILL "$@" 2>/dev/null || true
    wait_gone "$@"
}

anchor_pid() { # host -> live anchor pid (PID 1 of the host's pid namespace) or fail
    local p
    p=$(cat "$(hdir "$1")/anchor.pid" 2>/dev/null) || return 1
    alive "$p" || return 1
    echo "$p"
}

require_anchor() {
    anchor_pid "$1" || die "host $1 is not running (is the lab up? try: $0 status)"
}

in_host() { # host cmd... : run cmd in every namespace of the host
    local a
    a=$(require_anchor "$1") || exit 1
    shift
    nsenter -t "$a" -n -m -u -p -- "$@"
}

# ---------------------------------------------------------------- down

cmd_down() {
    need_root
    local t0 inodes=() pids=() f anchors=() p n
    t0=$(now_ms)
    # 0. PostgreSQL, stopped cleanly first (a killed postmaster would leave its shared memory)
    pg_stop_all
    # 1. every process inside a lab namespace, plus the anchors and their unshare parents
    mapfile -t inodes < <(lab_netns_inodes | sort -u)
    # The anchors first (killing a host's PID 1 kills its whole pid namespace), then whatever
    # is left in the lab's network namespaces. A recorded pid is only trusted while it still
    # lives in a lab namespace (pids get reused); one already dead but not yet reaped (a zombie
    # left by an interrupted `down`) is waited for.
    local -A lab_ino=()
    for n in "${inodes[@]}"; do lab_ino[$n]=1; done
    for f in "$LAB_DIR"/hosts/*/anchor.pid "$LAB_DIR"/hosts/*/unshare.pid; do
        [[ -f $f ]] && p=$(cat "$f") && [[ $p =~ ^[0-9]+$ ]] || continue
        if alive "$p"; then
            n=$(readlink "/proc/$p/ns/net" 2>/dev/null) || continue
            n=${n#net:[}; n=${n%]}
            [[ -n ${lab_ino[$n]:-} ]] && kill -KILL "$p" 2>/dev/null && anchors+=("$p")
        elif [[ $(proc_state "$p") == Z ]]; then
            anchors+=("$p")
        fi
    done
    for n in 1 2 3 4 5; do
        mapfile -t pids < <(pids_in_netns "${inodes[@]}")
        ((${#pids[@]} == 0)) && break
        kill -CONT "${pids[@]}" 2>/dev/null || true
        kill -KILL "${pids[@]}" 2>/dev/null || true
        anchors+=("${pids[@]}")
        sleep 0.01
    done
    # 2. namespaces
    for f in /run/netns/"$NS_PREFIX"*; do
        [[ -e $f ]] || continue
        ip netns delete "${f##*/}" 2>/dev/null || { umount -l "$f" 2>/dev/null; rm -f "$f"; } || true
    done
    # `ip netns add` bind-mounts /run/netns on itself: undo that when no namespace is left
    if [[ -d /run/netns && -z $(ls -A /run/netns) ]] && mountpoint -q /run/netns; then
        umount /run/netns 2>/dev/null || true
    fi
    # 3. root namespace: veth and routes
    ip link show "$ROOT_IF" &>/dev/null && ip link delete "$ROOT_IF" 2>/dev/null || true
    while ip route del unreachable "$LAB_RANGE" 2>/dev/null; do :; done
    while ip route del 10.77.0.0/24 2>/dev/null; do :; done
    while ip route del "${ADDR[$DNS_HOST]}/32" 2>/dev/null; do :; done
    # 4. anything still mounted under the lab directory (nothing, normally)
    local mnt
    while read -r _ mnt _; do
        mnt=$(printf '%b' "$mnt")
        [[ $mnt == "$LAB_DIR"/* || $mnt == /run/netns/"$NS_PREFIX"* ]] && umount -l "$mnt" 2>/dev/null || true
    done < <(tac /proc/self/mounts)
    # 5. wait until every killed process has really vanished. The processes of the hosts go at
    # once (their PID 1, the anchor, reaps them); the unshare processes, orphans of the machine's
    # PID 1, stay zombies until it reaps them, on a ~2 s cycle here.
    if ((${#anchors[@]})); then
        wait_gone "${anchors[@]}" || note "some lab processes did not vanish"
    fi
    # 6. the state directory (only if it is ours), last: an interrupted `down` can start over
    if [[ -e $LAB_DIR ]]; then
        [[ $LAB_DIR == /* && $LAB_DIR != / ]] || die "refusing to remove LAB_DIR=$LAB_DIR"
        if [[ -e $LAB_DIR/.vigie-lab ]] || [[ -z $(ls -A "$LAB_DIR") ]]; then
            # `up` mounts a tmpfs on LAB_DIR: its content goes with it
            while mountpoint -q "$LAB_DIR" && [[ $(findmnt -n -o SOURCE --mountpoint "$LAB_DIR" | tail -n 1) == "$LAB_TMPFS" ]]; do
                umount -l "$LAB_DIR" || break
            done
            rm -rf "$LAB_DIR"
        else
            die "$LAB_DIR exists but is not a lab directory (no .vigie-lab marker): not removing it"
        fi
    fi
    [[ ${QUIET:-} ]] || note "down in $(($(now_ms) - t0)) ms"
}

# ---------------------------------------------------------------- up

ANCHOR_SCRIPT='# The anchor of a lab host: PID 1 of its pid namespace, holds its mount and UTS namespaces.
set -e
name=$1 dir=$2
hostname "$name"
echo "$name" >"$dir/hostname"
mount --bind "$dir/hostname" /etc/hostname
mount --bind "$dir/hosts" /etc/hosts
mount --bind "$dir/resolv.conf" /etc/resolv.conf
mount -t tmpfs -o mode=0755,size=16m,nosuid,nodev vigie-run /run
mkdir -m 0755 /run/sshd
mount -t tmpfs -o mode=0755,size='$SRV_SIZE' vigie-srv /srv
mkdir -p /var/backups
mount -t tmpfs -o mode=0755,size='$BACKUPS_SIZE' vigie-backups /var/backups
# Vigie'"'"'s own state on the host (the DRP lock): each host its own, as on real machines.
mkdir -p /var/lib/vigie
mount -t tmpfs -o mode=0755,size=4m,nosuid,nodev vigie-lib /var/lib/vigie
set +e
: >"$dir/ready"
# PID 1 of the host: bash reaps every child, adopted orphans included, in its SIGCHLD handling.
while :; do sleep infinity & wait $!; done
'

# /etc/hosts of a lab host: every lab host by name, as on a managed site. Servers that look their
# own name up (knotd, mariadb-install-db) find it there instead of waiting 5 s for the machine's
# resolver, which the lab cannot reach.
hosts_file() {
    local h
    printf '127.0.0.1\tlocalhost\n'
    for h in "${HOSTS[@]}"; do printf '%s\t%s.lab.test %s\n' "${ADDR[$h]}" "$h" "$h"; done
}

# /etc/resolv.conf of a lab host: the lab's Knot, authoritative for the site's zone, as a site's
# own name server would be. A URL test through the bastion's tunnel then follows the DNS switch
# of a DRP runbook (the bastion's sshd resolves the name it is asked to connect to).
resolv_file() {
    printf 'nameserver %s\noptions timeout:1 attempts:1\n' "${ADDR[dns]}"
}

start_anchor() { # host
    local h=$1 d u
    d=$(hdir "$h")
    cd /
    hosts_file >"$d/hosts"
    resolv_file >"$d/resolv.conf"
    [[ -f $LAB_DIR/anchor.sh ]] || echo "$ANCHOR_SCRIPT" >"$LAB_DIR/anchor.sh"
    setsid ip netns exec "$NS_PREFIX$h" \
        unshare --mount --uts --pid --fork --mount-proc --propagation private \
        bash "$LAB_DIR/anchor.sh" "$h" "$d" \
        </dev/null >>"$d/anchor.log" 2>&1 &
    u=$!
    echo "$u" >"$d/unshare.pid"
}

find_anchor() { # host: wait for the anchor to be ready and record its pid
    local h=$1 d u a="" deadline
    d=$(hdir "$h"); u=$(cat "$d/unshare.pid")
    deadline=$(($(now_ms) + 5000))
    until [[ -e $d/ready ]]; do
        alive "$u" || die "anchor of $h died: $(cat "$d/anchor.log")"
        (($(now_ms) < deadline)) || die "anchor of $h not ready after 5 s"
        sleep 0.01
    done
    read -r a _ <"/proc/$u/task/$u/children" || true
    [[ -n $a ]] || die "cannot find the anchor pid of $h (child of $u)"
    echo "$a" >"$d/anchor.pid"
}

sshd_config() { # host
    local h=$1 d fwd=no
    d=$(hdir "$h")
    [[ ${ROLE[$h]} == bastion ]] && fwd=yes
    cat <<EOF
# generated by tests/lab/lab.sh for host $h
ListenAddress ${ADDR[$h]}
Port 22
AddressFamily inet
HostKey $d/ssh_host_ed25519_key
PidFile none
UsePAM no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
AuthorizedKeysFile $LAB_DIR/client/authorized_keys
LogLevel VERBOSE
AllowTcpForwarding $fwd
AllowAgentForwarding no
X11Forwarding no
PrintMotd no
PrintLastLog no
UseDNS no
Subsystem sftp /usr/lib/openssh/sftp-server
EOF
}

sshd_pid() { # host -> live recorded listener pid, or fail
    local p
    p=$(cat "$(hdir "$1")/sshd.pid" 2>/dev/null) || return 1
    alive "$p" && [[ $(proc_comm "$p") == sshd ]] || return 1
    echo "$p"
}

listening_count() {
    local n
    n=$(grep -c 'Server listening on' "$(hdir "$1")/sshd.log" 2>/dev/null) || true
    echo "${n:-0}"
}

# Launch sshd (daemon mode: it forks, and the daemon is adopted by the host's PID 1).
sshd_launch() { # host
    local h=$1 d a
    d=$(hdir "$h"); a=$(require_anchor "$h") || exit 1
    listening_count "$h" >"$d/.listen-before"
    nsenter -t "$a" -n -m -u -p -- /usr/sbin/sshd -f "$d/sshd_config" -E "$d/sshd.log" \
        </dev/null >>"$d/sshd.out" 2>&1 || die "sshd of $h failed to start: $(tail -n 5 "$d/sshd.out" "$d/sshd.log" 2>/dev/null)"
}

sshd_wait() { # host: wait until the new listener is listening, record its pid
    local h=$1 d a before deadline p found=""
    d=$(hdir "$h"); a=$(require_anchor "$h") || exit 1
    before=$(cat "$d/.listen-before")
    deadline=$(($(now_ms) + 5000))
    while :; do
        if (($(listening_count "$h") > before)); then
            for p in $(host_pids_named "$h" sshd); do
                [[ $(proc_ppid "$p") == "$a" ]] && found=$p && break
            done
            [[ -n $found ]] && break
        fi
        (($(now_ms) < deadline)) || die "sshd of $h not listening after 5 s: $(tail -n 5 "$d/sshd.log" 2>/dev/null)"
        sleep 0.01
    done
    echo "$found" >"$d/sshd.pid"
    rm -f "$d/.listen-before"
}

write_client_files() {
    local h a
    : >"$LAB_DIR/known_hosts"
    for h in "${HOSTS[@]}"; do
        read -r t k _ <"$(hdir "$h")/ssh_host_ed25519_key.pub"
        echo "${ADDR[$h]} $t $k" >>"$LAB_DIR/known_hosts"
    done
    cp "$LAB_DIR/known_hosts" "$LAB_DIR/known_hosts.orig"
    {
        echo "# generated by tests/lab/lab.sh: ssh -F $LAB_DIR/ssh_config prod hostname"
        for h in "${HOSTS[@]}"; do
            echo
            echo "Host $h"
            echo "  HostName ${ADDR[$h]}"
            echo "  Port 22"
            echo "  User root"
            echo "  IdentityFile $LAB_DIR/client/id_ed25519"
            echo "  IdentitiesOnly yes"
            echo "  UserKnownHostsFile $LAB_DIR/known_hosts"
            echo "  GlobalKnownHostsFile /dev/null"
            echo "  StrictHostKeyChecking yes"
            echo "  UpdateHostKeys no"
            echo "  BatchMode yes"
            echo "  ConnectTimeout 3"
            echo "  ControlMaster no"
            [[ ${ROLE[$h]} == bastion ]] || echo "  ProxyJump bastion"
        done
    } >"$LAB_DIR/ssh_config"
    {
        cat <<EOF
# generated by tests/lab/lab.sh (the Vigie test lab)
[site]
name = "lab"
refresh = "2s"
timezone = "Europe/Paris"

[ssh]
user = "root"
identity = "$LAB_DIR/client/id_ed25519"
known_hosts = "$LAB_DIR/known_hosts"
connect_timeout = "3s"
command_timeout = "10s"

# The lab's hosts are namespaces of one machine: their CPU is the test runner's own, busy
# compiling and running tests, so it is not judged here (thresholds have unit tests).
[thresholds]
cpu = { warn = "none" }

# Their root filesystem is the test machine's own too: how full the runner's disk is says
# nothing of the lab (the tests fill a host's own /srv or /var/backups tmpfs instead).
[thresholds.mounts."/"]
warn = "none"
crit = "none"
EOF
        for h in "${HOSTS[@]}"; do
            echo
            echo "[[hosts]]"
            echo "name = \"$h\""
            echo "address = \"${ADDR[$h]}\""
            echo "role = \"${ROLE[$h]}\""
            echo "datacenter = \"${DC[$h]}\""
            [[ ${ROLE[$h]} == bastion ]] || echo 'jump = "bastion"'
            if [[ $h == prod ]]; then
                echo 'processes = ["sshd", "labwatchd"]'
            else
                echo 'processes = ["sshd"]'
            fi
        done
    } >"$LAB_DIR/vigie.toml"
}

summary() {
    cat <<EOF
Vigie lab is up (LAB_DIR=$LAB_DIR)
  hosts:       bastion 10.77.0.10 (dmz)  prod 10.77.1.11, backup-a 10.77.1.12, dns 10.77.1.53 (dc1)
               backup-b 10.77.2.21, drp 10.77.2.22 (dc2); only the bastion (and dns port 53) reachable from here
  servers:     prod: nginx, vsftpd, postfix, mariadb (primary), postgresql (primary, database app)
               drp: nginx, mariadb (replica of prod), postgresql (standby of prod); dns: knot
  dns:         dig @${ADDR[$DNS_HOST]} www.example.test   TSIG key: $LAB_DIR/tsig.key
  transfers:   $LAB_DIR/transfer_ssh_config (lab.sh exec backup-a ssh -F $LAB_DIR/transfer_ssh_config drp true)
  config:      $LAB_DIR/vigie.toml
  ssh config:  $LAB_DIR/ssh_config      (try: ssh -F $LAB_DIR/ssh_config prod hostname)
  known_hosts: $LAB_DIR/known_hosts
  identity:    $LAB_DIR/client/id_ed25519
  sshd logs:   $LAB_DIR/hosts/HOST/sshd.log
  shell:       $HERE/lab.sh exec prod bash
  export LAB_DIR=$LAB_DIR
EOF
}

# Permanent ARP entries everywhere (all MACs are fixed): no ARP resolution can fail while a link
# is cut and then answer "No route to host" for a while after `restore`.
static_neighbours() {
    local h p n
    {
        for h in "${HOSTS[@]}"; do
            echo "neigh replace ${ADDR[$h]} lladdr $(mac_of "$h" host) dev br-${DC[$h]} nud permanent"
        done
        echo "neigh replace $ROOT_ADDR lladdr 02:77:ff:00:00:01 dev $RTR_IF nud permanent"
    } | ip -n "$NET" -batch -
    ip neigh replace "$RTR_ADDR" lladdr 02:77:ff:00:00:02 dev "$ROOT_IF" nud permanent
    for h in "${HOSTS[@]}"; do
        n=${DCNUM[${DC[$h]}]}
        {
            echo "neigh replace 10.77.$n.1 lladdr 02:77:00:0$n:00:fe dev eth0 nud permanent"
            for p in "${HOSTS[@]}"; do
                if [[ $p != "$h" && ${DC[$p]} == "${DC[$h]}" ]]; then
                    echo "neigh replace ${ADDR[$p]} lladdr $(mac_of "$p" host) dev eth0 nud permanent"
                fi
            done
        } | ip -n "$NS_PREFIX$h" -batch -
    done
}

cmd_up() {
    need_root
    local t0 h d dc n a
    t0=$(now_ms)
    for c in sshd ssh ssh-keygen ip unshare nsenter setsid fallocate df rsync psql pg_dump runuser \
        nginx vsftpd postfix mariadbd mariadb-install-db knotd kdig curl; do
        command -v "$c" >/dev/null || { bash "$HERE/install-deps.sh"; break; }
    done
    [[ -x $PG_BIN/initdb ]] || { bash "$HERE/install-deps.sh"; PG_BIN=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin | sort -V | tail -n 1); }
    QUIET=1 cmd_down
    mkdir -p "$LAB_DIR"
    # Everything of the lab lives in memory: on this machine's disk, initdb takes 1.3 s instead of
    # 0.4 s, pg_basebackup and mariadb-install-db several times longer. Gone with `down`.
    mount -t tmpfs -o "size=$LAB_DIR_SIZE,mode=0755" "$LAB_TMPFS" "$LAB_DIR"
    : >"$LAB_DIR/.vigie-lab"
    mkdir -p "$LAB_DIR/client" "$LAB_DIR/transfer"
    for h in "${HOSTS[@]}"; do mkdir -p "$(hdir "$h")/bin" "$(hdir "$h")/proc"; done

    # keys: one client key, one host key per host
    ssh-keygen -q -t ed25519 -N '' -C vigie-lab-client -f "$LAB_DIR/client/id_ed25519" &
    ssh-keygen -q -t ed25519 -N '' -C vigie-lab-transfer -f "$LAB_DIR/transfer/id_ed25519" &
    for h in "${HOSTS[@]}"; do
        ssh-keygen -q -t ed25519 -N '' -C "vigie-lab-$h" -f "$(hdir "$h")/ssh_host_ed25519_key" &
    done
    wait
    cp "$LAB_DIR/client/id_ed25519.pub" "$LAB_DIR/client/authorized_keys"
    # prod's PostgreSQL cluster: initdb (~1 s) runs while the network is built
    pg_initdb_bg prod &

    # root namespace: lab traffic never leaves the machine
    ip route add unreachable "$LAB_RANGE"

    # the router
    ip netns add "$NET"
    echo "$NET $(netns_inode "$NET")" >>"$LAB_DIR/netns.inodes"
    ip netns exec "$NET" sh -c 'echo 1 >/proc/sys/net/ipv4/ip_forward
        echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6; echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6'
    {
        echo "link set lo up"
        for dc in "${DCS[@]}"; do
            n=${DCNUM[$dc]}
            echo "link add br-$dc address 02:77:00:0$n:00:fe type bridge stp_state 0 forward_delay 0"
            echo "addr add 10.77.$n.1/24 dev br-$dc"
            echo "link set br-$dc up"
        done
    } | ip -n "$NET" -batch -
    ip link add "$ROOT_IF" address 02:77:ff:00:00:01 type veth peer name "$RTR_IF" address 02:77:ff:00:00:02 netns "$NET"
    echo 1 >/proc/sys/net/ipv6/conf/"$ROOT_IF"/disable_ipv6
    ip addr add "$ROOT_ADDR/30" dev "$ROOT_IF"
    ip link set "$ROOT_IF" up
    {
        echo "addr add $RTR_ADDR/30 dev $RTR_IF"
        echo "link set $RTR_IF up"
        # the root namespace may reach the DMZ only
        echo "rule add iif $RTR_IF to 10.77.1.0/24 prohibit pref $PREF_ROOT_ISOLATION"
        echo "rule add iif $RTR_IF to 10.77.2.0/24 prohibit pref $PREF_ROOT_ISOLATION"
    } | ip -n "$NET" -batch -
    ip route add 10.77.0.0/24 via "$RTR_ADDR" dev "$ROOT_IF"
    dns_open_root

    # the hosts
    for h in "${HOSTS[@]}"; do
        ip netns add "$NS_PREFIX$h"
        echo "$NS_PREFIX$h $(netns_inode "$NS_PREFIX$h")" >>"$LAB_DIR/netns.inodes"
        n=${DCNUM[${DC[$h]}]}
        ip -n "$NET" link add "$(rif "$h")" address "$(mac_of "$h" router)" type veth \
            peer name eth0 address "$(mac_of "$h" host)" netns "$NS_PREFIX$h"
        ip -n "$NET" link set "$(rif "$h")" master "br-${DC[$h]}" up
        ip netns exec "$NS_PREFIX$h" sh -c 'echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6; echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6'
        printf '%s\n' "link set lo up" "addr add ${ADDR[$h]}/24 dev eth0" "link set eth0 up" \
            "route add default via 10.77.$n.1" | ip -n "$NS_PREFIX$h" -batch -
        start_anchor "$h"
    done
    static_neighbours
    for h in "${HOSTS[@]}"; do
        find_anchor "$h"
        sshd_config "$h" >"$(hdir "$h")/sshd_config"
    done
    # the application servers start now, in parallel with the sshds
    local t_apps
    t_apps=$(now_ms)
    apps_start
    for h in "${HOSTS[@]}"; do sshd_launch "$h"; done
    for h in "${HOSTS[@]}"; do sshd_wait "$h"; done

    write_client_files
    write_transfer_files
    cmd_proc_start prod labwatchd >/dev/null
    apps_wait
    echo "servers-total $(($(now_ms) - t_apps)) ms" >>"$LAB_DIR/up-times.txt"
    summary >"$LAB_DIR/summary.txt"
    cat >"$LAB_DIR/lab.env" <<EOF
LAB_DIR=$LAB_DIR
VIGIE_LAB_CONFIG=$LAB_DIR/vigie.toml
VIGIE_LAB_SSH_CONFIG=$LAB_DIR/ssh_config
VIGIE_LAB_KNOWN_HOSTS=$LAB_DIR/known_hosts
EOF
    summary
    echo "  up in $(($(now_ms) - t0)) ms (servers, in parallel: $(sort "$LAB_DIR/up-times.txt" | paste -sd, | sed 's/,/, /g'))"
}

# ---------------------------------------------------------------- faults

cmd_cut() { check_host "${1:-}"; ip -n "$NET" link set "$(rif "$1")" down; }
cmd_restore() { check_host "${1:-}"; ip -n "$NET" link set "$(rif "$1")" up; }

cmd_freeze() {
    check_host "${1:-}"
    local h=$1 p todo
    # the listener first, so that it forks no new child while we stop the others
    p=$(sshd_pid "$h") && kill -STOP "$p"
    for _ in $(seq 1 50); do
        todo=()
        for p in $(host_pids_named "$h" sshd); do
            [[ $(proc_state "$p") == T ]] || todo+=("$p")
        done
        ((${#todo[@]} == 0)) && return 0
        kill -STOP "${todo[@]}" 2>/dev/null || true
        sleep 0.005
    done
    die "could not stop every sshd of $h"
}

cmd_thaw() {
    check_host "${1:-}"
    local p
    for p in $(host_pids_named "$1" sshd); do kill -CONT "$p" 2>/dev/null || true; done
}

mount_of() { # host dir -> checks that dir is a mount point of the host
    in_host "$1" findmnt -n -o TARGET --mountpoint "$2" >/dev/null 2>&1 ||
        die "$2 is not a mount point on $1 (use /srv or /var/backups)"
}

cmd_fill() {
    check_host "${1:-}"
    local h=$1 m=${2:-} pct=${3:-}
    [[ $m == /* ]] || die "usage: fill HOST MOUNT PERCENT"
    [[ $pct =~ ^[0-9]+$ ]] && ((pct <= 100)) || die "PERCENT must be an integer 0..100"
    mount_of "$h" "$m"
    # shellcheck disable=SC2016
    in_host "$h" bash -c '
        set -euo pipefail
        m=$1 pct=$2 f=$1/$3
        rm -f "$f"
        read -r size used avail < <(df -B1 --output=size,used,avail "$m" | tail -n 1)
        # df shows Use% = used/(used+avail) rounded up: use pct of the size, in whole pages,
        # so that df shows exactly PERCENT (or more, when the mount already holds more)
        target=$(( size * pct / 100 / 4096 * 4096 ))
        need=$(( target - used ))
        (( need > avail )) && need=$avail
        if (( need > 0 )); then
            fallocate -l "$need" "$f" 2>/dev/null || head -c "$need" /dev/zero >"$f" 2>/dev/null || true
        fi
        df -h --output=target,size,used,avail,pcent "$m" | tail -n 1
    ' fill "$m" "$pct" "$FILL_FILE"
}

cmd_unfill() {
    check_host "${1:-}"
    local h=$1 m=${2:-}
    [[ $m == /* ]] || die "usage: unfill HOST MOUNT"
    in_host "$h" rm -f "$m/$FILL_FILE"
}

cmd_sshd_stop() {
    check_host "${1:-}"
    local p
    if p=$(sshd_pid "$1"); then
        # like `systemctl stop ssh`: the listener goes, established sessions stay
        kill -TERM "$p" 2>/dev/null || true
        kill -CONT "$p" 2>/dev/null || true
        WAIT_GONE_MS=2000 wait_gone "$p" 2>/dev/null || kill_wait "$p"
    fi
    rm -f "$(hdir "$1")/sshd.pid"
}

cmd_sshd_start() {
    check_host "${1:-}"
    if sshd_pid "$1" >/dev/null; then return 0; fi
    sshd_launch "$1"
    sshd_wait "$1"
}

cmd_proc_start() {
    check_host "${1:-}"
    local h=$1 name=${2:-} bin p deadline
    [[ $name =~ ^[A-Za-z0-9_.+-]+$ ]] || die "usage: proc-start HOST NAME"
    bin=$(hdir "$h")/bin/$name
    if [[ -n $(host_pids_named "$h" "$name") ]]; then
        host_pids_named "$h" "$name" | head -n 1
        return 0
    fi
    [[ -x $bin ]] || cp /bin/sleep "$bin"
    # setsid -f forks: the process is adopted by the host's PID 1, like a daemon
    in_host "$h" setsid -f "$bin" infinity </dev/null >/dev/null 2>&1
    deadline=$(($(now_ms) + 3000))
    until p=$(host_pids_named "$h" "$name" | head -n 1) && [[ -n $p ]]; do
        (($(now_ms) < deadline)) || die "$name did not start on $h"
        sleep 0.01
    done
    echo "$p" >"$(hdir "$h")/proc/$name.pid"
    echo "$p"
}

cmd_proc_kill() {
    check_host "${1:-}"
    local h=$1 name=${2:-} pids=()
    [[ -n $name ]] || die "usage: proc-kill HOST NAME"
    mapfile -t pids < <(host_pids_named "$h" "$name")
    kill_wait "${pids[@]}"
    rm -f "$(hdir "$h")/proc/$name.pid"
}

forward_rules() { # add|del
    printf '%s\n' \
        "rule $1 iif br-dc1 to 10.77.2.0/24 blackhole pref $PREF_FORWARD_OFF" \
        "rule $1 iif br-dc2 to 10.77.1.0/24 blackhole pref $PREF_FORWARD_OFF"
}

cmd_forward_off() {
    cmd_forward_on
    forward_rules add | ip -n "$NET" -batch -
}

cmd_forward_on() {
    while ip -n "$NET" rule del pref "$PREF_FORWARD_OFF" 2>/dev/null; do :; done
}

set_known_host() { # host pubkey-file
    local h=$1 t k tmp
    read -r t k _ <"$2"
    tmp=$LAB_DIR/known_hosts.tmp.$$
    # replace the line in place (same position), or append it
    awk -v a="${ADDR[$h]}" -v l="${ADDR[$h]} $t $k" \
        '$1 == a { if (!done) print l; done = 1; next } { print } END { if (!done) print l }' \
        "$LAB_DIR/known_hosts" >"$tmp"
    mv -f "$tmp" "$LAB_DIR/known_hosts"
}

cmd_wrong_hostkey() {
    check_host "${1:-}"
    local d
    d=$(hdir "$1")
    rm -f "$d/wrong_key" "$d/wrong_key.pub"
    ssh-keygen -q -t ed25519 -N '' -C "vigie-lab-wrong-$1" -f "$d/wrong_key"
    set_known_host "$1" "$d/wrong_key.pub"
}

cmd_right_hostkey() {
    check_host "${1:-}"
    set_known_host "$1" "$(hdir "$1")/ssh_host_ed25519_key.pub"
}

# Undo every fault: links up, sshd thawed and running, fills removed, forwarding on,
# right host keys, labwatchd and PostgreSQL running on prod, every application server running,
# replicas healed, postfix's queue empty. Cheap; the Rust helper runs it before each test.
cmd_reset() {
    local h
    {
        for h in "${HOSTS[@]}"; do echo "link set $(rif "$h") up"; done
    } | ip -n "$NET" -batch -
    cmd_forward_on
    for h in "${HOSTS[@]}"; do
        require_anchor "$h" >/dev/null
        cmd_thaw "$h"
        rm -f "/proc/$(anchor_pid "$h")/root/srv/$FILL_FILE" "/proc/$(anchor_pid "$h")/root/var/backups/$FILL_FILE"
        cmd_sshd_start "$h"
    done
    cp "$LAB_DIR/known_hosts.orig" "$LAB_DIR/known_hosts" 2>/dev/null || {
        for h in "${HOSTS[@]}"; do cmd_right_hostkey "$h"; done
    }
    cmd_proc_start prod labwatchd >/dev/null
    if [[ -f $(pg_dir prod)/data/PG_VERSION ]]; then cmd_pg_start prod; fi
    apps_reset
}

# ---------------------------------------------------------------- status

cmd_status() {
    local h ok=0 a s st link fz
    [[ -f $LAB_DIR/lab.env ]] || { echo "lab: down (no $LAB_DIR/lab.env)"; return 1; }
    printf '%-9s %-11s %-6s %-8s %-14s %-5s %s\n' HOST ADDRESS ANCHOR SSHD SSHD-STATE LINK PROCESSES
    for h in "${HOSTS[@]}"; do
        a=$(anchor_pid "$h") || { a=dead; ok=1; }
        if s=$(sshd_pid "$h"); then
            st=$(proc_state "$s"); fz=running; [[ $st == T ]] && fz=frozen
        else
            s=-; fz=stopped; ok=1
        fi
        link=$(ip -n "$NET" -o link show "$(rif "$h")" 2>/dev/null | grep -q '[<,]UP[,>]' && echo up || echo down)
        local procs=""
        [[ $a != dead ]] && procs=$(for p in $(host_pids "$h"); do proc_comm "$p"; done | sort | uniq -c | awk '{printf "%s%s", (NR>1?",":""), $2 ($1>1?"x"$1:"")}')
        printf '%-9s %-11s %-6s %-8s %-14s %-5s %s\n' "$h" "${ADDR[$h]}" "$a" "$s" "$fz" "$link" "$procs"
    done
    if ip -n "$NET" rule show pref "$PREF_FORWARD_OFF" 2>/dev/null | grep -q .; then
        echo "forwarding dc1<->dc2: OFF"
    else
        echo "forwarding dc1<->dc2: on"
    fi
    cmp -s "$LAB_DIR/known_hosts" "$LAB_DIR/known_hosts.orig" || echo "known_hosts: MODIFIED (wrong-hostkey in effect?)"
    echo "servers:"
    apps_status | sed 's/^/  /' || ok=1
    return $ok
}

# Quick end-to-end check: ssh to every host with OpenSSH through the bastion.
cmd_check() {
    local h out rc=0
    for h in "${HOSTS[@]}"; do
        if out=$(timeout 10 ssh -F "$LAB_DIR/ssh_config" "$h" hostname 2>&1) && [[ $out == "$h" ]]; then
            echo "$h: ok"
        else
            echo "$h: FAILED: $out"; rc=1
        fi
    done
    apps_check || rc=1
    return $rc
}

usage() {
    cat <<EOF
usage: $0 COMMAND [ARGS]      (LAB_DIR=$LAB_DIR)
  up | down | status | check | reset
  exec HOST [CMD...]            run CMD (default: bash) in every namespace of HOST
  cut HOST | restore HOST       link down/up on the router side of HOST's veth
  freeze HOST | thaw HOST       SIGSTOP/SIGCONT every sshd process of HOST
  fill HOST MOUNT PCT | unfill HOST MOUNT
  sshd-stop HOST | sshd-start HOST
  proc-start HOST NAME | proc-kill HOST NAME
  pg-start HOST | pg-stop HOST  PostgreSQL of HOST (up starts prod's, with database app)
  svc-stop HOST NAME | svc-start HOST NAME
                                stop (as its init script would) or start a server: prod: nginx,
                                vsftpd, postfix, mariadb, postgresql; drp: nginx, mariadb,
                                postgresql (the standby); dns: knot
  repl-break drp mysql [error|stop]
                                error: a duplicate key stops the replica's SQL thread (errno 1062);
                                stop: STOP REPLICA SQL_THREAD
  repl-break drp postgresql     the standby's primary_conninfo points at a dead port
  repl-lag drp mysql [SECONDS]  MASTER_DELAY 1 h and a write dated SECONDS (120) ago on prod:
                                Seconds_Behind_Master = SECONDS at once, growing
  repl-lag drp postgresql       recovery_min_apply_delay 1 h and a commit on prod: received,
                                not replayed
  repl-heal drp mysql|postgresql
                                undo repl-break and repl-lag, wait until caught up
  mail-queue prod N             queue N mails that stay deferred (their relay refuses connections)
  forward-off | forward-on      stop/restore forwarding between dc1 and dc2
  wrong-hostkey HOST | right-hostkey HOST
hosts: ${HOSTS[*]}
EOF
}

main() {
    local cmd=${1:-}
    (($#)) && shift
    case $cmd in
        up) cmd_up ;;
        down) cmd_down ;;
        status) cmd_status || exit 1 ;;
        check) cmd_check || exit 1 ;;
        reset) need_root; cmd_reset ;;
        exec)
            check_host "${1:-}"
            local h=$1; shift
            (($#)) || set -- bash
            local a
            a=$(require_anchor "$h") || exit 1
            # exec: CMD's exit status is ours, without the ERR trap's comment
            exec nsenter -t "$a" -n -m -u -p -- "$@" ;;
        cut) need_root; cmd_cut "$@" ;;
        restore) need_root; cmd_restore "$@" ;;
        freeze) need_root; cmd_freeze "$@" ;;
        thaw) need_root; cmd_thaw "$@" ;;
        fill) need_root; cmd_fill "$@" ;;
        unfill) need_root; cmd_unfill "$@" ;;
        sshd-stop) need_root; cmd_sshd_stop "$@" ;;
        sshd-start) need_root; cmd_sshd_start "$@" ;;
        proc-start) need_root; cmd_proc_start "$@" ;;
        proc-kill) need_root; cmd_proc_kill "$@" ;;
        pg-start) need_root; cmd_pg_start "$@" ;;
        pg-stop) need_root; cmd_pg_stop "$@" ;;
        svc-start) need_root; cmd_svc_start "$@" ;;
        svc-stop) need_root; cmd_svc_stop "$@" ;;
        repl-break) need_root; cmd_repl break "$@" ;;
        repl-heal) need_root; cmd_repl heal "$@" ;;
        repl-lag) need_root; cmd_repl lag "$@" ;;
        mail-queue) need_root; cmd_mail_queue "$@" ;;
        forward-off) need_root; cmd_forward_off ;;
        forward-on) need_root; cmd_forward_on ;;
        wrong-hostkey) need_root; cmd_wrong_hostkey "$@" ;;
        right-hostkey) need_root; cmd_right_hostkey "$@" ;;
        help | -h | --help) usage ;;
        *) usage >&2; exit 2 ;;
    esac
}

main "$@"
