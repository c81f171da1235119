# Vigie probe. Sent on stdin to `env LC_ALL=C LANG=C /bin/sh -s`, one exec per host per
# refresh, after a few assignment lines the console prepends (so nothing is on the command
# line, where `ps` would show the nonce to local users):
#   N=<nonce>     random hex, new every exec: frames every section, so remote output cannot
#                 forge or close one
#   SLOW=0|1      also run the slow sections (SMART, quotas)
#   CPU2=0|1      take the second CPU sample after a short pause (no earlier sample exists)
#   SUDO=0|1      run root-only tools through `sudo -n` when not root (opt-in: a refused sudo
#                 is logged and mailed as an incident on most systems)
#   VB_COUNT=n    backups to read (SPEC §5), then for each i in 1..n: VB_i_ID (the console's
#                 id, digits), VB_i_FORMAT (files|restic|borg|command), VB_i_PATH,
#                 VB_i_PATTERN, VB_i_COMMAND, VB_i_PASSFILE: values from the configuration,
#                 single-quoted by the console, only ever expanded inside double quotes here
#   SVC='a b'     the applications to probe (apps.sh), words from config::SERVICES
#   REPL='a b'    the replication kinds to read (repl.sh), words from config::REPLICATION_KINDS
# The script is this file, then net.sh, apps.sh and repl.sh, then end.sh (probe::SCRIPT).
# Standard input is the script itself: every command that could read it runs </dev/null.
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

# A part marker inside a section, framed by the nonce like the section itself (parsers find
# it through sections::part): no output of a remote command can forge one.
part() { printf '@@VIGIE %s PART %s\n' "$N" "$1"; }

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
# Backups, one section `backup.<id>` per copy the console asks about. Every section starts
# with the host's clock and zone (borg and backup file names carry local times):
#   now <epoch>
#   tz <date +%z>
#   tzname <$TZ, or the zone /etc/localtime links to, /etc/timezone, /etc/sysconfig/clock>
# then the part `out` (see `part`) and what the tool printed on its standard output, and the
# part `err` and its standard error. A files section adds the part `open` and the names some
# process has open for writing.
# The whole section has a budget of 20 s: each command runs under `t` with what is left.

# Seconds left of the section's budget into _left (at least 1).
vb_left() {
    cs
    _left=$((20 - (_cs - _vb0) / 100))
    [ "$_left" -ge 1 ] || _left=1
}

vb_head() {
    date +'now %s%ntz %z'
    _z=${TZ:-}
    if [ -z "$_z" ] && [ -h /etc/localtime ]; then _z=$(readlink /etc/localtime 2>/dev/null); fi
    if [ -z "$_z" ] && [ -r /etc/timezone ]; then read -r _z </etc/timezone; fi
    if [ -z "$_z" ] && [ -r /etc/sysconfig/clock ]; then
        _z=$(sed -n 's/^ZONE="*\([^"]*\)"*$/\1/p' /etc/sysconfig/clock)
    fi
    _z=${_z#:}
    _z=${_z##*zoneinfo/}
    [ -n "$_z" ] && printf 'tzname %s\n' "$_z"
    return 0
}

# Runs "$@" with its standard output as the section's and its standard error after the part
# `err`;
# returns its status.
vb_split() {
    { _e=$("$@" 2>&1 >&3 3>&-); _r=$?; } 3>&1
    part err
    [ -n "$_e" ] && printf '%s\n' "$_e"
    return $_r
}

# Entries directly under $1 whose name matches the find -name pattern $2, newest first:
#   <birth epoch, 0 or - when unknown> <mtime epoch> <bytes> <f|d> <name>
# A directory's mtime and bytes are those of its whole tree (newest mtime, sum of the blocks:
# one walk, the space du -sk counts), measured for the three newest directories only.
vb_files() {
    [ -e "$1" ] || { echo "VIGIE_UNAVAILABLE path not found"; return 1; }
    [ -d "$1" ] || { echo "VIGIE_UNAVAILABLE path is not a directory"; return 1; }
    if [ ! -r "$1" ] || [ ! -x "$1" ]; then
        echo "VIGIE_UNAVAILABLE permission denied (directory not readable by $(id -un 2>/dev/null))"
        return 1
    fi
    # lsof prints resolved paths without a trailing slash.
    _p=$1
    while [ "${_p%/}" != "$_p" ] && [ "$_p" != / ]; do _p=${_p%/}; done
    _rp=$(cd "$_p" 2>/dev/null && pwd -P)
    _pat=${2:-*}
    _nl='
'
    vb_head
    part out
    vb_left
    # Names holding a newline are no backup and would break the lines: left out.
    _l=$({
        t "$_left" find -H "$_p" -mindepth 1 -maxdepth 1 -name "$_pat" ! -name "*$_nl*" \
            -type f -exec stat -c '%W %Y %s f %n' {} +
        echo "@@rc $?"
        vb_left
        t "$_left" find -H "$_p" -mindepth 1 -maxdepth 1 -name "$_pat" ! -name "*$_nl*" \
            -type d -exec stat -c '%W %Y %s d %n' {} +
        echo "@@rc $?"
    } 2>/dev/null)
    _r=0
    case $_l in *"@@rc 124"* | *"@@rc 137"*) _r=124 ;; esac
    _nd=0
    printf '%s\n' "$_l" | grep -v '^@@rc ' | sort -k2,2nr | head -n 500 |
        while read -r _b _m _s _ty _n; do
            [ -n "$_n" ] || continue
            _n=${_n##*/}
            if [ "$_ty" = d ] && [ "$_nd" -lt 3 ]; then
                _nd=$((_nd + 1))
                vb_left
                _x=$({
                    t "$_left" find "$_p/$_n" -printf '%T@ %k\n' 2>/dev/null
                    echo "@@rc $?"
                } | awk '$1 == "@@rc" { rc = $2; next }
                         $1 + 0 > m { m = $1 + 0 }
                         { k += $2 }
                         END { if (rc == 0 || rc == 1) printf "%.0f %.0f\n", int(m), k * 1024 }')
                if [ -n "$_x" ]; then
                    [ "${_x% *}" -gt "$_m" ] 2>/dev/null && _m=${_x% *}
                    _s=${_x#* }
                else
                    _s=-
                fi
            elif [ "$_ty" = d ]; then
                _s=-
            fi
            printf '%s %s %s %s %s\n' "$_b" "$_m" "$_s" "$_ty" "$_n"
        done
    # An entry some process still has open for writing is no backup yet. lsof sees every
    # process only as root (through sudo when allowed); a directory backup (an rsync'd tree)
    # is open when anything inside it is: +D on the newest directories only, as it walks.
    part open
    if have lsof; then
        vb_left
        _dirs=$(printf '%s\n' "$_l" | grep -v '^@@rc ' | awk '$4 == "d"' | sort -k2,2nr | head -n 2 |
            while read -r _b _m _s _ty _n; do printf '%s\n' "$_n"; done)
        {
            t "$_left" $_sudo lsof -w -n -P -F an +d "$_p" 2>/dev/null
            printf '%s\n' "$_dirs" | while IFS= read -r _d; do
                [ -n "$_d" ] || continue
                vb_left
                t "$_left" $_sudo lsof -w -n -P -F an +D "$_p/$_d" 2>/dev/null
            done
        } | while IFS= read -r _f; do
            case $_f in
                f*) _a= ;;
                a*) _a=${_f#a} ;;
                n"$_p"/* | n"$_rp"/*)
                    # The entry directly under the path: a file, or the tree it lies in.
                    _e=${_f#n"$_p"/}
                    _e=${_e#n"$_rp"/}
                    case $_a in *w* | *u*) printf '%s\n' "${_e%%/*}" ;; esac
                    ;;
            esac
        done | sort -u
    elif have fuser; then
        # fuser -v marks a file open for writing with F: the ten newest files of the last day
        # only, each under what is left of the budget.
        vb_left
        t "$_left" find -H "$_p" -mindepth 1 -maxdepth 1 -name "$_pat" ! -name "*$_nl*" -type f \
            -mmin -1440 -printf '%T@ %p\n' 2>/dev/null | sort -nr | head -n 10 |
            while read -r _m _f; do
                vb_left
                [ "$_left" -gt 1 ] || break
                t 2 $_sudo fuser -v "$_f" 2>&1 | grep -Eq '[[:space:]]F[.a-zA-Z]{4}[[:space:]]' &&
                    printf '%s\n' "${_f##*/}"
            done
        part noopen-dirs
    else
        part noopen
    fi
    return $_r
}

vb_restic() {
    have restic || { not_installed restic; return 127; }
    vb_head
    part out
    [ -n "$2" ] && export RESTIC_PASSWORD_FILE="$2"
    # `snapshots` lists saved snapshots only; --no-lock: never wait on (or block) a backup.
    vb_split t 20 restic -r "$1" snapshots --json --no-lock --latest 200
}

vb_borg() {
    have borg || { not_installed borg; return 127; }
    vb_head
    part out
    if [ -n "$2" ]; then
        # borg splits the pass command itself (shlex): the path travels in the environment.
        export VIGIE_PASSFILE="$2"
        export BORG_PASSCOMMAND='sh -c '\''cat -- "$VIGIE_PASSFILE"'\'
    fi
    # Never wait on a question nobody can answer (there is no terminal): reading is harmless.
    export BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK="${BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK:-yes}"
    export BORG_RELOCATED_REPO_ACCESS_IS_OK="${BORG_RELOCATED_REPO_ACCESS_IS_OK:-yes}"
    # --bypass-lock: a running `borg create` holds the lock for hours; the manifest it last
    # committed is what we want. `{end}` loads each archive: the last 100 only.
    _o=$(vb_split t 20 borg --bypass-lock list --json --format '{end}' --last 100 "$1")
    _r=$?
    case $_o in
        *"unrecognized arguments: --bypass-lock"*)
            vb_left
            vb_split t "$_left" borg list --json --format '{end}' --last 100 "$1"
            ;;
        *)
            printf '%s\n' "$_o"
            return $_r
            ;;
    esac
}

# The configured command prints one backup a line; it runs in the path's directory.
vb_command() {
    [ -n "$2" ] || { echo "VIGIE_UNAVAILABLE no command configured"; return 1; }
    _d=$1
    [ -d "$_d" ] || _d=$(dirname -- "$_d")
    cd "$_d" 2>/dev/null || { echo "VIGIE_UNAVAILABLE cannot enter the backup directory"; return 1; }
    vb_head
    part out
    export VIGIE_BACKUP_PATH="$1"
    vb_split t 20 sh -c "$2"
}

# One backup: $1 is its index among the VB_* assignments. Runs in sec's subshell, so the cd,
# the exports and the variables stay there.
s_backup() {
    cs
    _vb0=$_cs
    eval "_fmt=\${VB_$1_FORMAT-} _p=\${VB_$1_PATH-} _pat=\${VB_$1_PATTERN-} _cmd=\${VB_$1_COMMAND-} _pf=\${VB_$1_PASSFILE-}"
    case $_fmt in
        files) vb_files "$_p" "$_pat" ;;
        restic) vb_restic "$_p" "$_pf" ;;
        borg) vb_borg "$_p" "$_pf" ;;
        command) vb_command "$_p" "$_cmd" ;;
        nul)
            echo "VIGIE_UNAVAILABLE a NUL byte in the configured path, pattern or command"
            return 1
            ;;
        *)
            echo "VIGIE_UNAVAILABLE unknown backup format"
            return 1
            ;;
    esac
}

case ${VB_COUNT:-0} in '' | *[!0-9]*) VB_COUNT=0 ;; esac
_i=1
while [ "$_i" -le "$VB_COUNT" ]; do
    eval "_id=\${VB_${_i}_ID-}"
    case $_id in
        '' | *[!0-9]*) ;;
        # No tool may read the rest of this script from the shared standard input.
        *) sec "backup.$_id" s_backup "$_i" </dev/null ;;
    esac
    _i=$((_i + 1))
done

