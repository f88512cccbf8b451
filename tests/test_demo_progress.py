"""The demo never sits silent: a line per run as it starts, progress lines with the
step of total and seconds while it trains, and a one-line summary at the end."""

import re

import pytest


def test_demo_prints_progress_per_run_and_a_summary(tmp_path, capsys):
    pytest.importorskip("torch")
    pytest.importorskip("lightning")
    from tb_archviz.callbacks.demo import run_demo

    out = run_demo(str(tmp_path / "demo"), steps=8, only=["healthy_moons", "broken_plateau"])
    assert sorted(out) == ["broken_plateau", "healthy_moons"]
    lines = capsys.readouterr().out.splitlines()
    progress = [ln for ln in lines if re.search(r"\[\d/2\] \w+ +step +\d+/8 +[\d.]+s", ln)]
    runs = {re.search(r"\] (\w+)", ln).group(1) for ln in progress}
    assert runs == {"healthy_moons", "broken_plateau"}, lines
    # Not only a start and an end: steps in between are reported (a quarter at a time).
    steps = sorted({int(re.search(r"step +(\d+)/", ln).group(1)) for ln in progress})
    assert steps[0] == 0 and steps[-1] == 8 and len(steps) >= 4, lines
    assert any("done:" in ln for ln in progress)
    assert re.match(r"trained 2 runs of 8 steps in \d+s into ", lines[-1]), lines[-1]
