#!/usr/bin/env bash
# The whole test suite, as root on a fresh Debian 12 machine: installs the lab's system
# packages, brings the lab up (network namespaces with real sshd), runs every test, and
# tears the lab down whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
    echo "tests/run-all.sh: the lab needs root (network namespaces, mounts)" >&2
    exit 2
fi

tests/lab/install-deps.sh
cargo build --all-targets
trap 'tests/lab/lab.sh down' EXIT
tests/lab/lab.sh up
cargo test --all-targets --no-fail-fast -- --test-threads=2
