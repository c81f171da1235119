# Vigie probe. Sent on stdin to `env LC_ALL=C LANG=C /bin/sh -s -- NONCE [FLAG...]`, one exec
# per host per refresh. POSIX sh only: it must run on any Debian or RHEL host as it is.
# Every section is framed by markers carrying NONCE (random per exec, so remote output cannot
# forge a frame) and reports its exit status and elapsed time.
# FLAGS: slow = also run the slow sections (SMART, quotas); cpu2 = take the second CPU sample
# after a short pause (first refresh of a host: there is no earlier sample to compare with).
N=$1
shift
# The clock first, before anything forks: the console dates its arrival to measure drift.
_clk=$(date -u +%s.%N)
printf '@@VIGIE %s BEGIN clock\n%s\n@@VIGIE %s END clock rc=0 ms=0\n' "$N" "$_clk" "$N"
SLOW=0
CPU2=0
for f in "$@"; do
    case $f in
        slow) SLOW=1 ;;
        cpu2) CPU2=1 ;;
    esac
done
export LC_ALL=C LANG=C
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH
export PATH

have() { command -v "$1" >/dev/null 2>&1; }

# Root-only tools go through sudo -n (never a password prompt) when we are not root.
SUDO=
if [ "$(id -u)" != 0 ] && have sudo; then SUDO="sudo -n"; fi
# Sections that can hang (NFS, a dying disk, a stuck daemon) run under timeout.
T=
if have timeout; then T="timeout -k 2"; fi

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
    [ "$CPU2" = 1 ] && { sleep 0.3 2>/dev/null || sleep 1; }
    s_stat
}

s_loadavg() { cat /proc/loadavg; }

s_meminfo() { cat /proc/meminfo; }

s_df() {
    _d=$($T 5 df -k --output=source,fstype,size,used,avail,itotal,iused,iavail,target 2>&1)
    _r=$?
    case $_d in
        Filesystem*Type*)
            printf '%s\n' "$_d"
            return $_r
            ;;
    esac
    [ "$_r" = 124 ] && { printf '%s\n' "$_d"; return 124; }
    # Old or non-GNU df: POSIX output for blocks, then inodes.
    $T 5 df -P -k
    _r=$?
    echo "--inodes--"
    $T 5 df -P -i
    return $_r
}

s_mdstat() {
    if [ -r /proc/mdstat ]; then cat /proc/mdstat; else echo "VIGIE_ABSENT"; fi
}

s_smart() {
    have smartctl || { not_installed smartctl; return 127; }
    _scan=$($T 10 $SUDO smartctl --scan-open 2>&1)
    _r=$?
    if [ "$_r" != 0 ]; then
        printf '%s\n' "$_scan"
        return $_r
    fi
    # smartctl 7+ speaks JSON; 6.x only text (the parser reads both).
    _j=-j
    smartctl -j -V >/dev/null 2>&1 || _j=
    printf '%s\n' "$_scan" | while read -r _dev _rest; do
        case $_dev in /dev/*) ;; *) continue ;; esac
        _type=$(printf '%s\n' "$_rest" | sed -n 's/^-d \([^ ]*\).*/\1/p')
        echo "@@dev $_dev ${_type:-auto}"
        if [ -n "$_type" ]; then
            $T 10 $SUDO smartctl $_j -H -A -i -d "$_type" "$_dev"
        else
            $T 10 $SUDO smartctl $_j -H -A -i "$_dev"
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
    $T 20 $SUDO repquota -a -u -p 2>/dev/null || $T 20 $SUDO repquota -a -u
}

s_timesync() {
    if have timedatectl; then
        _v=$($T 3 timedatectl show -p NTPSynchronized --value 2>/dev/null)
        if [ -n "$_v" ]; then
            echo "timedatectl NTPSynchronized=$_v"
            return 0
        fi
    fi
    if have chronyc; then
        _v=$($T 3 chronyc -n tracking 2>/dev/null) && {
            echo "chronyc"
            printf '%s\n' "$_v"
            return 0
        }
    fi
    if have ntpstat; then
        $T 3 ntpstat >/dev/null 2>&1
        echo "ntpstat rc=$?"
        return 0
    fi
    echo "VIGIE_UNAVAILABLE no running time service answered (timedatectl, chronyc, ntpstat)"
    return 0
}

s_procs() { ps -A -o comm=; }

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
if [ "$SLOW" = 1 ]; then
    sec smart s_smart
    sec quota s_quota
fi
sec stat2 s_stat2
