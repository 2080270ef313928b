"""The asv suite as the README runs it: the smoke command saves results, ``asv publish``
writes a report, and that report, opened in headless Chromium, draws data for every
benchmark that ran (and the check fails for one that did not).

It runs asv on a copy of ``asv.conf.json`` whose results, report and machine
file live in a temporary folder, on one cheap benchmark, so that it takes
about half a minute. It skips, saying why, where Chromium or the Debian
JavaScript packages the check serves are missing (``.ci/run`` installs them).
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import asv_report

ROOT = Path(__file__).resolve().parents[1]

BENCHMARK = "asv_kernels.ReadBandwidth.time_read"


def _git(*arguments):
    return subprocess.run(["git", *arguments], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()


def _config(tmp_path, branch):
    """asv.conf.json with everything it writes moved under tmp_path, publishing ``branch``."""
    text = re.sub(r"^\s*//.*$", "", (ROOT / "asv.conf.json").read_text(), flags=re.M)
    config = json.loads(text)
    config.update(
        repo=str(ROOT), benchmark_dir=str(ROOT / "benchmarks"), branches=[branch],
        env_dir=str(tmp_path / "env"), results_dir=str(tmp_path / "results"), html_dir=str(tmp_path / "html"),
    )
    path = tmp_path / "asv.conf.json"
    path.write_text(json.dumps(config))
    return path


def _asv(config, env, *arguments):
    result = subprocess.run([sys.executable, "-m", "asv", *arguments, "--config", str(config)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return result.stdout


@pytest.mark.slow
def test_the_published_report_shows_data_in_a_browser(tmp_path):
    pytest.importorskip("asv", reason="asv is not installed (the [bench] extra)")
    try:
        asv_report.browser()
        missing = [path for path in asv_report.LOCAL_COPIES.values() if path and not Path(path).exists()]
    except asv_report.Unavailable as exc:
        pytest.skip(str(exc))
    if missing:
        pytest.skip(f"Debian's JavaScript packages are not installed ({', '.join(missing)}); .ci/run installs them")
    branch = _git("rev-parse", "--abbrev-ref", "HEAD")
    if branch == "HEAD":
        pytest.skip("detached HEAD: asv publishes the results of a branch")
    config = _config(tmp_path, branch)
    env = {**os.environ, "HOME": str(tmp_path), "FASTLR_BENCH_QUICK": "1"}  # HOME: asv's machine file
    _asv(config, env, "machine", "--yes")
    # The README's smoke command, on one benchmark: results are saved (--set-commit-hash).
    _asv(config, env, "run", "--python=same", "--launch-method=forkserver", f"--set-commit-hash={_git('rev-parse', 'HEAD')}",
         "--bench", re.escape(BENCHMARK.split(".", 1)[1]))
    assert list((tmp_path / "results").rglob("*.json")), "the smoke run saved no results"
    _asv(config, env, "publish")

    points = asv_report.points_per_graph(tmp_path / "html")
    assert points[BENCHMARK] >= 1, points  # drawn, with data, by the page's own JavaScript
    others = {name: count for name, count in points.items() if name != BENCHMARK}
    assert others and all(count <= 0 for count in others.values()), others  # never run: no data
    assert asv_report.main([str(tmp_path / "html")]) == 1  # so the check fails, naming them
