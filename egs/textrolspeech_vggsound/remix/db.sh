# shellcheck shell=bash
# db.sh: where the remix paper's corpora live on this machine (empty: not available here).
TEXTROLSPEECH=${TEXTROLSPEECH:-}                  # TextrolSpeech root: its caption table's wav_fp paths are under it
TEXTROLSPEECH_CAPTIONS=${TEXTROLSPEECH_CAPTIONS:-} # the caption CSV (default: ${TEXTROLSPEECH}/caption.csv)
VGGSOUND=${VGGSOUND:-}                            # VGGSound root holding vggsound.csv
VGGSOUND_AUDIO=${VGGSOUND_AUDIO:-}                # its clips as <ytid>_<start:06d>.wav|flac (default: ${VGGSOUND}/audio)
FSD50K=${FSD50K:-}                                # FSD50K root holding FSD50K.ground_truth/, FSD50K.{dev,eval}_audio/
