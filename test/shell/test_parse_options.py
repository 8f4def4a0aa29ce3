"""utils/parse_options.sh: --foo-bar v sets foo_bar; typos and non-booleans are errors."""

from __future__ import annotations

from conftest import UTILS

SCRIPT = f"""#!/usr/bin/env bash
set -euo pipefail
nj=4
use_gpu=false
foo_bar=x
. {UTILS}/parse_options.sh
echo "nj=$nj use_gpu=$use_gpu foo_bar=$foo_bar rest=$*"
"""


def _script(tmp_path):
    p = tmp_path / "s.sh"
    p.write_text(SCRIPT)
    return str(p)


def test_sets_variables_and_keeps_positionals(tmp_path, bash):
    out = bash(["bash", _script(tmp_path), "--nj", "8", "--foo-bar", "a b", "--use_gpu", "true", "p1", "p2"])
    assert out.stdout.strip() == "nj=8 use_gpu=true foo_bar=a b rest=p1 p2"


def test_unknown_option_is_an_error(tmp_path, bash):
    out = bash(["bash", _script(tmp_path), "--nope", "1"], check=False)
    assert out.returncode != 0 and "invalid option --nope" in out.stderr


def test_boolean_checked(tmp_path, bash):
    out = bash(["bash", _script(tmp_path), "--use-gpu", "yes"], check=False)
    assert out.returncode != 0 and "takes true or false" in out.stderr


def test_missing_value_and_config_file(tmp_path, bash):
    out = bash(["bash", _script(tmp_path), "--nj"], check=False)
    assert out.returncode != 0 and "needs a value" in out.stderr
    conf = tmp_path / "c.conf"
    conf.write_text("nj=16\nfoo_bar=from_config\n")
    out = bash(["bash", _script(tmp_path), "--config", str(conf), "--nj", "3"])
    assert out.stdout.strip() == "nj=3 use_gpu=false foo_bar=from_config rest="


def test_double_dash_stops_parsing(tmp_path, bash):
    out = bash(["bash", _script(tmp_path), "--", "--nj", "2"])
    assert out.stdout.strip().endswith("rest=--nj 2")
