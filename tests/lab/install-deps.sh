#!/usr/bin/env bash
# Installs the Debian packages the Vigie lab needs (tests/lab/lab.sh).
# Idempotent: does nothing when everything is installed; otherwise runs
# `apt-get update` once, then installs only the missing packages.
set -euo pipefail

# tmux: the console end-to-end tests drive the real binary in a terminal.
# restic, borgbackup: real backup repositories on the lab's backup servers (tests/lab_backups.rs).
# postgresql (Debian 12: postgresql-15) and postgresql-client: the lab's database on prod (lab.sh pg-start).
# The application servers lab.sh starts inside the hosts (svc.sh): nginx (stub_status is built
# in), mariadb-server and mariadb-client (primary on prod, replica on drp), vsftpd, postfix (no
# configuration of its own: lab.sh writes prod's), knot and knot-dnsutils (kdig, knsupdate) on
# the dns host; curl for the HTTP checks. About 11 s of apt-get install on a fresh Debian 12.
# faketime: a real pg_dump taken "hours ago" (its archive header says so), for the DRP import
# tests (tests/drp_activate_db.rs).
PACKAGES=(openssh-server openssh-client iproute2 util-linux procps rsync smartmontools quota coreutils tmux
    postgresql postgresql-client
    restic borgbackup lsof
    nginx mariadb-server mariadb-client vsftpd postfix knot knot-dnsutils curl
    faketime)

missing=()
for p in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [[ $status == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
    exit 0
fi

if ((EUID != 0)); then
    echo "install-deps: missing packages ${missing[*]}; run this script as root" >&2
    exit 1
fi

echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# postfix asks what kind of mail system this is: none (lab.sh configures prod's own postfix).
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
apt-get update -qq
# policy-rc.d may forbid starting services: that is fine, the lab starts every server by hand
# (on a machine that does start them, they run with the packages' configurations beside the lab's).
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
