"""The Puppet module (contrib/puppet/assetkit) with Debian's puppet: `puppet parser validate`,
`puppet epp validate` and `puppet-lint` clean, typed class parameters, then `puppet apply`
twice (the agent from the signed repository `make repo` builds: installed, configured,
enrolled; the second run changes nothing) and the `assetkit` fact showing the facts the agent
collects; installing from a package file is planned with --noop."""

from __future__ import annotations

import json
import re
import shutil
import stat
from pathlib import Path

import pytest
from conftest import REPO, binary, credential
from installed import installed_version, package, packages_removed_after, run
from test_salt_formula import signed_repo  # noqa: F401 (a fixture)

MODULES = REPO / "contrib" / "puppet"
MODULE = MODULES / "assetkit"

pytestmark = pytest.mark.skipif(shutil.which("puppet") is None, reason="puppet is not installed (scripts/deps.sh)")


def without_sandbox_noise(text: str) -> str:
    # Facter's container check reads /proc/1/environ, which this CI's sandbox forbids.
    return "\n".join(line for line in text.splitlines() if "/proc/1/environ" not in line)


def test_validate_lint_and_typed_parameters():
    manifests = sorted(map(str, (MODULE / "manifests").glob("*.pp"))) + [str(MODULE / "examples" / "init.pp")]
    run("puppet", "parser", "validate", *manifests)
    run("puppet", "epp", "validate", *map(str, (MODULE / "templates").glob("*.epp")))
    lint = run("puppet-lint", "--fail-on-warnings", "--relative", "assetkit", cwd=MODULES, check=False)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    for fact in (MODULE / "lib" / "facter").glob("*.rb"):
        assert run("ruby", "-c", str(fact)).stdout.strip() == "Syntax OK", fact
    metadata = json.loads((MODULE / "metadata.json").read_text())
    assert {"name", "version", "author", "license", "summary", "source", "dependencies"} <= set(metadata)
    assert metadata["name"] == "assetkit-assetkit"
    # puppet-lint has no check for it: every class parameter carries a type.
    init = (MODULE / "manifests" / "init.pp").read_text()
    params = init[init.index("class assetkit (") + len("class assetkit (") : init.index(") {")]
    lines = [l.strip() for l in params.splitlines() if l.strip()]
    assert lines and all(re.match(r"[A-Z]\w*(\[.*\])? \$\w+", l) for l in lines), lines
    assert {"$server", "$key_id", "$key_source", "$plugins", "$report_interval"} <= {l.split()[1].rstrip(",") for l in lines}


def puppet(*args: str, vardir: Path) -> tuple[int, str]:
    out = run(
        "puppet", *args, f"--modulepath={MODULES}", f"--vardir={vardir}", f"--rundir={vardir}/run",
        f"--logdir={vardir}/log", "--color=false", check=False,
    )
    return out.returncode, without_sandbox_noise(out.stdout + out.stderr)


def site(path: Path, receiver, host: Path, **install) -> Path:
    """A manifest declaring the class (in a 0600 file: the secret stays off command lines)."""
    extra = "".join(f"  {k:<15} => '{v}',\n" for k, v in install.items())
    path.write_text(
        "class { 'assetkit':\n"
        f"  server          => '{receiver.url}',\n"
        f"  key_id          => '{receiver.agent_key[0]}',\n"
        f"  key             => Sensitive('{receiver.agent_key[1]}'),\n"
        f"{extra}"
        f"  host_key_file   => '{host}/host.key',\n"
        f"  cert_file       => '{host}/cert',\n"
        f"  spool_dir       => '{host}/spool',\n"
        "  plugins         => ['os', 'board', 'cpu', 'memory', 'nic'],\n"
        "  report_interval => '30min',\n"
        "  timeout         => '10s',\n"
        "}\n"
    )
    path.chmod(0o600)
    return path


def test_apply_twice_installs_enrols_and_changes_nothing_then_the_fact(receiver, signed_repo, tmp_path):  # noqa: F811
    host, vardir = tmp_path / "host", tmp_path / "var"
    host.mkdir()
    secret = receiver.agent_key[1]
    repo = {"repo_url": f"file://{signed_repo}", "repo_key_source": str(signed_repo / "assetkit-archive-keyring.gpg")}
    manifest = site(tmp_path / "site.pp", receiver, host, install_from="repo", **repo)
    with packages_removed_after("assetkit"):
        # A package file instead: planned, not done.
        planned = site(tmp_path / "file.pp", receiver, host, install_from="file", package_file=str(package("assetkit_*.deb")))
        rc, noop = puppet("apply", "--noop", "--detailed-exitcodes", str(planned), vardir=tmp_path / "noop")
        assert rc == 0 and "Package[assetkit]/ensure: current_value 'purged', should be 'present' (noop)" in noop, noop
        assert not installed_version("assetkit")

        rc, first = puppet("apply", "--detailed-exitcodes", str(manifest), vardir=vardir)
        assert rc == 2, first  # 2: changes, no failures
        for done in ("File[/etc/apt/sources.list.d/assetkit.list]/ensure: defined content", "Exec[assetkit apt-get update]: Triggered",
                     "Package[assetkit]/ensure: created", "Exec[assetkit first report]/returns: executed successfully"):
            assert done in first, done
        rc, second = puppet("apply", "--detailed-exitcodes", str(manifest), vardir=vardir)
        assert rc == 0, second  # 0: nothing changed

        assert installed_version("assetkit")
        config = Path("/etc/assetkit/agent.toml").read_text()
        assert f'server = "{receiver.url}"' in config and 'plugins = ["os", "board", "cpu", "memory", "nic"]' in config
        key = Path("/etc/assetkit/key")
        assert stat.S_IMODE(key.stat().st_mode) == 0o600 and key.read_text().strip() == secret
        assert Path("/etc/systemd/system/timers.target.wants/assetkit-report.timer").exists()
        assert "OnUnitActiveSec=30min" in Path("/etc/systemd/system/assetkit-report.timer.d/schedule.conf").read_text()
        # Enrolled by the first report; the secret shown nowhere, kept nowhere but its file.
        own = credential(host / "host.key")
        [asset] = receiver.assets()
        assert asset["last_mode"] == "agent" and receiver.signers() == [receiver.agent_key[0]]
        assert secret not in first + second
        assert not [p for p in vardir.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]
        run("/usr/bin/assetkit", "report", "--no-splay")
        assert receiver.signers() == sorted([receiver.agent_key[0], own])

        # The fact: what the installed agent collects, as Puppet sees it.
        rc, shown = puppet("facts", "show", "assetkit", "--render-as", "json", vardir=vardir)
        assert rc == 0, shown
        fact = json.loads(shown[shown.index("{") :])["assetkit"]
        collected = json.loads(run(binary("assetkit"), "collect", "--only", "os,cpu").stdout)["facts"]
        assert fact["os"]["hostname"] == collected["os"]["hostname"]
        assert fact["cpu"]["model"] == collected["cpu"]["model"]
        assert {"system", "memory", "nics"} <= set(fact), sorted(fact)
