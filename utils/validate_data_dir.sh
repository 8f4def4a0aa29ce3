#!/usr/bin/env bash
# validate_data_dir.sh [--fs 16000] [--no_check_audio] <data-dir> ...
# Thin wrapper: the checks are code (tse2/utils/datadir.py); exits 1 when a data dir is invalid.
exec python -m tse2.bin.validate_data_dir "$@"
