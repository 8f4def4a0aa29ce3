#!/usr/bin/env bash
# Installs the Debian packages the recipes need (or those named as arguments), only those
# missing.  Runs apt-get as root, or through sudo when not root.  Idempotent: a machine that has
# them all does nothing.
#   install_apt.sh                      the recipes' packages
#   install_apt.sh slurm-wlm munge      the test suite's real Slurm (make -C tools test-deps)
set -euo pipefail

packages=(espeak-ng libespeak-ng1 lincity-ng-data openttd-opensfx sound-theme-freedesktop oxygen-sounds)
[ $# -gt 0 ] && packages=("$@")

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "install_apt.sh: Debian packages present: ${packages[*]}"
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_apt.sh: error: need Debian packages ${missing[*]} but apt-get is not available;" \
         "install them with your system's package manager" >&2
    exit 1
fi
sudo=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo=(sudo -n); else
        echo "install_apt.sh: error: need root to install ${missing[*]} (no sudo found)" >&2; exit 1
    fi
fi
echo "install_apt.sh: installing ${missing[*]}"
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
