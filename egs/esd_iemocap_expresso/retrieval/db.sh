# shellcheck shell=bash
# db.sh: where the paper's expressive corpora live on this machine (empty: not available here; the
# recipe uses the ones that are, and stops with a message when none is).
IEMOCAP=${IEMOCAP:-}     # IEMOCAP_full_release/ (Session1..Session5)
ESD=${ESD:-}             # Emotional Speech Dataset root (0001..0020; English is 0011..0020)
EXPRESSO=${EXPRESSO:-}   # expresso/ (audio_48khz/read/..., splits/{train,dev,test}.txt)
