#!/usr/bin/env bash
# Installs the Debian packages the Vigie lab needs (tests/lab/lab.sh).
# Idempotent: does nothing when everything is installed; otherwise runs
# `apt-get update` once, then installs only the missing packages.
set -euo pipefail

# tmux: the console end-to-end tests drive the real binary in a terminal.
# restic, borgbackup: real backup repositories on the lab's backup servers (tests/lab_backups.rs).
# postgresql (Debian 12: postgresql-15) and postgresql-client: the lab's database on prod (lab.sh pg-start).
PACKAGES=(openssh-server openssh-client iproute2 util-linux procps rsync smartmontools quota coreutils tmux
    postgresql postgresql-client
    restic borgbackup lsof)

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
apt-get update -qq
# policy-rc.d may forbid starting services: that is fine, the lab starts sshd by hand.
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
