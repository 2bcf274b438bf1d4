"""The snapshot script that SSH sweeps run on targets: POSIX sh, shellcheck-clean, and the same
snapshot whichever shell runs it."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

import assetkit
from conftest import FIXTURES, binary, without_volatile


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


def records(stream: bytes) -> dict[tuple[str, str], bytes]:
    """The records of a snapshot stream: (kind, name) -> bytes."""
    out = {}
    rest = stream[stream.index(b"ASSETKIT-SNAPSHOT 1\n") + len(b"ASSETKIT-SNAPSHOT 1\n") :]
    while not rest.startswith(b"END\n"):
        header, rest = rest.split(b"\n", 1)
        kind, length, name = header.decode().split(" ", 2)
        out[(kind, name)] = rest[: int(length)]
        rest = rest[int(length) :]
    return out


def test_package_databases_go_over_the_wire_cut_down():
    """dpkg's status file travels with only the lines the packages plugin reads (the
    every-shell test above shows the packages parsed from it equal the live ones)."""
    stream = subprocess.run(["sh", "-s"], input=assetkit.snapshot_script().encode(), capture_output=True, check=True).stdout
    sent = records(stream)[("F", "/var/lib/dpkg/status")]
    with open("/var/lib/dpkg/status", "rb") as f:
        whole = f.read()
    assert 0 < len(sent) < len(whole) / 4, (len(sent), len(whole))
    assert set(line.split(b":")[0] for line in sent.splitlines() if line) <= {
        b"Package", b"Status", b"Version", b"Architecture", b"Source"
    }


def in_namespace_with_rpm_dir(rpm_dir, tmp_path, without_rpm: bool = False) -> bytes:
    """The snapshot script run in a mount namespace where /var/lib/rpm is `rpm_dir` (the host's
    own /var/lib/rpm is untouched): a host with an rpm database, and the real rpm to ask (or,
    `without_rpm`, with rpm's binary hidden under an empty, non-executable file)."""
    if os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("rpm") is None:
        pytest.skip("needs root, unshare and rpm")
    script = tmp_path / "snapshot.sh"
    script.write_text(assetkit.snapshot_script())
    run = f"mount --bind {rpm_dir} /var/lib/rpm && exec sh {script}"
    if without_rpm:
        hidden = tmp_path / "no-rpm"
        hidden.write_bytes(b"")
        hidden.chmod(0o644)
        run = f"mount --bind {hidden} {shutil.which('rpm')} && {run}"
    return subprocess.run(["unshare", "-m", "sh", "-c", run], capture_output=True, check=True).stdout


def test_an_rpm_host_sends_rpm_qa_not_its_database(tmp_path):
    rpm_dir = tmp_path / "rpm"
    rpm_dir.mkdir()
    shutil.copy(FIXTURES / "packages" / "rpm-sqlite" / "rpmdb.sqlite", rpm_dir)
    stream = in_namespace_with_rpm_dir(rpm_dir, tmp_path)
    sent = records(stream)
    assert ("C", "rpm-qa") in sent
    assert not [name for kind, name in sent if name.startswith("/var/lib/rpm")], "the database stays home"
    snap = tmp_path / "snap"
    subprocess.run([binary("assetkit"), "snapshot", "--unpack", "--out", str(snap)], input=stream, check=True, capture_output=True)
    report = assetkit.parse_snapshot(str(snap), only=["packages"])
    assert report["errors"] == []
    rpms = sorted((p["name"], p["version"]) for p in report["facts"]["packages"] if p["manager"] == "rpm")
    assert rpms == [
        ("alpha", "1.0-1"),
        ("beta", "2:3.4.5-7.el9"),
        ("delta", "1.0^git20240101.abc-2.fc40"),
        ("epsilon", "1:10.0001-0.1.beta"),
        ("gamma", "1.0~rc1-1"),
    ]


def test_a_failing_rpm_fails_the_plugin_instead_of_dropping_its_packages(tmp_path):
    rpm_dir = tmp_path / "rpm"
    rpm_dir.mkdir()
    (rpm_dir / "rpmdb.sqlite").write_bytes(b"\x00garbage" * 1024)
    stream = in_namespace_with_rpm_dir(rpm_dir, tmp_path)
    assert ("C", "packages.error") in records(stream)
    snap = tmp_path / "snap"
    subprocess.run([binary("assetkit"), "snapshot", "--unpack", "--out", str(snap)], input=stream, check=True, capture_output=True)
    report = assetkit.parse_snapshot(str(snap), only=["packages"])
    assert "packages" not in report["facts"], "no list at all, not the dpkg packages alone"
    [error] = report["errors"]
    assert error["plugin"] == "packages" and "rpm -qa: exit status 1" in error["message"], error


def test_an_rpm_host_without_rpm_sends_the_database_itself(tmp_path):
    """A minimal image: an rpm database and no rpm binary. The script sends the (small)
    database, and the plugin reads it natively."""
    rpm_dir = tmp_path / "rpm"
    rpm_dir.mkdir()
    shutil.copy(FIXTURES / "packages" / "rpm-sqlite" / "rpmdb.sqlite", rpm_dir)
    stream = in_namespace_with_rpm_dir(rpm_dir, tmp_path, without_rpm=True)
    sent = records(stream)
    assert ("C", "rpm-qa") not in sent
    assert sent[("F", "/var/lib/rpm/rpmdb.sqlite")] == (rpm_dir / "rpmdb.sqlite").read_bytes()
    snap = tmp_path / "snap"
    subprocess.run([binary("assetkit"), "snapshot", "--unpack", "--out", str(snap)], input=stream, check=True, capture_output=True)
    report = assetkit.parse_snapshot(str(snap), only=["packages"])
    assert report["errors"] == []
    assert len([p for p in report["facts"]["packages"] if p["manager"] == "rpm"]) == 5
