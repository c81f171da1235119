# Vigie detached jobs (src/drp/job.rs). Sent on stdin to `env LC_ALL=C LANG=C /bin/sh -s` after
# a few assignment lines the console prepends, every value single-quoted by it:
#   J_OP=start|status|cancel
#   J_REL='HOST/RUN/STEP-ATTEMPT-PHASE'  the job's directory under the jobs root; the console
#                 only sends [A-Za-z0-9._-] words (never `.` or `..`) joined by `/`
#   J_SCRIPT='...'  (start) the job's script, run by /bin/sh
#   J_FROM=n      (status) the first byte of `out` to send back
#   J_LAST=n      (status) or, when not 0, the last n bytes of `out` instead
#   J_MAX=n       (status, start, cancel) at most n bytes of `out`
# Standard input is this script: everything that could read it runs </dev/null.
#
# The jobs root is $HOME/.local/state/vigie/jobs, not $XDG_STATE_HOME: a job must be found
# again by a console that connects months later (resume), and XDG_STATE_HOME depends on how
# each session was set up (pam_env, sshd SetEnv), HOME does not. A job's directory holds:
#   command    the exact script          started  epoch seconds      boot  the kernel's boot id
#   wrapper    the script below that runs `command` and records its end
#   pid        the wrapper's pid, written (atomically) after pid.start: /proc/PID/stat field 22,
#              so that a pid reused by another process is never taken for the job
#   out        the job's stdout and stderr, appended
#   rc         the exit status, written atomically (rc.tmp then mv) by the wrapper when the job
#              ends, even when a signal killed it (the wrapper outlives its child)
# The reply is a "vigie-job 1" line, "key value" lines, then a "data" line followed by raw bytes
# of `out`: the untrusted bytes come last, so they can never pass for a field.

umask 077
PATH=${PATH:+$PATH:}/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
set -f

printf 'vigie-job 1\n'
fail() {
    printf 'error %s\n' "$*"
    exit 0
}
[ -n "${HOME:-}" ] || fail "HOME is not set: nowhere to keep the job"
_root=$HOME/.local/state/vigie/jobs
_d=$_root/$J_REL
printf 'dir %s\n' "$_d"

# The wrapper: the session leader of the job (setsid), it records its own pid and start time,
# runs the script as a child, forwards SIGTERM to it, waits for it whatever happens and writes
# its status. Killing the wrapper itself with SIGKILL (or a reboot) leaves no rc: "vanished".
_wrapper='
d=$1
read -r _s </proc/$$/stat
_s=${_s##*) }
set -f
set -- $_s
shift 19
printf "%s\n" "$1" >"$d/pid.start"
printf "%s\n" $$ >"$d/pid.tmp" && mv -f "$d/pid.tmp" "$d/pid"
cd "$HOME" 2>/dev/null || cd /
c=
trap "[ -n \"\$c\" ] && kill -TERM \"\$c\" 2>/dev/null" TERM HUP INT
/bin/sh "$d/command" </dev/null >>"$d/out" 2>&1 &
c=$!
wait "$c"
rc=$?
while kill -0 "$c" 2>/dev/null; do
    wait "$c"
    rc=$?
done
# A wait cut short by the trap returned 128+15, not the child status: ask again (dash and bash
# both remember it; 127 means the shell has forgotten the child, keep what we had).
wait "$c" 2>/dev/null
r=$?
[ "$r" != 127 ] && rc=$r
printf "%s\n" "$rc" >"$d/rc.tmp" && mv -f "$d/rc.tmp" "$d/rc"
'

# start_time PID: field 22 of /proc/PID/stat, empty if the process is gone or a zombie. The
# command name (field 2) may hold spaces and parentheses: cut everything up to the last ") ".
start_time() {
    _st=
    read -r _s 2>/dev/null </proc/"$1"/stat || return 0
    _s=${_s##*) }
    set -- $_s
    [ "$1" = Z ] && return 0
    shift 19
    _st=$1
}

# alive: the job's wrapper is this very process (same pid, same start time).
alive() {
    [ -f "$_d/pid" ] || return 1
    read -r _pid <"$_d/pid" || return 1
    read -r _want <"$_d/pid.start" || return 1
    case $_pid in '' | *[!0-9]*) return 1 ;; esac
    start_time "$_pid"
    [ -n "$_st" ] && [ "$_st" = "$_want" ]
}

# Between the claim (mkdir) and the wrapper writing its pid, a second console sees a directory
# without pid: give the starter a moment before calling the job vanished.
settle() {
    _i=0
    while [ ! -f "$_d/pid" ] && [ ! -f "$_d/rc" ] && [ "$_i" -lt 30 ]; do
        sleep 0.1 2>/dev/null || sleep 1
        _i=$((_i + 1))
    done
}

report() {
    if [ ! -d "$_d" ]; then
        printf 'state none\n'
    else
        [ -f "$_d/pid" ] || settle
        read -r _started 2>/dev/null <"$_d/started" || _started=
        printf 'started %s\nnow %s\n' "$_started" "$(date +%s)"
        _boot=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null)
        read -r _jboot 2>/dev/null <"$_d/boot" || _jboot=
        # rc first: the wrapper writes it just before exiting, so "no rc, then dead" is final.
        if [ -f "$_d/rc" ]; then
            read -r _rc <"$_d/rc"
            printf 'state exited\nrc %s\n' "$_rc"
        elif [ -n "$_jboot" ] && [ -n "$_boot" ] && [ "$_jboot" != "$_boot" ]; then
            printf 'state vanished\nwhy the host rebooted since the job started\n'
        elif alive; then
            printf 'state running\npid %s\n' "$_pid"
        elif [ -f "$_d/rc" ]; then
            read -r _rc <"$_d/rc"
            printf 'state exited\nrc %s\n' "$_rc"
        elif [ -f "$_d/pid" ]; then
            printf 'state vanished\nwhy its process is gone without an exit status (killed with SIGKILL?)\n'
        else
            printf 'state vanished\nwhy it was claimed but never started\n'
        fi
        _len=0
        [ -f "$_d/out" ] && _len=$(wc -c <"$_d/out")
        _len=$((_len + 0))
        _from=${J_FROM:-0}
        if [ "${J_LAST:-0}" -gt 0 ]; then
            _from=$((_len - J_LAST))
            [ "$_from" -lt 0 ] && _from=0
        fi
        [ "$_from" -gt "$_len" ] && _from=$_len
        printf 'len %s\nfrom %s\n' "$_len" "$_from"
    fi
    printf 'data\n'
    if [ -f "$_d/out" ] && [ "${_from:-0}" -lt "${_len:-0}" ]; then
        tail -c +"$((_from + 1))" "$_d/out" 2>/dev/null | head -c "${J_MAX:-65536}"
    fi
}

case $J_OP in
start)
    mkdir -p "${_d%/*}" 2>/dev/null || fail "cannot create ${_d%/*}"
    # mkdir is the claim: of two consoles starting the same job, exactly one creates it.
    if mkdir "$_d" 2>/dev/null; then
        printf '%s' "$J_SCRIPT" >"$_d/command" || fail "cannot write $_d/command"
        date +%s >"$_d/started"
        cat /proc/sys/kernel/random/boot_id >"$_d/boot" 2>/dev/null
        : >"$_d/out"
        # The wrapper is a file (not `sh -c`) so that ps shows "/bin/sh DIR/wrapper DIR".
        printf '%s' "$_wrapper" >"$_d/wrapper" || fail "cannot write $_d/wrapper"
        if command -v setsid >/dev/null 2>&1; then
            setsid /bin/sh "$_d/wrapper" "$_d" </dev/null >/dev/null 2>&1 &
        else
            # Without setsid the job stays in this session's process group: nohup keeps it
            # from the hangup, and cancel signals the wrapper, which forwards to the job.
            (trap '' HUP && exec nohup /bin/sh "$_d/wrapper" "$_d" </dev/null >/dev/null 2>&1) &
        fi
        printf 'new 1\n'
    else
        [ -d "$_d" ] || fail "cannot create $_d"
        printf 'new 0\n'
    fi
    report
    ;;
status)
    report
    ;;
cancel)
    if [ -d "$_d" ] && [ ! -f "$_d/rc" ] && alive; then
        # The wrapper leads its own process group when setsid made it a session leader:
        # signal the whole group (the job, rsync, its ssh); otherwise the wrapper forwards.
        read -r _s </proc/"$_pid"/stat
        _s=${_s##*) }
        set -- $_s
        if [ "$3" = "$_pid" ]; then
            # `kill -s SIG -- -PGID`: dash's kill refuses `kill -TERM -- -PGID`.
            kill -s TERM -- "-$_pid" 2>/dev/null
        else
            kill -s TERM "$_pid" 2>/dev/null
        fi
        printf 'signalled %s\n' "$_pid"
        _i=0
        while [ ! -f "$_d/rc" ] && alive && [ "$_i" -lt 50 ]; do
            sleep 0.1 2>/dev/null || sleep 1
            _i=$((_i + 1))
        done
    fi
    report
    ;;
*)
    fail "unknown operation"
    ;;
esac
