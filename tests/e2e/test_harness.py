"""The end-to-end harness itself: a real tensorboard starts, answers, and is gone afterwards."""

import os

from tests.e2e import harness


def test_tensorboard_starts_answers_and_is_killed_with_its_children(tmp_path):
    with harness.tensorboard(str(tmp_path)) as tb:
        assert tb.url.startswith("http://127.0.0.1:")
        listing = harness.get_json(tb.url + "data/plugins_listing")
        assert "scalars" in listing  # the core plugins answer
        pid = tb.proc.pid
    assert tb.proc.poll() is not None
    # No process of the group survives (the Rust data server included).
    survivors = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if int(fields[3]) == pid and fields[0] != "Z":  # pgrp is the 5th stat field
                    survivors.append(entry)
            except (OSError, IndexError, ValueError):
                continue
    assert survivors == []


def test_node_script_drives_headless_chromium_against_tensorboard(tmp_path):
    harness.require_browser()
    out = harness.artifacts("harness")
    with harness.tensorboard(str(tmp_path)) as tb:
        result = harness.run_node_script("smoke_tensorboard.mjs", tb.url, out)
    assert result["title"] == "TensorBoard"
    assert os.path.getsize(os.path.join(out, "tensorboard.png")) > 1000
