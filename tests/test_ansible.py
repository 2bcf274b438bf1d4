"""The Ansible collection under real ansible-playbook (local and over SSH to the loopback
sshd), ansible-doc, and ansible-test sanity."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, credential
from installed import installed_version, packages_removed_after
from test_salt_formula import signed_repo  # noqa: F401 (a fixture)

COLLECTIONS = REPO / "ansible"
COLLECTION = COLLECTIONS / "ansible_collections" / "assetkit" / "cmdb"
VENV_BIN = Path(sys.executable).parent
PLAYBOOK = REPO / "ansible" / "examples" / "report.yml"


def ansible(tool: str, *args: str, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    base_env = {
        **os.environ,
        "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS),
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "ANSIBLE_LOCAL_TEMP": "/tmp/ansible-local",
        "ANSIBLE_REMOTE_TEMP": "/tmp/ansible-remote",
    }
    return subprocess.run(
        [str(VENV_BIN / tool), *args], capture_output=True, text=True, env={**base_env, **(env or {})}, cwd=cwd, timeout=600
    )


def recap(out: str) -> dict:
    line = next(l for l in out.splitlines() if " : ok=" in l)
    return {k: int(v) for k, v in (p.split("=") for p in line.split(":", 1)[1].split())}


def extra_vars(receiver, root: Path) -> list[str]:
    values = {
        "assetkit_server": receiver.url,
        "assetkit_key_id": receiver.agent_key[0],
        "assetkit_key_file": str(receiver.key_file()),
        "assetkit_cert_file": str(root / "cert"),
        "assetkit_spool_dir": str(root / "spool"),
        "assetkit_host_key_file": str(root / "host.key"),
        "ansible_python_interpreter": sys.executable,
    }
    return ["-e", json.dumps(values)]


def test_playbook_collects_then_reports_changed_once(receiver, tmp_path):
    args = ["-i", "localhost,", "-c", "local", str(PLAYBOOK), *extra_vars(receiver, tmp_path)]
    first = ansible("ansible-playbook", *args)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "asset 1: created" in first.stdout
    assert recap(first.stdout)["changed"] == 1
    fleet = receiver.agent_key[0]
    assert receiver.signers() == [fleet], "the first report enrols with the fleet key"
    own = credential(tmp_path / "host.key")
    second = ansible("ansible-playbook", *args)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "asset 1: unchanged" in second.stdout
    assert recap(second.stdout)["changed"] == 0
    assert receiver.signers() == [fleet, own], "later reports are signed with the host's credential"
    assert credential(tmp_path / "host.key") == own
    [asset] = receiver.assets()
    assert asset["last_mode"] == "ansible"
    assert (tmp_path / "cert").read_text().strip() == asset["hostname"]


def test_asset_facts_returns_the_installed_packages(tmp_path):
    """The facts module gives the packages plugin's list, from the same Rust code."""
    out = ansible(
        "ansible",
        "localhost",
        "-c",
        "local",
        "-m",
        "assetkit.cmdb.asset_facts",
        "-a",
        "only=packages",
        "-e",
        f"ansible_python_interpreter={sys.executable}",
        "--tree",
        str(tmp_path),
    )
    assert out.returncode == 0, out.stdout + out.stderr
    result = json.loads((tmp_path / "localhost").read_text())
    facts = result["ansible_facts"]["assetkit"]["facts"]
    assert facts["packages_digest"].startswith("sha256:")
    debs = [p for p in facts["packages"] if p["manager"] == "deb"]
    assert len(debs) > 700, "this machine has some 800 dpkg packages"
    assert {"name", "version", "arch", "source"} <= set(debs[0])


def test_check_mode_collects_and_sends_nothing(receiver, tmp_path):
    out = ansible("ansible-playbook", "--check", "-i", "localhost,", "-c", "local", str(PLAYBOOK), *extra_vars(receiver, tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "check mode" in out.stdout
    assert recap(out.stdout)["changed"] == 0
    assert receiver.assets() == []
    assert not (tmp_path / "cert").exists()


def test_missing_extension_fails_with_missing_required_lib(tmp_path):
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "assetkit.py").write_text("raise ImportError('no wheel here')\n")
    out = ansible(
        "ansible",
        "localhost",
        "-c",
        "local",
        "-m",
        "assetkit.cmdb.asset_facts",
        "-e",
        f"ansible_python_interpreter={sys.executable}",
        env={"PYTHONPATH": str(shadow)},
    )
    assert out.returncode != 0
    assert "Failed to import the required Python library (assetkit)" in out.stdout


def test_playbook_over_ssh(receiver, tmp_path, sshd_env):
    inventory = tmp_path / "inventory.ini"
    inventory.write_text(
        "[cmdb]\nnode-ansible ansible_host=node-ansible "
        f"ansible_ssh_common_args='-F {sshd_env['SSH_CONFIG']}' ansible_user={sshd_env['SSH_USER']}\n"
    )
    args = ["-i", str(inventory), str(PLAYBOOK), *extra_vars(receiver, tmp_path)]
    first = ansible("ansible-playbook", *args)
    assert first.returncode == 0, first.stdout + first.stderr
    assert recap(first.stdout)["changed"] == 1
    own = credential(tmp_path / "host.key")
    second = ansible("ansible-playbook", *args)
    assert recap(second.stdout)["changed"] == 0, second.stdout
    assert receiver.signers() == [receiver.agent_key[0], own]
    [asset] = receiver.assets()
    assert asset["last_mode"] == "ansible"


def test_ansible_doc_renders_both_modules():
    for module in ("assetkit.cmdb.asset_facts", "assetkit.cmdb.asset_report"):
        out = ansible("ansible-doc", "-t", "module", module)
        assert out.returncode == 0, out.stderr
        for section in ("OPTIONS", "ATTRIBUTES:", "EXAMPLES:", "RETURN VALUES:", "REQUIREMENTS:"):
            assert section in out.stdout, (module, section)
        assert "check_mode" in out.stdout


def test_ansible_test_sanity():
    """Every sanity test: validate-modules for the modules; ansible-doc, pylint, pep8, yamllint
    (of the docs), import and compile for the inventory plugin as well."""
    # ansible-test bootstraps pip in its venvs from ci-files.testing.ansible.com, which this CI
    # cannot reach; the shim installs pip from the interpreter's ensurepip instead.
    cache = Path.home() / ".ansible" / "test" / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    for name in ("get_pip_24_2.py",):
        if not (cache / name).exists():
            shutil.copyfile(REPO / "tests" / "ansible" / "get_pip_shim.py", cache / name)
    out = ansible("ansible-test", "sanity", "--python", f"{sys.version_info.major}.{sys.version_info.minor}", cwd=COLLECTION)
    shutil.rmtree(COLLECTION / "tests" / "output" / ".tmp", ignore_errors=True)  # pylint's scratch files
    assert out.returncode == 0, out.stdout + out.stderr
    for test in ("validate-modules", "ansible-doc", "pylint", "pep8", "yamllint", "import"):
        assert f'Running sanity test "{test}"' in out.stdout + out.stderr, test


def test_agent_role_installs_wheel_config_key_and_units(receiver, tmp_path):
    wheels = sorted((REPO / "target" / "wheels").glob("assetkit-*.whl"), key=lambda p: p.stat().st_mtime)
    if not wheels:
        pytest.fail("no wheel in target/wheels: `make test` builds one (maturin build --profile dev)")
    root = tmp_path / "host"
    playbook = tmp_path / "role.yml"
    playbook.write_text(
        "- hosts: all\n  gather_facts: false\n  roles:\n    - role: assetkit.cmdb.agent\n"
    )
    variables = {
        "assetkit_server": receiver.url,
        "assetkit_key_id": receiver.agent_key[0],
        "assetkit_key": receiver.agent_key[1],
        "assetkit_wheel": str(wheels[-1]),
        "assetkit_venv": str(root / "venv"),
        "assetkit_venv_command": f"{sys.executable} -m venv",
        "assetkit_etc_dir": str(root / "etc"),
        "assetkit_spool_dir": str(root / "spool"),
        "assetkit_systemd_dir": str(root / "systemd"),
        "assetkit_splay": "0s",
        "ansible_python_interpreter": sys.executable,
    }
    out = ansible("ansible-playbook", "-i", "localhost,", "-c", "local", str(playbook), "-e", json.dumps(variables))
    assert out.returncode == 0, out.stdout + out.stderr
    assert receiver.agent_key[1] not in out.stdout, "the secret leaked into the playbook output"
    key = root / "etc" / "key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert key.read_text().strip() == receiver.agent_key[1]
    config = (root / "etc" / "agent.toml").read_text()
    # No plugins line: the agent runs every built-in plugin, those added after the role too.
    assert f'server    = "{receiver.url}"' in config and "plugins" not in config, config
    host_key = root / "etc" / "host.key"
    assert f'host_key_file = "{host_key}"' in config
    assert stat.S_IMODE((root / "spool").stat().st_mode) == 0o700
    service = (root / "systemd" / "assetkit-report.service").read_text()
    assert f"ExecStart={root}/venv/bin/python -m assetkit report" in service and "ProtectSystem=strict" in service
    assert (root / "systemd" / "assetkit-report.timer").exists()
    # The first report ran from the installed wheel, landed, and enrolled the host.
    [asset] = receiver.assets()
    assert (root / "etc" / "cert").read_text().strip() == asset["hostname"]
    assert receiver.signers() == [receiver.agent_key[0]]
    own = credential(host_key)
    issued = host_key.read_bytes()
    # The role again: the credential stays as the agent wrote it, and signs the report.
    again = ansible("ansible-playbook", "-i", "localhost,", "-c", "local", str(playbook), "-e", json.dumps(variables))
    assert again.returncode == 0, again.stdout + again.stderr
    assert host_key.read_bytes() == issued
    assert receiver.signers() == [receiver.agent_key[0], own]


def test_agent_role_installs_the_package_from_the_signed_repository(receiver, signed_repo, tmp_path):  # noqa: F811
    root = tmp_path / "host"
    playbook = tmp_path / "role.yml"
    playbook.write_text("- hosts: all\n  gather_facts: false\n  roles:\n    - role: assetkit.cmdb.agent\n")
    variables = {
        "assetkit_install_from": "repo",
        "assetkit_repo_url": f"file://{signed_repo}",
        "assetkit_repo_key_url": f"file://{signed_repo}/assetkit-archive-keyring.gpg",
        "assetkit_report_interval": "30min",
        "assetkit_server": receiver.url,
        "assetkit_key_id": receiver.agent_key[0],
        "assetkit_key": receiver.agent_key[1],
        "assetkit_etc_dir": str(root / "etc"),
        "assetkit_spool_dir": str(root / "spool"),
        "assetkit_splay": "0s",
        "ansible_python_interpreter": sys.executable,
    }
    args = ["-i", "localhost,", "-c", "local", str(playbook), "-e", json.dumps(variables)]
    with packages_removed_after("assetkit"):
        out = ansible("ansible-playbook", *args)
        assert out.returncode == 0, out.stdout + out.stderr
        assert receiver.agent_key[1] not in out.stdout
        assert "signed-by=/etc/apt/keyrings/assetkit.gpg" in Path("/etc/apt/sources.list.d/assetkit.list").read_text()
        assert installed_version("assetkit") and Path("/etc/systemd/system/timers.target.wants/assetkit-report.timer").exists()
        assert "OnUnitActiveSec=30min" in Path("/etc/systemd/system/assetkit-report.timer.d/schedule.conf").read_text()
        # The packaged binary sent the first report and enrolled the host; what the timer runs
        # signs with the host's credential.
        own = credential(root / "etc" / "host.key")
        assert receiver.signers() == [receiver.agent_key[0]]
        report = subprocess.run(["/usr/bin/assetkit", "--config", str(root / "etc" / "agent.toml"), "report", "--no-splay"], capture_output=True, text=True)
        assert report.returncode == 0, report.stderr
        assert receiver.signers() == sorted([receiver.agent_key[0], own])
