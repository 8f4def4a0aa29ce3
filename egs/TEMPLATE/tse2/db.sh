# shellcheck shell=bash
# db.sh: where the corpora live on this machine.  Recipes read the variables they need; an
# empty value means "not available here" and the recipe stops with a message saying which.
LIBRISPEECH=${LIBRISPEECH:-}   # directory holding LibriSpeech/ (train-clean-100, dev-clean, ...)
MLS=${MLS:-}                   # directory holding mls_french/, mls_german/, mls_spanish/
AISHELL3=${AISHELL3:-}         # directory holding data_aishell3/ (train/, test/, spk-info.txt)
