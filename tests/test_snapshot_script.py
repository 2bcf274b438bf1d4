"""The snapshot script that SSH sweeps run on targets: POSIX sh, shellcheck-clean, and the same
snapshot whichever shell runs it."""

from __future__ import annotations

import shutil
import subprocess

import pytest

import assetkit
from conftest import binary, without_volatile


def test_snapshot_script_is_shellcheck_clean(tmp_path):
    script = tmp_path / "snapshot.sh"
    script.write_text(assetkit.snapshot_script())
    out = subprocess.run(["shellcheck", "-s", "sh", str(script)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout


@pytest.mark.parametrize("shell", ["dash", "bash", "sh"])
def test_every_shell_gives_the_same_report(shell, tmp_path):
    if shutil.which(shell) is None:
        pytest.fail(f"{shell} is not installed")
    stream = subprocess.run([shell, "-s"], input=assetkit.snapshot_script().encode(), capture_output=True, check=True).stdout
    snap = tmp_path / "snap"
    subprocess.run([binary("assetkit"), "snapshot", "--unpack", "--out", str(snap)], input=stream, check=True, capture_output=True)
    assert without_volatile(assetkit.parse_snapshot(str(snap))) == without_volatile(assetkit.collect())
