"""The Salt execution module, returner and runner under real salt-call, and under a real
salt-master and salt-minion on loopback (pytest-salt-factories)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

import assetkit
from conftest import REPO, credential, without_volatile

SALT_MODULE = REPO / "salt_module"
VENV_BIN = Path(sys.executable).parent


def salt_call(conf_dir: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(VENV_BIN / "salt-call"), "--local", "-c", str(conf_dir), "-m", str(SALT_MODULE), "--out=json", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


@pytest.fixture
def minion_conf(tmp_path):
    def write(extra: dict | None = None) -> Path:
        conf = tmp_path / "conf"
        conf.mkdir(exist_ok=True)
        settings = {"root_dir": str(tmp_path), "file_client": "local", "id": "salt-test-minion", "log_level": "warning"}
        settings.update(extra or {})
        (conf / "minion").write_text(json.dumps(settings))  # JSON is YAML
        return conf

    return write


def test_salt_call_collect_returns_the_report(minion_conf):
    out = salt_call(minion_conf(), "asset.collect")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)["local"]
    assert report["agent"]["mode"] == "salt"
    expected = assetkit.collect(mode="salt")
    assert without_volatile(report) == without_volatile(expected)
    only = json.loads(salt_call(minion_conf(), "asset.collect", "only=os,cpu").stdout)["local"]
    assert set(only["facts"]) == {"os", "cpu"}
    # The installed packages come back too, from the same Rust code (some 800 dpkg packages here).
    packages = json.loads(salt_call(minion_conf(), "asset.collect", "only=packages").stdout)["local"]
    assert packages["errors"] == []
    assert len([p for p in packages["facts"]["packages"] if p["manager"] == "deb"]) > 700
    assert packages["facts"]["packages_digest"].startswith("sha256:")
    assert "packages" in report["facts"], "on by default"


def test_failures_set_a_nonzero_retcode(minion_conf):
    out = salt_call(minion_conf(), "asset.collect", "only=flux_capacitor")
    assert out.returncode != 0
    ret = json.loads(out.stdout)["local"]
    assert ret["result"] is False and "unknown plugin" in ret["comment"]


def test_missing_extension_disables_the_module_with_a_reason(minion_conf, tmp_path):
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "assetkit.py").write_text("raise ImportError('no assetkit wheel on this minion')\n")
    out = salt_call(minion_conf(), "asset.collect", env={"PYTHONPATH": str(shadow)})
    assert out.returncode != 0
    assert "'asset' __virtual__ returned False" in out.stdout + out.stderr
    assert "salt-pip install" in out.stdout + out.stderr


def test_every_function_documents_a_cli_example(minion_conf):
    docs = json.loads(salt_call(minion_conf(), "sys.doc", "asset").stdout)["local"]
    assert set(docs) == {"asset.collect", "asset.report", "asset.cert", "asset.snapshot_script"}
    for name, doc in docs.items():
        assert "CLI Example:" in doc, name


def test_asset_report_lands_in_the_receiver(receiver, minion_conf, tmp_path):
    host = tmp_path / "host"
    conf = minion_conf(
        {
            "assetkit": {
                "server": receiver.url,
                "key_id": receiver.agent_key[0],
                "key_file": str(receiver.key_file()),
                "cert_file": str(host / "cert"),
                "spool_dir": str(host / "spool"),
                "host_key_file": str(host / "host.key"),
            }
        }
    )
    fleet = receiver.agent_key[0]
    out = salt_call(conf, "asset.report")
    assert out.returncode == 0, out.stdout + out.stderr
    outcome = json.loads(out.stdout)["local"]
    assert outcome["answer"]["action"] == "created"
    assert receiver.signers() == [fleet], "the first report enrols with the fleet key"
    own = credential(host / "host.key")
    # Again: signed with the minion's own credential, which the fleet key no longer replaces.
    again = salt_call(conf, "asset.report")
    assert again.returncode == 0, again.stdout + again.stderr
    assert json.loads(again.stdout)["local"]["answer"]["action"] == "unchanged"
    assert receiver.signers() == [fleet, own]
    assert credential(host / "host.key") == own
    cert = json.loads(salt_call(conf, "asset.cert").stdout)["local"]
    assert cert["cert_hostname"] == outcome["cert_hostname"]
    [asset] = receiver.assets()
    assert asset["last_mode"] == "salt"
    assert asset["hostname"] == cert["cert_hostname"]


def wait_for(condition, what: str, seconds: float = 60):
    """Polls `condition` until it returns something truthy (returners run after the minion has
    answered the master, so their effect is a condition to wait for, with a deadline)."""
    deadline = time.monotonic() + seconds
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)
    return value


def test_master_and_minion(salt_factories, receiver, tmp_path):
    fleet = receiver.agent_key[0]
    settings = {"server": receiver.url, "key_id": fleet, "key_file": str(receiver.key_file())}
    master_credentials = tmp_path / "master" / "credentials"
    minion_credentials = tmp_path / "minion" / "credentials"
    master = salt_factories.salt_master_daemon(
        "assetkit-master",
        overrides={
            "file_roots": {"base": [str(SALT_MODULE)]},
            "assetkit": {**settings, "credentials_dir": str(master_credentials)},
            "log_level_logfile": "warning",
        },
    )
    minion = master.salt_minion_daemon(
        "assetkit-minion",
        overrides={
            "assetkit": {
                **settings,
                "cert_file": str(tmp_path / "cert"),
                "spool_dir": str(tmp_path / "spool"),
                "host_key_file": str(tmp_path / "host.key"),
                "credentials_dir": str(minion_credentials),
            },
            "log_level_logfile": "warning",
        },
    )
    with master.started(), minion.started():
        salt = master.salt_cli(timeout=120)
        run = master.salt_run_cli(timeout=120)
        synced = salt.run("saltutil.sync_all", minion_tgt=minion.id)
        assert synced.returncode == 0, synced
        assert "modules.asset" in synced.data["modules"] and "returners.assetkit" in synced.data["returners"]
        assert run.run("saltutil.sync_runners").returncode == 0

        collected = salt.run("asset.collect", "only=os,board,cpu", minion_tgt=minion.id)
        assert collected.returncode == 0, collected
        assert collected.data["agent"]["mode"] == "salt"
        assert set(collected.data["facts"]) == {"os", "system", "baseboard", "bios", "cpu"}

        # The returner, on the minion: the first report enrols with the fleet key, the next ones
        # are signed with the credential it keeps under the minion's id.
        returned = salt.run("asset.collect", "--return", "assetkit", minion_tgt=minion.id)
        assert returned.returncode == 0, returned
        [asset] = wait_for(receiver.assets, "the returner's first report")
        assert asset["last_mode"] == "salt"
        assert receiver.signers() == [fleet]
        by_returner = credential(wait_for(lambda: next(minion_credentials.glob("*.json"), None), "the credential"))
        # The credential, and beside it the package list the receiver acknowledged (the next
        # report sends its digest alone), both the minion's alone.
        kept = sorted(p.name for p in minion_credentials.iterdir())
        assert kept in ([f"{minion.id}.json"], [f"{minion.id}.json", f"{minion.id}.json.packages"]), kept
        assert all(stat.S_IMODE((minion_credentials / k).stat().st_mode) == 0o600 for k in kept)
        assert stat.S_IMODE(minion_credentials.stat().st_mode) == 0o700
        for n in (2, 3):
            assert salt.run("asset.collect", "--return", "assetkit", minion_tgt=minion.id).returncode == 0
            wait_for(lambda: len(receiver.signers()) == n, f"the returner's report {n}")
        assert receiver.signers() == [fleet, by_returner, by_returner]

        # The runner, on the master, has no credential for this minion: its fleet key may not
        # write a host that the returner enrolled.
        refused = run.run("asset.sweep", "tgt=*")
        assert refused.returncode != 0, refused
        assert "host_enrolled" in refused.data["failed"][minion.id], refused.data
        assert not master_credentials.exists() or not any(master_credentials.iterdir())
        # Once an admin allows a re-enrolment, the master enrols it and keeps its own credential.
        status, body = receiver.admin("POST", f"/api/v1/assets/{asset['id']}/reenrol")
        assert status == 200, body
        signed = [fleet, by_returner, by_returner, fleet]
        for n in (1, 2):
            swept = run.run("asset.sweep", "tgt=*")
            assert swept.returncode == 0, swept
            assert swept.data["counts"] == {"reported": 1, "failed": 0, "no_return": 0}, swept.data
            assert swept.data["reported"][minion.id]["asset_id"] == asset["id"]
            assert receiver.signers() == sorted(signed), n
            by_runner = credential(master_credentials / f"{minion.id}.json")
            signed.append(by_runner)
        assert by_runner != by_returner
        assert stat.S_IMODE(master_credentials.stat().st_mode) == 0o700
    [asset] = receiver.assets()
    assert asset["last_mode"] == "salt"
    changes = receiver.get(f"/api/v1/assets/{asset['id']}/changes")["changes"]
    assert changes[-1]["summary"].startswith("asset discovered") and "via salt" in changes[-1]["summary"]
