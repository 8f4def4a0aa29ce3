"""Start-up: building a model imports no text front end that reaches for the network."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT


def test_espnet_tasks_import_without_nltk_or_inflect_and_both_still_work_when_used():
    code = (
        "import sys, tse2.tasks.enh, tse2.tasks.cls\n"
        "assert 'nltk' not in sys.modules and 'inflect' not in sys.modules, sorted(m for m in sys.modules if 'nltk' in m)[:3]\n"
        "import g2p_en\n"
        "assert 'nltk' not in sys.modules\n"
        "print(g2p_en.G2p.__module__)\n"  # a use imports the real module
        "from espnet2.text.cleaner import TextCleaner\n"
        "print(TextCleaner(['tacotron'])('Mr. Smith has 2 dogs.'))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-2:] == ["g2p_en.g2p", "MISTER SMITH HAS TWO DOGS."]
