#!/usr/bin/env bash
# Install what thecloud needs on a Debian 12 host, then create or refresh the
# project's virtualenv (.venv at the repository root).
#
# Idempotent: packages already installed are not touched, apt-get update runs
# only when something is missing, and pip runs only when setup.cfg or
# pyproject.toml changed since the last successful install (a stamp file in
# .venv records their hash). Not root: missing packages are listed, not
# installed, and the virtualenv step still runs.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# docker.io: the compute driver and the tests' engine; busybox-static: the
# test image; iproute2/nftables: the network driver; make/git: the build.
DEB_PACKAGES=(
    docker.io
    busybox-static
    strace
    iproute2
    nftables
    python3
    python3-venv
    ca-certificates
    make
    git
    procps
    util-linux
)

# Each feature lists the Debian packages it needs in scripts/packages.d/*.txt
# (one a line, '#' comments), so features add packages without touching this file.
for list in scripts/packages.d/*.txt; do
    [[ -e $list ]] || continue
    while read -r pkg _; do
        [[ -z $pkg || $pkg == \#* ]] || DEB_PACKAGES+=("$pkg")
    done <"$list"
done

VENV=${VENV:-.venv}
STAMP=$VENV/.thecloud-deps.stamp

log() { printf 'install-deps: %s\n' "$*" >&2; }

is_installed() {
    [[ $(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null) == installed ]]
}

missing=()
for pkg in "${DEB_PACKAGES[@]}"; do
    is_installed "$pkg" || missing+=("$pkg")
done

if ((${#missing[@]})); then
    if [[ $(id -u) -eq 0 ]]; then
        log "installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -q
        apt-get install -y -q --no-install-recommends "${missing[@]}"
    else
        log "not root, not installing missing packages: ${missing[*]}"
        log "run as root: apt-get install -y ${missing[*]}"
    fi
fi

python=${PYTHON:-python3}
if [[ ! -x $VENV/bin/python ]] || ! "$VENV/bin/python" -c '' 2>/dev/null; then
    log "creating the virtualenv $VENV"
    "$python" -m venv --clear "$VENV"
    rm -f "$STAMP"
fi

wanted_stamp=$(cat setup.cfg pyproject.toml 2>/dev/null | sha256sum | cut -d' ' -f1)
if [[ -f $STAMP && $(cat "$STAMP") == "$wanted_stamp" ]]; then
    exit 0
fi

log "installing the project into $VENV (pip install -e '.[dev]')"
"$VENV/bin/pip" install -q --disable-pip-version-check -e '.[dev]'
printf '%s\n' "$wanted_stamp" >"$STAMP"
