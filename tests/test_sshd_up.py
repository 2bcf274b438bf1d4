"""tests/sshd/up, the loopback sshd the SSH-mode tests and the benchmarks use: `--plain-shell`
gives sessions the shell a server's plain account has (bash reads no ~/.bashrc over ssh), and a
running server started with the other setting is replaced, not reused."""

from __future__ import annotations

import os
import pwd
import subprocess
from pathlib import Path

import pytest

from conftest import sshd_up


def up(directory: Path, *flags: str) -> dict:
    env = sshd_up(*flags, str(directory))
    env["PID"] = (directory / "sshd.pid").read_text().strip()
    return env


def session_shell_level(env: dict) -> str:
    out = subprocess.run(
        ["ssh", "-F", env["SSH_CONFIG"], "-o", "BatchMode=yes", "node-0", "echo $SHLVL"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


@pytest.fixture
def directory(tmp_path):
    d = tmp_path / "sshd"
    yield d
    pid = d / "sshd.pid"
    if pid.exists():
        try:
            os.kill(int(pid.read_text()), 15)
        except ProcessLookupError:
            pass


@pytest.mark.skipif(
    Path(pwd.getpwuid(os.getuid()).pw_shell).name != "bash", reason="the rc-file rule checked is bash's"
)
def test_plain_shell_sessions_are_not_top_level_shells_and_a_switch_replaces_the_server(directory):
    # bash reads ~/.bashrc in an ssh session only as a top-level shell (SHLVL 1 once it has
    # counted itself); the plain server hands it SHLVL=1, so it counts itself 2 and reads none.
    plain = up(directory, "--plain-shell")
    assert session_shell_level(plain) == "2"
    assert up(directory, "--plain-shell")["PID"] == plain["PID"], "the same setting reuses the running server"

    default = up(directory)
    assert default["PID"] != plain["PID"], "the other setting replaces the running server"
    assert session_shell_level(default) == "1", "without --plain-shell the session is a top-level shell"
    assert up(directory)["PID"] == default["PID"]
