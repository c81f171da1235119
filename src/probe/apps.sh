# Applications (SVC): one section `svc.<name>` per configured service: is it running, and does it
# answer its own health probe. Read by src/probe/parse/apps/. The body is made of these lines:
#   @@systemd 0|1                 systemd is PID 1 (only then are units listed)
#   @@unit <systemctl line>       one per loaded unit of the service: NAME LOAD ACTIVE SUB …
#   @@pid1 0|1                    whether ps showed PID 1: when not (/proc mounted hidepid),
#                                 a missing process proves nothing
#   @@proc NAME COUNT             live processes of that command name (zombies aside); NAME may
#                                 be args:WORD (command line holds WORD: Java's main class) or
#                                 COMM+WORD (both)
#   @@probe KIND ARG…             a health probe: `http CLIENT URL`, or the tool's name
#   |…                            what it printed (output and errors), every line prefixed so
#                                 that nothing it prints can pass for one of these lines
#   @@rc N                        its exit status
#   @@none WHY                    the probe could not run, and why ("pg_isready not installed")
# Every function returns 0: a missing health tool must not hide a stopped service, so it is
# told inside the body, never by the section's status.

# Runs "$@" (under `t`, by the caller) and prints its output, 32 KiB at most, each line
# prefixed with "|", then `@@rc <status>`. fd 5 carries the status out of the pipeline.
svc_run() {
    { _sr=$({ { "$@" </dev/null 2>&1 4>&- 5>&-; echo $? >&5; } |
        head -c 32768 | awk '{ print "|" $0 }' >&4; } 5>&1); } 4>&1
    echo "@@rc ${_sr:-1}"
}

# A health tool's run, or why it could not run.
svc_tool() {
    _st=$1
    shift
    echo "@@probe $_st"
    svc_run "$@"
}

# The service's units, when systemd runs the host (the test of sd_booted(3)). list-units
# rather than is-active: it expands patterns (postgresql@15-main), and tells a stopped unit
# from one that does not exist.
svc_units() {
    if [ -d /run/systemd/system ] && have systemctl; then
        echo "@@systemd 1"
        t 5 systemctl list-units --all --type=service --plain --no-legend --no-pager "$@" \
            </dev/null 2>/dev/null | sed 's/^/@@unit /'
    else
        echo "@@systemd 0"
    fi
}

# Counts the processes named in "$@" (see @@proc above). The names travel in the environment:
# on awk's command line, a Java class name would find awk itself.
svc_procs() {
    t 5 ps -A -o pid=,stat=,comm=,args= </dev/null 2>/dev/null | VIGIE_WANT="$*" awk '
        BEGIN { n = split(ENVIRON["VIGIE_WANT"], w, " "); for (i = 1; i <= n; i++) c[i] = 0 }
        $1 == 1 { pid1 = 1 }
        $2 ~ /^Z/ { next }
        {
            for (i = 1; i <= n; i++) {
                k = w[i]
                if (substr(k, 1, 5) == "args:") { if (index($0, substr(k, 6))) c[i]++ }
                else if (index(k, "+")) {
                    split(k, p, "+")
                    if ($3 == p[1] && index($0, p[2])) c[i]++
                } else if ($3 == k) c[i]++
            }
        }
        END {
            printf "@@pid1 %d\n", pid1
            for (i = 1; i <= n; i++) printf "@@proc %s %d\n", w[i], c[i]
        }'
}

# The HTTP client of this host: curl, else wget, else bash's /dev/tcp (plain HTTP only).
_hc=none
if have curl; then
    _hc=curl
elif have wget; then
    _hc=wget
elif have bash; then
    _hc=bash
fi

# One local GET of $1; `$2 = status` keeps only the status line and headers (the body of a
# home page is of no use, and can be big). Redirects are not followed: any answer proves the
# server answers.
svc_http() {
    echo "@@probe http $_hc $1"
    case $_hc in
        curl)
            if [ "${2-}" = status ]; then
                svc_run t 5 curl -sS -k -m 4 -o /dev/null -w '\n@@code %{http_code}\n' "$1"
            else
                svc_run t 5 curl -sS -k -m 4 -w '\n@@code %{http_code}\n' "$1"
            fi
            ;;
        wget)
            # -S: the server's status line and headers, on standard error.
            if [ "${2-}" = status ]; then
                svc_run t 5 wget -nv -S -T 4 -t 1 --max-redirect=0 --no-check-certificate -O /dev/null "$1"
            else
                svc_run t 5 wget -nv -S -T 4 -t 1 --max-redirect=0 --no-check-certificate \
                    --content-on-error -O - "$1"
            fi
            ;;
        bash)
            case $1 in
                http://*) ;;
                *)
                    echo "@@none no HTTPS client (only bash)"
                    return 0
                    ;;
            esac
            _u=${1#http://}
            _hp=${_u%%/*}
            _path=/${_u#*/}
            [ "$_hp" = "$_u" ] && _path=/
            _host=${_hp%:*}
            _port=${_hp##*:}
            [ "$_port" = "$_hp" ] && _port=80
            # The values reach bash as arguments, never as code.
            svc_run t 5 bash -c 'exec 3<>"/dev/tcp/$1/$2" || exit 7
                printf "GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: vigie\r\nConnection: close\r\n\r\n" "$3" "$1" >&3
                if [ "$4" = status ]; then
                    IFS= read -r l <&3 && printf "%s\n" "$l"
                else
                    cat <&3
                fi' vigie "$_host" "$_port" "$_path" "${2-}"
            ;;
        *) echo "@@none no HTTP client (curl, wget, bash)" ;;
    esac
}

# A status page ($1), recognised by a line starting with $2; else the home page of the same
# server ($3), which proves at least that it answers. Not when the first request found nothing
# listening or timed out (curl 7 and 28, timeout's 124 and 137): the second would do the same.
svc_http_page() {
    _o=$(svc_http "$1")
    printf '%s\n' "$_o"
    case $_o in
        *"|$2"* | *"@@rc 4" | *"@@rc 7" | *"@@rc 28" | *"@@rc 124" | *"@@rc 137" | *"@@none "*) ;;
        *) svc_http "$3" status ;;
    esac
}

s_svc_apache() {
    svc_units apache2.service httpd.service
    svc_procs apache2 httpd
    svc_http_page 'http://127.0.0.1/server-status?auto' Scoreboard: http://127.0.0.1/
    return 0
}

s_svc_nginx() {
    svc_units nginx.service
    svc_procs nginx
    svc_http_page http://127.0.0.1/nginx_status 'Active connections:' http://127.0.0.1/
    return 0
}

s_svc_tomcat() {
    svc_units 'tomcat*.service'
    svc_procs args:org.apache.catalina.startup.Bootstrap
    svc_http http://127.0.0.1:8080/ status
    return 0
}

s_svc_elasticsearch() {
    svc_units elasticsearch.service
    svc_procs args:org.elasticsearch.bootstrap.Elasticsearch
    # Elasticsearch 8 speaks TLS on 9200 by default and drops plain HTTP: then HTTPS (its
    # certificate is self-signed, and only the status matters here).
    _o=$(svc_http http://127.0.0.1:9200/_cluster/health)
    printf '%s\n' "$_o"
    case $_o in
        *"|@@code 000"*) ;;
        *"|@@code "* | *"|  HTTP/"* | *"|HTTP/"* | *"@@rc 7" | *"@@rc 28" | *"@@rc 124" | *"@@rc 137" | *"@@none "*)
            return 0
            ;;
    esac
    svc_http https://127.0.0.1:9200/_cluster/health
    return 0
}

s_svc_varnish() {
    svc_units varnish.service
    _o=$(svc_procs varnishd)
    printf '%s\n' "$_o"
    # -t 3: without a varnishd to attach to, both would wait for one until killed. With none
    # in sight, not asking saves those 3 s: the check is CRIT either way.
    case $_o in
        *"@@pid1 1"*"@@proc varnishd 0"*)
            echo "@@none varnishadm not run: no varnishd process"
            return 0
            ;;
    esac
    # The management secret is root's: through sudo when asked to.
    if have varnishadm; then
        _o=$(svc_tool varnishadm t 5 $_sudo varnishadm -t 3 ping)
        printf '%s\n' "$_o"
        case $_o in
            *"|PONG"*)
                have varnishstat && svc_tool varnishstat t 5 $_sudo varnishstat -1 \
                    -f MAIN.cache_hit -f MAIN.cache_miss -f MAIN.uptime
                ;;
        esac
    else
        echo "@@none varnishadm not installed"
    fi
    return 0
}

s_svc_mysql() {
    svc_units mariadb.service mysql.service mysqld.service
    svc_procs mysqld mariadbd
    # Its status is 0 whenever the server answers, even "Access denied": enough to know it runs.
    _m=
    if have mysqladmin; then
        _m=mysqladmin
    elif have mariadb-admin; then
        _m=mariadb-admin
    fi
    if [ -n "$_m" ]; then
        svc_tool mysqladmin t 5 "$_m" --connect-timeout=3 ping
    else
        echo "@@none mysqladmin not installed"
    fi
    return 0
}

s_svc_postgresql() {
    svc_units postgresql.service 'postgresql@*.service' 'postgresql-*.service'
    svc_procs postgres postmaster
    # PGDG packages on RHEL keep their tools out of the PATH.
    _p=
    if have pg_isready; then
        _p=pg_isready
    else
        for _c in /usr/pgsql-*/bin/pg_isready; do [ -x "$_c" ] && _p=$_c; done
    fi
    if [ -n "$_p" ]; then
        svc_tool pg_isready t 5 "$_p" -t 3
    else
        echo "@@none pg_isready not installed"
    fi
    return 0
}

s_svc_ftp() {
    svc_units vsftpd.service proftpd.service 'pure-ftpd*.service'
    svc_procs vsftpd proftpd pure-ftpd
    # The greeting only, then QUIT: no login attempt in the server's logs. A multi-line
    # greeting ends with "220 " (RFC 959).
    if have bash; then
        svc_tool ftp-banner t 5 bash -c 'exec 3<>"/dev/tcp/$1/$2" || exit 7
            n=0
            cr=$(printf "\r")
            while [ $n -lt 20 ] && IFS= read -r -t 4 l <&3; do
                printf "%s\n" "$l"
                n=$((n + 1))
                case $l in [0-9][0-9][0-9]" "* | [0-9][0-9][0-9] | [0-9][0-9][0-9]"$cr") break ;; esac
            done
            printf "QUIT\r\n" >&3
            [ $n -gt 0 ]' vigie 127.0.0.1 21
    elif have curl; then
        # curl logs in (anonymously) to get there: its -v trace holds the greeting.
        svc_tool ftp-curl t 5 curl -sS -v -m 4 -o /dev/null ftp://127.0.0.1/
    else
        echo "@@none neither bash nor curl to read the greeting"
    fi
    return 0
}

# The last lines of "$@" (the queue's size is the last line of a listing that can be long).
svc_tail() { "$@" 2>&1 | tail -n 5; }

s_svc_postfix() {
    # Debian's postfix.service is an empty oneshot ("active exited"); postfix@-.service runs it.
    svc_units postfix.service 'postfix@*.service'
    svc_procs master+postfix
    # `postfix status` is root's, and says nothing when refused: its status would read as
    # "not running".
    if ! have postfix; then
        echo "@@none postfix not installed"
    elif [ "$(id -u)" = 0 ] || [ -n "$_sudo" ]; then
        svc_tool postfix-status t 5 $_sudo postfix status
    else
        echo "@@none postfix status needs root (or sudo)"
    fi
    if have postqueue; then
        svc_tool postqueue svc_tail t 10 postqueue -p
    else
        echo "@@none postqueue not installed"
    fi
    return 0
}

s_svc_qmail() {
    svc_units qmail.service
    svc_procs qmail-send
    _q=
    if have qmail-qstat; then
        _q=qmail-qstat
    elif [ -x /var/qmail/bin/qmail-qstat ]; then
        _q=/var/qmail/bin/qmail-qstat
    fi
    # It reads the queue, which is root's.
    if [ -n "$_q" ]; then
        svc_tool qmail-qstat t 10 $_sudo "$_q"
    else
        echo "@@none qmail-qstat not installed"
    fi
    return 0
}

for _svc in ${SVC-}; do
    case $_svc in
        apache | nginx | tomcat | varnish | elasticsearch | mysql | postgresql | ftp | postfix | qmail)
            sec "svc.$_svc" "s_svc_$_svc" </dev/null
            ;;
    esac
done
