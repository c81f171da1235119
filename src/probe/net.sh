# Network: interfaces and routes, section `net` (src/probe/parse/net.rs). Three parts, each a
# `part` marker "NAME FORMAT STATUS" followed by what the command printed:
#   addr json|text|sys     `ip -j -d addr show`, else `ip -d addr show`, else one line per
#                          interface from /sys/class/net (no iproute2):
#                          NAME OPERSTATE CARRIER FLAGS TYPE DEVTYPE MASTER ('-' when unknown)
#   route4 json|text|proc  `ip -j route show`, else `ip route show`, else /proc/net/route
#                          (FORMAT is then followed by `uname -m`: its words are in host order)
#   route6 json|text|proc  `ip -j -6 route show`, else `ip -6 route show`, else
#                          /proc/net/ipv6_route
# `ip -j` exists from iproute2 4.13 (4.17 for routes; RHEL 7 has none): an ip without it
# prints an error or plain text, so only output that starts with '[' counts as JSON.

# One part through ip: JSON when it answers JSON, else text.
net_ip() {
    _name=$1
    shift
    _o=$(t 2 ip -j "$@" 2>/dev/null)
    _r=$?
    case $_o in
        '['*)
            part "$_name json $_r"
            printf '%s\n' "$_o"
            return 0
            ;;
    esac
    # Timed out: a second try would only wait as long again.
    if [ "$_r" = 124 ] || [ "$_r" = 137 ]; then
        part "$_name json $_r"
        return 0
    fi
    _o=$(t 2 ip "$@" 2>&1)
    _r=$?
    part "$_name text $_r"
    [ -n "$_o" ] && printf '%s\n' "$_o"
    return 0
}

# Interfaces without iproute2: sysfs files, read by the shell itself (no fork per file). The
# kernel forbids blanks and '/' in interface names, so each one is a word.
net_sys() {
    part "addr sys 0"
    for _d in /sys/class/net/*; do
        [ -d "$_d" ] || continue
        _o='' _c='' _f='' _ty='' _dt='' _m=''
        read -r _o 2>/dev/null <"$_d/operstate"
        # carrier cannot be read on an interface that is administratively down.
        read -r _c 2>/dev/null <"$_d/carrier"
        read -r _f 2>/dev/null <"$_d/flags"
        read -r _ty 2>/dev/null <"$_d/type"
        if [ -r "$_d/uevent" ]; then
            while IFS='=' read -r _k _v; do
                [ "$_k" = DEVTYPE ] && _dt=$_v
            done 2>/dev/null <"$_d/uevent"
        fi
        if [ -h "$_d/master" ]; then
            _m=$(cd "$_d/master" 2>/dev/null && pwd -P)
            _m=${_m##*/}
        fi
        printf '%s %s %s %s %s %s %s\n' "${_d##*/}" "${_o:--}" "${_c:--}" "${_f:--}" \
            "${_ty:--}" "${_dt:--}" "${_m:--}"
    done
    part "route4 proc 0 $(uname -m 2>/dev/null)"
    cat /proc/net/route 2>/dev/null
    part "route6 proc 0"
    cat /proc/net/ipv6_route 2>/dev/null
    return 0
}

s_net() {
    if have ip; then
        net_ip addr -d addr show
        net_ip route4 route show
        net_ip route6 -6 route show
    elif [ -d /sys/class/net ]; then
        net_sys
    else
        echo "VIGIE_UNAVAILABLE no ip command and no /sys/class/net"
        return 1
    fi
}

sec net s_net </dev/null
