"""The Salt formula (salt_module/formula) applied for real: under salt-call --local (the agent
from its package file) and through a real salt-master and salt-minion (the agent from the signed
repository `make repo` builds), twice each, the second run changing nothing. The agent it
installs reports into a receiver and is enrolled; the fleet key from pillar lands in a 0600 file
and never in a state's return, the minion's cache or the master's job cache. assetkit.remove
takes it all away again (under salt-call; the master's run is cleaned up by the test)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from conftest import REPO, credential
from installed import installed_version, package, packages_removed_after, run
from test_repo import new_key

FORMULA = REPO / "salt_module" / "formula"
VENV_BIN = Path(sys.executable).parent
TIMER_LINK = Path("/etc/systemd/system/timers.target.wants/assetkit-report.timer")
CONFIG = Path("/etc/assetkit/agent.toml")
KEY = Path("/etc/assetkit/key")


def pillar_for(receiver, host: Path, **extra) -> dict:
    """The formula's pillar: the machine's agent.toml and key file, but the host's identity
    (credential, cert, spool) under `host`, so the machine's own credential is never written."""
    return {
        "assetkit": {
            "config": {
                "server": receiver.url,
                "key_id": receiver.agent_key[0],
                "host_key_file": str(host / "host.key"),
                "cert_file": str(host / "cert"),
                "spool_dir": str(host / "spool"),
                "timeout": "10s",
            },
            "key": receiver.agent_key[1],
            "schedule": "30min",
            **extra,
        }
    }


def write_pillar(root: Path, pillar: dict) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "top.sls").write_text("base:\n  '*':\n    - assetkit\n")
    (root / "assetkit.sls").write_text(json.dumps(pillar))  # JSON is YAML
    return root


def states(ret: dict | list) -> dict:
    """The state results of one minion's return (a render error is a list of strings)."""
    assert isinstance(ret, dict), f"the formula did not render: {ret}"
    return ret


def changed(ret: dict) -> list[str]:
    return sorted(v["__id__"] for v in states(ret).values() if v["changes"])


def failed(ret: dict) -> dict:
    return {v["__id__"]: v["comment"] for v in states(ret).values() if v["result"] is not True}


def files_containing(root: Path, secret: str) -> list[str]:
    needle = secret.encode()
    return [str(p) for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


def signed_with(db: Path) -> list[tuple[str, str | None]]:
    """(the key that signed, the host credential its answer carried) of each stored report."""
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        return conn.execute("SELECT key_id, host_key_id FROM applied_reports ORDER BY at, key_id").fetchall()


def assert_installed_and_enrolled(receiver, host: Path, secret: str) -> str:
    """The agent installed, configured and enrolled: returns the host's credential id."""
    assert installed_version("assetkit")
    config = CONFIG.read_text()
    assert f'server = "{receiver.url}"' in config and f'host_key_file = "{host / "host.key"}"' in config, config
    assert secret not in config
    assert (stat.S_IMODE(KEY.stat().st_mode), KEY.stat().st_uid) == (0o600, 0)
    assert KEY.read_text().strip() == secret
    assert TIMER_LINK.exists(), "the timer is enabled"
    assert "OnUnitActiveSec=30min" in Path("/etc/systemd/system/assetkit-report.timer.d/schedule.conf").read_text()
    # The first report enrolled the host: signed with the fleet key, its stored answer carries
    # the credential now in the host's credential file.
    own = credential(host / "host.key")
    first, *later = signed_with(receiver.db)
    assert first == (receiver.agent_key[0], own), first
    assert all(key == own for key, _ in later), "after enrolment the fleet key signs nothing"
    [asset] = receiver.assets()
    assert asset["last_mode"] == "agent"
    return own


def timer_run_is_signed_by_the_host(receiver, own: str) -> None:
    """What the timer runs (the unit's ExecStart) now signs with the host's credential."""
    run("/usr/bin/assetkit", "report", "--no-splay")
    assert signed_with(receiver.db)[-1] == (own, None)


def assert_removed(host: Path) -> None:
    assert not installed_version("assetkit")
    assert not CONFIG.exists() and not KEY.exists() and not TIMER_LINK.exists()
    assert not Path("/etc/systemd/system/assetkit-report.timer.d").exists()
    assert (host / "host.key").exists(), "the host's identity is kept by default"


# --- salt-call --local -------------------------------------------------------------------


def salt_call(conf: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(VENV_BIN / "salt-call"), "--local", "-c", str(conf), "--out=json", "--retcode-passthrough", *args],
        capture_output=True,
        text=True,
        timeout=600,
    )


def local_minion(tmp_path: Path, pillar: dict) -> Path:
    """A salt-call --local config serving the formula and `pillar`, its files under tmp_path."""
    conf = tmp_path / "conf"
    conf.mkdir()
    settings = {
        "root_dir": str(tmp_path / "root"),
        "file_client": "local",
        "id": "formula-local",
        "file_roots": {"base": [str(FORMULA)]},
        "pillar_roots": {"base": [str(write_pillar(tmp_path / "pillar", pillar))]},
        "log_level": "warning",
    }
    (conf / "minion").write_text(json.dumps(settings))
    return conf


def test_missing_settings_fail_with_what_to_set_and_write_nothing(tmp_path):
    conf = local_minion(tmp_path, {"assetkit": {"install_from": "none", "config_file": str(tmp_path / "agent.toml")}})
    out = salt_call(conf, "state.apply", "assetkit")
    assert out.returncode != 0
    problems = failed(json.loads(out.stdout)["local"])
    assert "set assetkit:config:server" in problems["assetkit-config-settings"], problems
    assert not (tmp_path / "agent.toml").exists()


def test_a_preenrolled_credential_is_rendered_by_reference_only(tmp_path):
    """The rendered states (what the minion caches, what show_sls prints) name the pillar key
    holding the credential, never the credential."""
    secret = '{"key_id": "hk_0123456789abcdef", "secret": "do-not-show-me-0123456789"}'
    pillar = {"assetkit": {"install_from": "none", "config": {"server": "https://cmdb:8600"}, "host_credential": secret}}
    out = salt_call(local_minion(tmp_path, pillar), "state.show_sls", "assetkit")
    assert out.returncode == 0, out.stdout + out.stderr
    rendered = json.loads(out.stdout)["local"]
    managed = {}
    for state in rendered["assetkit-config-credential-managed"]["file"]:
        if isinstance(state, dict):
            managed.update(state)
    assert managed["contents_pillar"] == "assetkit:host_credential" and managed["mode"] == "0600" and managed["show_changes"] is False
    assert "assetkit-config-key-managed" not in rendered, "no fleet key given, none written"
    assert "do-not-show-me" not in out.stdout


def test_salt_call_local_installs_from_a_file_twice_then_removes(receiver, tmp_path):
    deb = package("assetkit_*.deb")
    host = tmp_path / "host"
    secret = receiver.agent_key[1]
    conf = local_minion(tmp_path, pillar_for(receiver, host, install_from="file", package_file=str(deb)))
    with packages_removed_after("assetkit"):
        first = salt_call(conf, "state.apply", "assetkit")
        assert first.returncode == 0, first.stdout + first.stderr
        ret = json.loads(first.stdout)["local"]
        assert not failed(ret), failed(ret)
        assert {
            "assetkit-install-pkg-installed",
            "assetkit-config-file-managed",
            "assetkit-config-key-managed",
            "assetkit-service-schedule-managed",
            "assetkit-service-timer-enabled",
            "assetkit-service-first-report",
        } <= set(changed(ret)), changed(ret)
        own = assert_installed_and_enrolled(receiver, host, secret)

        second = salt_call(conf, "state.apply", "assetkit")
        assert second.returncode == 0, second.stdout + second.stderr
        assert changed(json.loads(second.stdout)["local"]) == [], "the second run changes nothing (and sends no report)"

        # The secret never shows: not in either state return, not in the minion's caches.
        assert secret not in first.stdout + first.stderr + second.stdout + second.stderr
        assert files_containing(tmp_path / "root", secret) == []
        timer_run_is_signed_by_the_host(receiver, own)

        removed = salt_call(conf, "state.apply", "assetkit.remove")
        assert removed.returncode == 0, removed.stdout + removed.stderr
        assert_removed(host)


# --- a real master and minion ----------------------------------------------------------------


@pytest.fixture(scope="module")
def signed_repo(tmp_path_factory):
    """make repo's output for the built packages, signed with a throw-away key made here; in a
    directory apt's unprivileged downloader (_apt) may read, as it would a web server's."""
    base = tmp_path_factory.mktemp("formula-repo")
    fingerprint = new_key(base / "gnupg", "formula-repo")
    out = Path(tempfile.mkdtemp(prefix="assetkit-repo-", dir="/tmp"))
    run(str(REPO / "scripts" / "repo.sh"), str(out), env={**os.environ, "GNUPGHOME": str(base / "gnupg"), "ASSETKIT_REPO_KEY": fingerprint})
    for p in (out, *out.rglob("*")):
        p.chmod(0o755 if p.is_dir() else 0o644)
    yield out
    shutil.rmtree(out)


def test_master_and_minion_install_from_the_signed_repository(salt_factories, receiver, signed_repo, tmp_path):
    host = tmp_path / "host"
    secret = receiver.agent_key[1]
    repo = {"url": f"file://{signed_repo}", "key_url": str(signed_repo / "assetkit-archive-keyring.gpg")}
    pillar = write_pillar(tmp_path / "pillar", pillar_for(receiver, host, install_from="repo", repo=repo))
    master = salt_factories.salt_master_daemon(
        "formula-master",
        overrides={"file_roots": {"base": [str(FORMULA)]}, "pillar_roots": {"base": [str(pillar)]}, "log_level_logfile": "warning"},
    )
    minion = master.salt_minion_daemon("formula-minion", overrides={"log_level_logfile": "warning"})
    with packages_removed_after("assetkit"), master.started(), minion.started():
        salt = master.salt_cli(timeout=300)
        first = salt.run("state.apply", "assetkit", minion_tgt=minion.id)
        assert first.returncode == 0, first
        assert not failed(first.data), failed(first.data)
        assert {"assetkit-install-repo-key", "assetkit-install-repo-list", "assetkit-install-pkg-installed"} <= set(changed(first.data))
        assert "signed-by=/etc/apt/keyrings/assetkit.gpg" in Path("/etc/apt/sources.list.d/assetkit.list").read_text()
        own = assert_installed_and_enrolled(receiver, host, secret)

        second = salt.run("state.apply", "assetkit", minion_tgt=minion.id)
        assert second.returncode == 0, second
        assert changed(second.data) == [], "the second run changes nothing (and sends no report)"

        # Not in the returns the master received, its job cache, or anything the minion keeps.
        assert secret not in first.stdout + second.stdout
        assert files_containing(Path(master.config["cachedir"]) / "jobs", secret) == []
        assert files_containing(Path(minion.config["root_dir"]), secret) == []
        timer_run_is_signed_by_the_host(receiver, own)
