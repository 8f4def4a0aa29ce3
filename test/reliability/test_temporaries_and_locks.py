"""Reliability: temporary files never outlive a run (SIGTERM, ``kill -9`` then the next write),
output paths are checked before any model loads, and one stage script runs per recipe dir.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from conftest import ROOT, requires_espeak, two_talkers
from tse2.utils.fileio import atomic_open, write_wav

FS = 16000

# a writer that has its temporary open and locked, half-written, when it is killed
WRITER = """
import sys, time
from tse2.utils.cli import exit_on_sigterm
from tse2.utils.fileio import atomic_open
exit_on_sigterm()
with atomic_open(sys.argv[1]) as f:
    f.write("half")
    f.flush()
    print("writing", flush=True)
    time.sleep(60)
"""


def _start_writer(out: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(out)], stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout.readline().strip() == "writing"
    return proc


def _temporaries(d: Path):
    return sorted(p.name for p in d.iterdir() if ".tmp" in p.name)


def test_sigterm_removes_the_temporary(tmp_path):
    proc = _start_writer(tmp_path / "RESULTS.md")
    assert _temporaries(tmp_path) == [".RESULTS.md.tmp.md"]
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(10) == 128 + signal.SIGTERM
    assert list(tmp_path.iterdir()) == []  # no temporary, no half-written result


def test_the_next_write_takes_over_a_killed_writers_temporary(tmp_path):
    proc = _start_writer(tmp_path / "target.wav")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    assert _temporaries(tmp_path) == [".target.wav.tmp.wav"]  # what kill -9 leaves
    write_wav(tmp_path / "target.wav", np.full(FS // 4, 0.25, np.float32), FS)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["target.wav"]
    audio, rate = sf.read(tmp_path / "target.wav")
    assert rate == FS and len(audio) == FS // 4 and abs(audio.mean() - 0.25) < 1e-3


def test_a_live_writers_temporary_is_left_alone(tmp_path):
    proc = _start_writer(tmp_path / "scores.json")
    try:
        with atomic_open(tmp_path / "scores.json") as f:  # a second writer of the same path
            f.write("{}\n")
        assert (tmp_path / "scores.json").read_text() == "{}\n"
        assert _temporaries(tmp_path) == [".scores.json.tmp.json"]  # still the live one's
    finally:
        proc.kill()
        proc.wait(10)


def _wav(path: Path, rate: int = FS, seconds: float = 1.0) -> Path:
    t = np.arange(int(rate * seconds)) / rate
    sf.write(path, (0.1 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), rate)
    return path


def test_output_paths_and_prompts_are_checked_before_any_model_loads(tmp_path, caplog):
    """A bad output path used to fail after the whole extraction (65 s on a 10-min file), naming the
    temporary file; an empty prompt after the models loaded.  A model dir that does not exist shows
    that nothing was loaded."""
    from tse2.bin import extract, remix

    mix = _wav(tmp_path / "in.wav")
    nowhere = str(tmp_path / "no_model")
    (tmp_path / "outdir").mkdir()
    (tmp_path / "afile").write_text("x")
    cases = [
        (extract, ["--prompt", "the louder one", str(mix), str(tmp_path / "outdir")], "outdir: the output is a directory"),
        (extract, ["--prompt", "the louder one", "--other", str(tmp_path / "afile/o.wav"), str(mix),
                   str(tmp_path / "t.wav")], "afile is a file, not a directory"),
        (extract, ["--prompt", "  ", str(mix), str(tmp_path / "t.wav")], "--prompt is empty"),
        (remix, ["--prompt", "remove the dog", str(mix), str(tmp_path / "outdir")], "outdir: the remix is a directory"),
    ]
    for tool, argv, message in cases:
        caplog.clear()
        t0 = time.perf_counter()
        assert tool.main(["--model_dir", nowhere] + argv) == 1
        assert message in caplog.text and "no_model" not in caplog.text and "Traceback" not in caplog.text
        assert time.perf_counter() - t0 < 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "in.wav", "outdir"]


def test_rates_below_8khz_are_refused(tmp_path, caplog):
    """A 100 Hz file used to be resampled and 'separated' with rc 0."""
    from tse2.bin import extract

    low = _wav(tmp_path / "low.wav", rate=100, seconds=3.0)
    assert extract.main(["--model_dir", str(tmp_path / "no_model"), "--prompt", "the louder one", str(low),
                         str(tmp_path / "t.wav")]) == 1
    assert "low.wav: sample rate 100 Hz; tse2 needs at least 8000 Hz" in caplog.text


@requires_espeak
def test_the_end_user_tools_print_no_library_noise(tmp_path):
    """extract printed ESPnet's "Eps is deprecated" and a torch FutureWarning; remix "Failed to import
    Flash Attention" and a progress bar.  The score is named for what it is."""
    from tse2.bin import pack

    released = ROOT / "egs/mini_espeak/tse2/released/sep_blstm_256x3_dm"
    assert pack.main(["--sep_dir", str(released), "--out_dir", str(tmp_path / "p")]) == 0
    mix = tmp_path / "mix.wav"
    a, b = two_talkers()
    sf.write(mix, a + b, FS)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    runs = {
        "extract": [sys.executable, "-m", "tse2.bin.extract", "--model_dir", str(tmp_path / "p"), "--selector",
                    "attributes", "--prompt", "the louder one", str(mix), str(tmp_path / "t.wav")],
        "remix": [sys.executable, "-m", "tse2.bin.remix", "--model_dir",
                  str(ROOT / "egs/mini_espeak/remix/released/remix_blstm_minilm"), "--prompt", "turn down the music",
                  str(mix), str(tmp_path / "r.wav")],
    }
    for name, cmd in runs.items():
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
        assert out.returncode == 0, out.stderr
        for noise in ("Eps is deprecated", "Warning", "warnings.warn", "Flash Attention", "Loading weights", "it/s"):
            assert noise not in out.stderr + out.stdout, (name, noise, out.stderr)
        if name == "extract":
            assert "output 1: attribute margin" in out.stdout and (tmp_path / "t.wav").is_file()


STAGE_SCRIPT = """#!/usr/bin/env bash
# a stage script shaped like tse2.sh: the guard, options, then a long job (a python process)
set -euo pipefail
. utils/lib/stage_guard.sh
guard_stages
run_args=$(printf '%q ' "$0" "$@")
guard_recipe_dir "${run_args}"
echo started
python3 -c "import time; open('job.pid', 'w').write(__import__('os').getpid().__str__()); time.sleep(120)"
"""


def _recipe(tmp_path: Path) -> Path:
    d = tmp_path / "egs/x/tse2"
    d.mkdir(parents=True)
    (d / "utils").symlink_to(ROOT / "utils")
    (d / "stages.sh").write_text(STAGE_SCRIPT)
    (d / "run.sh").write_text("#!/usr/bin/env bash\nset -euo pipefail\n./stages.sh --nj 2 \"$@\"\n")
    for f in ("stages.sh", "run.sh"):
        (d / f).chmod(0o755)
    return d


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]


def _wait_for(cond, seconds: float = 15.0) -> bool:
    end = time.time() + seconds
    while time.time() < end:
        if cond():
            return True
        time.sleep(0.2)
    return False


def test_the_stage_scripts_are_guarded():
    head = (ROOT / "utils/lib/task.sh").read_text()  # the head every task script sources first
    assert head.index(". utils/lib/stage_guard.sh") < head.index("guard_stages") < head.index(". utils/lib/stages.sh")
    for script in ("tse2/tse2.sh", "remix/remix.sh", "retrieval/retrieval.sh"):
        text = (ROOT / "egs/TEMPLATE" / script).read_text()
        assert text.index("set -euo pipefail") < text.index(". utils/lib/task.sh") < text.index("parse_options.sh") \
            < text.index("guard_recipe_dir"), script


def test_one_run_per_recipe_dir_and_killing_run_sh_stops_its_jobs(tmp_path):
    """A killed run.sh used to leave tse2.sh running, and a rerun then ran beside it, unlocked."""
    d = _recipe(tmp_path)
    env = {**os.environ, "TSE2_LOCK_WAIT": "1"}
    for victim in ("run.sh", "stages.sh"):
        (d / "job.pid").unlink(missing_ok=True)
        first = subprocess.Popen(["./run.sh"], cwd=d, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert first.stdout.readline().strip() == "started"
        assert _wait_for(lambda: (d / "job.pid").is_file() and (d / "job.pid").read_text())
        job = int((d / "job.pid").read_text())
        second = subprocess.run(["./run.sh"], cwd=d, env=env, capture_output=True, text=True, timeout=60)
        assert second.returncode == 1
        assert "Error: another run holds this recipe dir" in second.stderr and "stages.sh --nj 2" in second.stderr
        pid = first.pid if victim == "run.sh" else int(subprocess.check_output(["pgrep", "-P", str(first.pid)]).split()[0])
        os.kill(pid, signal.SIGTERM)
        if victim == "run.sh":
            first.wait(30)  # its parent reaps it, as a shell would
        assert _wait_for(lambda: not _alive(job)), f"killing {victim} left its job running: {first.stderr.read()}"
        first.wait(30)
        # the lock went with them: a new run starts at once
        again = subprocess.Popen(["./run.sh"], cwd=d, env=env, stdout=subprocess.PIPE, text=True)
        assert again.stdout.readline().strip() == "started"
        os.kill(again.pid, signal.SIGTERM)
        again.wait(30)
        assert _wait_for(lambda: not subprocess.run(["pgrep", "-f", "time.sleep\\(120\\)"], capture_output=True).stdout)
