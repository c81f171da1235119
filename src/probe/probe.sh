# Vigie probe. Sent on stdin to `env LC_ALL=C LANG=C /bin/sh -s`, one exec per host per
# refresh, after a few assignment lines the console prepends (so nothing is on the command
# line, where `ps` would show the nonce to local users):
#   N=<nonce>     random hex, new every exec: frames every section, so remote output cannot
#                 forge or close one
#   SLOW=0|1      also run the slow sections (SMART, quotas)
#   CPU2=0|1      take the second CPU sample after a short pause (no earlier sample exists)
#   SUDO=0|1      run root-only tools through `sudo -n` when not root (opt-in: a refused sudo
#                 is logged and mailed as an incident on most systems)
# POSIX sh only: it must run on any Debian or RHEL host as it is.

# The clock first, before anything forks: the console dates its arrival to measure drift.
_clk=$(date -u +%s.%N)
printf '@@VIGIE %s BEGIN clock\n%s\n@@VIGIE %s END clock rc=0 ms=0\n' "$N" "$_clk" "$N"
export LC_ALL=C LANG=C
# The login PATH first (an operator's own tools win); the sbin directories after it, where
# a non-root login PATH often lacks smartctl and repquota.
PATH=${PATH:+$PATH:}/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH

have() { command -v "$1" >/dev/null 2>&1; }

# Root-only tools run as `$_sudo tool` (unquoted on purpose: empty, or two words).
_sudo=
if [ "${SUDO:-0}" = 1 ] && [ "$(id -u)" != 0 ] && have sudo; then _sudo="sudo -n"; fi

# Sections that can hang (NFS, a dying disk, a stuck daemon) run under `t SECONDS CMD...`;
# without timeout(1) they simply run.
if have timeout; then
    t() { timeout -k 2 "$@"; }
else
    t() { shift; "$@"; }
fi

# Centiseconds since boot into _cs, without forking (elapsed time of each section).
cs() {
    _cs=0
    if [ -r /proc/uptime ]; then
        read -r _u _rest </proc/uptime
        _cs=$((${_u%.*} * 100 + 1${_u#*.} - 100))
    fi
}

sec() {
    _n=$1
    shift
    cs
    _t0=$_cs
    printf '@@VIGIE %s BEGIN %s\n' "$N" "$_n"
    _o=$("$@" 2>&1)
    _rc=$?
    [ -n "$_o" ] && printf '%s\n' "$_o"
    cs
    printf '@@VIGIE %s END %s rc=%s ms=%s\n' "$N" "$_n" "$_rc" "$(((_cs - _t0) * 10))"
}

not_installed() {
    echo "VIGIE_NOT_INSTALLED $*"
    return 127
}

s_host() {
    uname -n
    uname -sr
    if [ -r /etc/os-release ]; then (. /etc/os-release && echo "${PRETTY_NAME:-$NAME}"); fi
}

s_uptime() {
    cat /proc/uptime
    cat /proc/sys/kernel/random/boot_id 2>/dev/null
}

s_cpus() { getconf _NPROCESSORS_ONLN 2>/dev/null || nproc 2>/dev/null || grep -c '^processor' /proc/cpuinfo; }

s_stat() {
    while read -r _l; do
        case $_l in "cpu "*) echo "$_l"; return 0 ;; esac
    done </proc/stat
    return 1
}

s_stat2() {
    # Fractional sleep is not POSIX: a strict sleep waits a whole second instead.
    [ "${CPU2:-0}" = 1 ] && { sleep 0.3 2>/dev/null || sleep 1; }
    s_stat
}

s_loadavg() { cat /proc/loadavg; }

s_meminfo() { cat /proc/meminfo; }

s_df() {
    _d=$(t 5 df -k --output=source,fstype,size,used,avail,itotal,iused,iavail,target 2>&1)
    _r=$?
    # df prints its errors (a stale NFS mount) before the table: look for the header anywhere.
    case $_d in
        *Filesystem*Type*)
            printf '%s\n' "$_d"
            return $_r
            ;;
    esac
    [ "$_r" = 124 ] && { printf '%s\n' "$_d"; return 124; }
    # Old or non-GNU df: POSIX output for blocks, then inodes, then the mount table for the
    # filesystem types POSIX df does not print.
    t 5 df -P -k
    _r=$?
    echo "--inodes--"
    t 5 df -P -i
    echo "--mounts--"
    cat /proc/mounts
    return $_r
}

s_mdstat() {
    if [ -r /proc/mdstat ]; then cat /proc/mdstat; else echo "VIGIE_ABSENT"; fi
}

s_smart() {
    have smartctl || { not_installed smartctl; return 127; }
    _scan=$(t 10 $_sudo smartctl --scan-open 2>&1)
    _r=$?
    if [ "$_r" != 0 ]; then
        printf '%s\n' "$_scan"
        return $_r
    fi
    # smartctl 7+ speaks JSON; 6.x only text (the parser reads both).
    _j=-j
    smartctl -j -V >/dev/null 2>&1 || _j=
    # One budget for all disks: a host with many dying disks must not outlast the refresh.
    cs
    _start=$_cs
    printf '%s\n' "$_scan" | while read -r _dev _rest; do
        case $_dev in
            /dev/*) ;;
            '#'*)
                # Devices --scan-open could not open (permission denied, no such device).
                echo "@@scan $_dev $_rest"
                continue
                ;;
            *) continue ;;
        esac
        cs
        if [ $((_cs - _start)) -gt 2000 ]; then
            echo "@@skipped $_dev (SMART time budget of 20 s spent)"
            continue
        fi
        _type=$(printf '%s\n' "$_rest" | sed -n 's/^-d \([^ ]*\).*/\1/p')
        echo "@@dev $_dev ${_type:-auto}"
        # -n standby: never spin up a sleeping disk just to read it (exit bit 1 + STANDBY).
        if [ -n "$_type" ]; then
            t 10 $_sudo smartctl $_j -n standby -H -A -i -d "$_type" "$_dev"
        else
            t 10 $_sudo smartctl $_j -n standby -H -A -i "$_dev"
        fi
        _r=$?
        # A newline first: smartctl killed mid-line must not swallow the status.
        printf '\n@@rc %s\n' "$_r"
    done
}

s_quota() {
    grep -Eq '[ ,](usrquota|usrjquota=[^ ,]*|quota|uquota)[ ,]' /proc/mounts || { echo "VIGIE_ABSENT"; return 0; }
    have repquota || { not_installed repquota; return 127; }
    # -p (grace as epoch seconds) is quota-tools 4; 3.x prints grace as text.
    t 20 $_sudo repquota -a -u -p 2>/dev/null || t 20 $_sudo repquota -a -u
}

s_timesync() {
    if have timedatectl; then
        _v=$(t 3 timedatectl show -p NTPSynchronized --value 2>/dev/null)
        if [ -n "$_v" ]; then
            echo "timedatectl NTPSynchronized=$_v"
            return 0
        fi
    fi
    if have chronyc; then
        _v=$(t 3 chronyc -n tracking 2>/dev/null) && {
            echo "chronyc"
            printf '%s\n' "$_v"
            return 0
        }
    fi
    if have ntpstat; then
        t 3 ntpstat >/dev/null 2>&1
        echo "ntpstat rc=$?"
        return 0
    fi
    echo "VIGIE_UNAVAILABLE no running time service answered (timedatectl, chronyc, ntpstat)"
    return 0
}

# Command names, then the command lines of sshd processes only: Vigie's own session
# ("sshd: root@notty") is an sshd too, and must not pass for the listener.
s_procs() {
    # The state first: a zombie (Z) still has its name but is not running.
    ps -A -o stat=,comm=
    _r=$?
    echo "@@sshd-args"
    ps -C sshd -o args= 2>/dev/null
    return $_r
}

sec stat s_stat
sec host s_host
sec uptime s_uptime
sec cpus s_cpus
sec loadavg s_loadavg
sec meminfo s_meminfo
sec df s_df
sec mdstat s_mdstat
sec timesync s_timesync
sec procs s_procs
if [ "${SLOW:-0}" = 1 ]; then
    sec smart s_smart
    sec quota s_quota
fi
sec stat2 s_stat2
