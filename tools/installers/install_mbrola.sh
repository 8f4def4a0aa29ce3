#!/usr/bin/env bash
# MBROLA voices for the expressive corpus's recorded-speaker styles (tse2/corpus/styles.py) and the
# voices corpus's mbrola source (tse2/corpus/voices.py, --voices ...,mbrola):
#   install_mbrola.sh [VOICE...]        (default: the 50 voices of tse2.corpus.styles.MBROLA_VOICES)
#
# What it changes: nothing outside tools/.  MBROLA is in Debian contrib (the engine) and non-free
# (the voices); this script does NOT add those components to the machine's apt sources.  It runs
# apt-get with a private sources list and package index under tools/cache/apt-nonfree/ (bookworm
# contrib + non-free, the machine's Debian keyring), downloads the .debs into tools/cache/debs/ and
# unpacks them with `dpkg -x` into tools/voices/mbrola/ (nothing is installed or registered with dpkg).
# It then builds tools/voices/espeak-ng-mbrola/espeak-ng-data/: the system's espeak-ng data
# (symlinks) plus mbrola/<voice>, which is where libespeak-ng looks for MBROLA voices.
#
# Licence: the MBROLA voices are free for non-commercial, non-military use only (see
# tools/voices/mbrola/usr/share/doc/mbrola-*/copyright); a model trained on them inherits that.
# Idempotent: unpacked voices are kept.
set -euo pipefail
cd "$(dirname "$0")/.."
suite=${TSE2_DEBIAN_SUITE:-bookworm}
mirror=${TSE2_DEBIAN_MIRROR:-http://deb.debian.org/debian}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
voices=("$@")
if [ ${#voices[@]} -eq 0 ]; then
    voices=(us1 us2 us3 en1 fr1 fr2 fr3 fr4 fr5 fr6 fr7 de1 de2 de3 de4 de5 de6 de7 de8 es1 es2 es3 es4 mx1 mx2 vz1
            ca1 ca2 it1 it2 it3 it4 nl2 nl3 pt1 br1 br2 br3 br4 ro1 sw1 sw2 pl1 cz1 cz2 hu1 gr1 gr2 tr1 tr2)
fi
sys_data=$(espeak-ng --version 2>/dev/null | sed -n 's/.*Data at: *//p')
[ -n "${sys_data}" ] && [ -d "${sys_data}" ] \
    || { echo "install_mbrola.sh: error: espeak-ng is not installed (run make -C tools apt first)" >&2; exit 1; }
command -v apt-get >/dev/null 2>&1 || { echo "install_mbrola.sh: error: need apt-get and dpkg" >&2; exit 1; }
[ -f "${keyring}" ] || { echo "install_mbrola.sh: error: ${keyring} is missing (package debian-archive-keyring)" >&2; exit 1; }

out=voices/mbrola
pkgs=()
[ -x "${out}/usr/bin/mbrola" ] || pkgs+=(mbrola)
for v in "${voices[@]}"; do
    [ -f "${out}/usr/share/mbrola/${v}/${v}" ] || pkgs+=("mbrola-${v}")
done
if [ ${#pkgs[@]} -gt 0 ]; then
    apt_dir=$(pwd)/cache/apt-nonfree
    mkdir -p "${apt_dir}/lists/partial" "${apt_dir}/archives/partial" cache/debs "${out}"
    echo "deb [signed-by=${keyring}] ${mirror} ${suite} contrib non-free" > "${apt_dir}/sources.list"
    apt_opts=(-o "Dir::Etc::sourcelist=${apt_dir}/sources.list" -o Dir::Etc::sourceparts=/dev/null
              -o "Dir::State::Lists=${apt_dir}/lists" -o "Dir::Cache=${apt_dir}" -o Debug::NoLocking=1)
    echo "install_mbrola.sh: reading the ${suite} contrib/non-free index into tools/cache/apt-nonfree (apt sources untouched)"
    apt-get "${apt_opts[@]}" -qq update
    echo "install_mbrola.sh: fetching ${pkgs[*]}"
    (cd cache/debs && apt-get "${apt_opts[@]}" -qq download "${pkgs[@]}" 2>&1 | grep -v "unsandboxed" || true)
    for p in "${pkgs[@]}"; do
        deb=$(find cache/debs -maxdepth 1 -name "${p}_*.deb" | head -n 1)
        [ -n "${deb}" ] || { echo "install_mbrola.sh: error: apt-get download ${p} failed" >&2; exit 1; }
        dpkg -x "${deb}" "${out}"
    done
fi
data=voices/espeak-ng-mbrola/espeak-ng-data
rm -rf "${data}.tmp" && mkdir -p "${data}.tmp/mbrola"
for e in "${sys_data}"/*; do
    [ "$(basename "${e}")" = mbrola ] || ln -s "${e}" "${data}.tmp/"
done
for v in "${out}"/usr/share/mbrola/*/; do
    v=$(basename "${v}")
    [ -f "${out}/usr/share/mbrola/${v}/${v}" ] && ln -s "$(pwd)/${out}/usr/share/mbrola/${v}/${v}" "${data}.tmp/mbrola/${v}"
done
rm -rf "${data}" && mv "${data}.tmp" "${data}"
echo "install_mbrola.sh: $(ls "${data}/mbrola" | wc -l) MBROLA voices in tools/${data} (non-commercial licence)"
