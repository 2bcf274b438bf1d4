"""The pyo3 extension: same reports as the CLI, typed exceptions, the GIL released, the schema."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import jsonschema
import pytest

import assetkit
from conftest import REPO, binary, build_snapshot, without_volatile

SCHEMA = json.loads((REPO / "schema" / "report.schema.json").read_text())


def cli_collect(*args: str) -> dict:
    out = subprocess.run([binary("assetkit"), "collect", *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def test_fixture_reports_equal_the_cli(golden_cases, tmp_path):
    assert len(golden_cases) >= 25
    for spec in golden_cases:
        snap = build_snapshot(spec, tmp_path / spec["name"])
        from_python = assetkit.parse_snapshot(str(snap))
        from_cli = cli_collect("--snapshot", str(snap))
        assert without_volatile(from_python) == without_volatile(from_cli), spec["name"]
        # And the extension returns plain Python types, as json.loads would.
        assert json.loads(json.dumps(from_python)) == from_python


def test_live_report_equals_the_cli():
    assert without_volatile(assetkit.collect()) == without_volatile(cli_collect())
    only = assetkit.collect(only=["os", "cpu"])
    assert set(only["facts"]) == {"os", "cpu"}
    assert only["agent"]["mode"] == "cli"
    assert assetkit.collect(only=["os"], mode="salt")["agent"]["mode"] == "salt"


def dpkg_installed() -> set[tuple[str, str, str]]:
    """(name, version, arch) of every package dpkg-query calls installed."""
    out = subprocess.run(
        ["dpkg-query", "-W", "-f=${db:Status-Abbrev}\t${Package}\t${Version}\t${Architecture}\n"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    rows = [line.split("\t") for line in out.splitlines()]
    return {(name, version, arch) for abbrev, name, version, arch in rows if abbrev[1:2] == "i"}


def test_packages_are_what_dpkg_query_lists():
    """The packages plugin through the extension, on this Debian machine: every installed package,
    as dpkg-query prints it, and nothing else. (Other tests install packages on this machine: a
    reading taken while dpkg-query's answer changed is taken again.)"""
    for _ in range(5):
        before = dpkg_installed()
        report = assetkit.collect(only=["packages"])
        if dpkg_installed() == before:
            break
    assert report["errors"] == []
    assert set(report["facts"]) == {"packages", "packages_digest"}
    assert report["facts"]["packages_digest"].startswith("sha256:")
    packages = report["facts"]["packages"]
    got = {(p["name"], p["version"], p["arch"]) for p in packages if p["manager"] == "deb"}
    assert got == before
    assert len(got) > 700, "this machine has some 800 dpkg packages"
    keys = [(p["manager"], p["name"], p.get("arch") or "") for p in packages]
    assert keys == sorted(keys), "sorted by manager, name, arch"


def test_reports_validate_against_the_published_schema(golden_cases, tmp_path):
    validator = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    reports = [assetkit.collect(), cli_collect()]
    for spec in golden_cases:
        report = assetkit.parse_snapshot(str(build_snapshot(spec, tmp_path / spec["name"])))
        # The captures hold no /proc/sys/kernel/hostname; the schema is what the receiver takes,
        # and it takes a report that names its host (a hostname, cert hostname or serial).
        if report["host"]["hostname"] is None:
            report["host"]["hostname"] = "golden-" + spec["name"].replace("_", "-").replace(".", "-").lower()
        reports.append(report)
    for report in reports:
        errors = sorted(validator.iter_errors(report), key=lambda e: e.path)
        assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]
    # The schema is not vacuous: a wrong type or a missing section key is caught.
    bad = assetkit.collect(only=["cpu"])
    bad["facts"]["cpu"]["logical_cores"] = "two"
    assert list(validator.iter_errors(bad))
    del bad["errors"]
    assert any(e.validator == "required" for e in validator.iter_errors(bad))
    # Nor is the name rule: a report that names no host, or names it wrongly, is refused.
    unnamed = assetkit.collect(only=["cpu"])
    unnamed["host"]["hostname"] = None
    assert any(list(e.absolute_schema_path)[:1] == ["then"] for e in validator.iter_errors(unnamed))
    unnamed["host"]["hostname"] = "web_01"
    assert list(validator.iter_errors(unnamed))


def test_typed_exceptions(tmp_path):
    assert issubclass(assetkit.ConfigError, assetkit.AssetkitError)
    assert issubclass(assetkit.CollectError, assetkit.AssetkitError)
    assert issubclass(assetkit.ReportError, assetkit.AssetkitError)
    assert not issubclass(assetkit.AssetkitError, RuntimeError)
    with pytest.raises(assetkit.ConfigError, match='unknown plugin "flux_capacitor"'):
        assetkit.collect(only=["flux_capacitor"])
    with pytest.raises(assetkit.CollectError, match="not a directory"):
        assetkit.parse_snapshot(str(tmp_path / "missing"))
    bad = tmp_path / "bad.toml"
    bad.write_text("timeout = 'soon'\n")
    with pytest.raises(assetkit.ConfigError, match="soon"):
        assetkit.collect(config=str(bad))
    # A receiver that is down: the report is spooled and ReportError says so.
    key = tmp_path / "key"
    key.write_text("aks_x\n")
    key.chmod(0o600)
    cfg = tmp_path / "agent.toml"
    cfg.write_text(
        f'server = "http://127.0.0.1:9"\nkey_id = "ak_x"\nkey_file = "{key}"\n'
        f'cert_file = "{tmp_path / "cert"}"\nspool_dir = "{tmp_path / "spool"}"\ntimeout = "1s"\n'
        f'host_key_file = "{tmp_path / "host.key"}"\n'
    )
    with pytest.raises(assetkit.ReportError, match="spooled"):
        assetkit.report(config=str(cfg))
    assert len(list((tmp_path / "spool").glob("*.json"))) == 1
    key.chmod(0o644)
    with pytest.raises(assetkit.ConfigError, match="chmod 600"):
        assetkit.report(config=str(cfg))


GIL_PROBE = r"""
import os, sys, threading, assetkit
snap = sys.argv[1]
fifo = os.path.join(snap, "files", "proc", "cpuinfo")
result = {}
worker = threading.Thread(target=lambda: result.update(assetkit.parse_snapshot(snap, only=["cpu"])))
worker.start()
# The worker is now blocked inside Rust, opening a FIFO nobody writes to. If it held the GIL,
# this thread could not run a single bytecode and the process would hang (the test's timeout).
ticks = sum(1 for _ in range(200_000))
assert worker.is_alive(), "collect returned before its input existed"
with open(fifo, "w") as writer:  # unblocks the worker
    writer.write("processor\t: 0\nmodel name\t: Test CPU @ 2.00GHz\n\nprocessor\t: 1\nmodel name\t: Test CPU @ 2.00GHz\n")
worker.join()
cpu = result["facts"]["cpu"]
print(ticks, cpu["logical_cores"], cpu["mhz"])
"""


def test_the_gil_is_released_during_a_slow_collect(tmp_path):
    import sys

    snap = tmp_path / "snap"
    (snap / "files" / "proc").mkdir(parents=True)
    os.mkfifo(snap / "files" / "proc" / "cpuinfo")
    # In a child process, so that a GIL held by mistake fails this test by timeout, not by hanging.
    out = subprocess.run([sys.executable, "-c", GIL_PROBE, str(snap)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["200000", "2", "2000"]


def test_snapshot_script_and_sign():
    assert assetkit.snapshot_script().startswith("#!/bin/sh")
    headers = assetkit.sign("POST", "/api/v1/reports", b"{}", "ak_1", "aks_test")
    assert set(headers) == {"X-Assetkit-Key", "X-Assetkit-Timestamp", "X-Assetkit-Nonce", "X-Assetkit-Signature"}
    assert len(headers["X-Assetkit-Nonce"]) == 32
    assert assetkit.__version__ == subprocess.run([binary("assetkit"), "--version"], capture_output=True, text=True).stdout.split()[-1]
