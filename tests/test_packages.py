"""The agent packages: the .deb installed with dpkg and run, its man pages and completions in
place; the .rpm checked with rpm -qpl."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from conftest import REPO, credential
from installed import machine_lock

PACKAGES = REPO / "target" / "packages"
EXPECTED = {
    "/usr/bin/assetkit",
    "/etc/assetkit/agent.toml",
    "/usr/lib/tmpfiles.d/assetkit.conf",
}


def package(pattern: str) -> Path:
    found = sorted(PACKAGES.glob(pattern))
    if not found:
        pytest.fail(f"no {pattern} in {PACKAGES}: `make packages` builds them")
    return found[-1]


def test_rpm_contents():
    rpm = package("assetkit-*.rpm")
    files = set(subprocess.run(["rpm", "-qpl", str(rpm)], check=True, capture_output=True, text=True).stdout.split())
    assert EXPECTED | {"/usr/lib/systemd/system/assetkit-report.service", "/usr/lib/systemd/system/assetkit-report.timer"} <= files
    assert {"/usr/share/man/man1/assetkit.1.gz", "/usr/share/man/man1/assetkit-report.1.gz", "/usr/share/zsh/site-functions/_assetkit"} <= files
    scripts = subprocess.run(["rpm", "-qp", "--scripts", str(rpm)], check=True, capture_output=True, text=True).stdout
    assert "install -d -m 0700 /var/spool/assetkit" in scripts
    config = subprocess.run(["rpm", "-qpc", str(rpm)], check=True, capture_output=True, text=True).stdout.split()
    assert config == ["/etc/assetkit/agent.toml"]
    modes = subprocess.run(["rpm", "-qp", "--dump", str(rpm)], check=True, capture_output=True, text=True).stdout
    binary_line = next(l for l in modes.splitlines() if l.startswith("/usr/bin/assetkit "))
    assert binary_line.split()[4] == "0100755"


def test_deb_installs_and_the_installed_agent_reports(receiver, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("dpkg -i needs root (CI runs as root)")
    deb = package("assetkit_*.deb")
    contents = subprocess.run(["dpkg-deb", "-c", str(deb)], check=True, capture_output=True, text=True).stdout
    for path in EXPECTED | {"/lib/systemd/system/assetkit-report.service", "/lib/systemd/system/assetkit-report.timer"}:
        assert "." + path in contents, path
    with machine_lock():
        install_report_purge(deb, receiver, tmp_path)


def install_report_purge(deb: Path, receiver, tmp_path: Path) -> None:
    subprocess.run(["dpkg", "-i", str(deb)], check=True, capture_output=True)
    try:
        assert stat.S_IMODE(os.stat("/var/spool/assetkit").st_mode) == 0o700
        assert Path("/etc/assetkit/plugins.d").is_dir()
        assert 'server    = "https://cmdb.example.com:8600"' in Path("/etc/assetkit/agent.toml").read_text()
        out = subprocess.run(["/usr/bin/assetkit", "--version"], check=True, capture_output=True, text=True)
        assert out.stdout.startswith("assetkit ")
        page = subprocess.run(["man", "-P", "cat", "assetkit-report"], check=True, capture_output=True, text=True).stdout
        page = " ".join(page.split())  # man justifies lines with extra spaces
        assert "assetkit-report - Agent mode" in page and "--no-splay" in page, page[:300]
        for completion in ("bash-completion/completions/assetkit", "zsh/vendor-completions/_assetkit", "fish/vendor_completions.d/assetkit.fish"):
            assert Path("/usr/share", completion).is_file(), completion
        cfg = receiver.agent_config(tmp_path / "host")
        for _ in range(2):
            report = subprocess.run(["/usr/bin/assetkit", "--config", str(cfg), "report", "--no-splay"], capture_output=True, text=True)
            assert report.returncode == 0, report.stderr
            assert "reported as" in report.stderr
        [asset] = receiver.assets()
        assert asset["last_mode"] == "agent"
        # Enrolled by the first run; the second was signed with the host's own credential.
        assert receiver.signers() == [receiver.agent_key[0], credential(tmp_path / "host" / "host.key")]
    finally:
        subprocess.run(["dpkg", "--purge", "assetkit"], check=True, capture_output=True)
    assert not Path("/usr/bin/assetkit").exists()
    shutil.rmtree("/var/spool/assetkit", ignore_errors=True)
