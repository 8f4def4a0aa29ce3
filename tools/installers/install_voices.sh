#!/usr/bin/env bash
# The voices corpus's Debian packages (tse2/corpus/voices.py), unpacked, not installed:
#   install_voices.sh [--festival] PACKAGE...
# Each package is fetched with `apt-get download` into tools/cache/debs/ and unpacked with
# `dpkg -x` into tools/voices/<package>/ (no root needed, nothing registered with dpkg, the game
# or program it belongs to is not installed).  --festival also installs Festival and its voices
# with apt (Debian main; root or sudo), since they run as programs.  Sources from contrib/non-free
# (RHVoice, MBROLA, Pico) are not fetched: this script never changes the apt sources.
# Idempotent: an unpacked package (tools/voices/<package>/.done) is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
festival=false
if [ "${1:-}" = --festival ]; then festival=true; shift; fi
mkdir -p cache/debs voices
for p in "$@"; do
    case "$p" in
        flite*|asterisk-core-sounds-en*|asterisk-core-sounds-es*|asterisk-core-sounds-fr*|asterisk-core-sounds-it*)
            echo "install_voices.sh: error: $p is never used in tse2 corpora (an independent check)" >&2; exit 1 ;;
    esac
    [ -f "voices/$p/.done" ] && continue
    command -v apt-get >/dev/null 2>&1 || { echo "install_voices.sh: error: need apt-get to fetch $p" >&2; exit 1; }
    deb=$(find cache/debs -maxdepth 1 -name "${p}_*.deb" | head -n 1)
    if [ -z "$deb" ]; then
        echo "install_voices.sh: fetching $p"
        (cd cache/debs && apt-get download -qq "$p" 2>&1 | grep -v "unsandboxed" || true)
        deb=$(find cache/debs -maxdepth 1 -name "${p}_*.deb" | head -n 1)
        [ -n "$deb" ] || { echo "install_voices.sh: error: apt-get download $p failed (is it in your apt sources? try apt-get update)" >&2; exit 1; }
    fi
    rm -rf "voices/$p.tmp" && mkdir -p "voices/$p.tmp"
    dpkg -x "$deb" "voices/$p.tmp"
    rm -rf "voices/$p" && mv "voices/$p.tmp" "voices/$p"
    touch "voices/$p/.done"
    echo "install_voices.sh: $p unpacked into tools/voices/$p"
done
if [ "$festival" = true ]; then
    packages=(festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts festvox-ca-ona-hts festvox-czech-dita
              festvox-czech-krb festvox-czech-machac festvox-czech-ph festvox-suopuhe-lj festvox-suopuhe-mv festvox-ru
              festvox-hi-nsk festvox-mr-nsk festvox-te-nsk festvox-italp16k festvox-itapc16k)
    missing=()
    for p in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        sudo=()
        [ "$(id -u)" -eq 0 ] || sudo=(sudo -n)
        echo "install_voices.sh: installing ${missing[*]}"
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
    fi
fi
