"""Helpers for the tests that install assetkit's packages on this machine (root only): a lock so
that two test runs never install at once, the built packages, a newer version of a .deb made by
repacking it, an agent config, and a systemd unit's command line run the way systemd would run
it where systemd is not PID 1 (its user, its environment file, and the sandbox paths emulated
in a private mount namespace)."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import REPO

PACKAGES = REPO / "target" / "packages"
LOCK = Path("/tmp/assetkit-system-packages.lock")


def need_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("installs packages on this machine: needs root (CI runs as root)")


@contextlib.contextmanager
def machine_lock():
    """Held while a test installs or removes packages, users or apt sources."""
    with open(LOCK, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


RECEIVER_STATE = (Path("/var/lib/assetkit"), Path("/etc/assetkit/assetkitd"), Path("/etc/assetkit/assetkitd.conf"))
# What an install through config management adds beside the packages (a timer enabled, its
# schedule, the repository's apt source and key); removed after a test if the test made them.
AROUND = (
    Path("/etc/systemd/system/timers.target.wants/assetkit-report.timer"),
    Path("/etc/systemd/system/assetkit-report.timer.d"),
    Path("/etc/apt/sources.list.d/assetkit.list"),
    Path("/etc/apt/keyrings/assetkit.gpg"),
    Path("/etc/assetkit/key"),
    Path("/etc/assetkit/agent.toml"),
    Path("/etc/assetkit"),
    Path("/var/spool/assetkit"),
)


def remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()


@contextlib.contextmanager
def packages_removed_after(*names: str):
    """Holds the machine lock; skips when a package named, or the receiver's state, is already
    on this machine (never touch an operator's install); afterwards purges the packages and
    removes what the receiver's package leaves on purge (its data, key, user)."""
    need_root()
    with machine_lock():
        present = [n for n in names if installed_version(n)]
        present += [str(p) for p in RECEIVER_STATE if p.exists()]
        if present:
            pytest.skip(f"already on this machine, not touching it: {present}")
        existed = {p for p in AROUND if p.exists() or p.is_symlink()}
        lists = set(Path("/var/lib/apt/lists").glob("*assetkit*"))
        try:
            yield
        finally:
            subprocess.run(["dpkg", "--purge", *names], capture_output=True, check=False)
            for p in (*RECEIVER_STATE, *(p for p in AROUND if p not in existed)):
                remove(p)
            for p in set(Path("/var/lib/apt/lists").glob("*assetkit*")) - lists:
                remove(p)
            if "assetkitd" in names:
                subprocess.run(["userdel", "assetkit"], capture_output=True, check=False)
                subprocess.run(["groupdel", "assetkit"], capture_output=True, check=False)


def package(pattern: str) -> Path:
    found = sorted(PACKAGES.glob(pattern))
    if not found:
        pytest.fail(f"no {pattern} in {PACKAGES}: `make packages` builds them")
    return found[-1]


def run(*args: str, check: bool = True, **kw) -> subprocess.CompletedProcess:
    kw.setdefault("text", True)
    out = subprocess.run([*args], capture_output=True, **kw)
    if check and out.returncode != 0:
        raise AssertionError(f"{shlex.join(args)} exited {out.returncode}:\n{out.stdout}\n{out.stderr}")
    return out


def installed_version(name: str) -> str | None:
    out = run("dpkg-query", "-W", "-f=${Status} ${Version}", name, check=False)
    if out.returncode != 0 or not out.stdout.startswith("install ok installed"):
        return None
    return out.stdout.split()[-1]


def repack_deb(deb: Path, version: str, out_dir: Path) -> Path:
    """The same package with another version: what an upgrade installs."""
    tree = out_dir / f"tree-{version}"
    run("dpkg-deb", "-R", str(deb), str(tree))
    control = tree / "DEBIAN" / "control"
    control.write_text(re.sub(r"(?m)^Version: .*$", f"Version: {version}", control.read_text()))
    name = re.search(r"(?m)^Package: (.*)$", control.read_text()).group(1)
    out = out_dir / f"{name}_{version}_amd64.deb"
    run("dpkg-deb", "--root-owner-group", "-Zgzip", "-b", str(tree), str(out))
    shutil.rmtree(tree)
    return out


def agent_config(root: Path, server: str, key_id: str, secret: str) -> Path:
    """An agent.toml whose files all live under `root` (never the machine's credential)."""
    root.mkdir(parents=True, exist_ok=True)
    key = root / "key"
    key.write_text(secret + "\n")
    key.chmod(0o600)
    settings = {
        "server": server,
        "key_id": key_id,
        "key_file": str(key),
        "host_key_file": str(root / "host.key"),
        "credentials_dir": str(root / "credentials"),
        "cert_file": str(root / "cert"),
        "spool_dir": str(root / "spool"),
        "plugins_dir": str(root / "plugins.d"),
        "timeout": "10s",
    }
    path = root / "agent.toml"
    path.write_text("".join(f"{k} = {json.dumps(v)}\n" for k, v in settings.items()))
    return path


def parse_unit(path: Path) -> dict[str, list[str]]:
    """The [Service] settings of a unit file: name -> values in order (continuation lines
    joined; an empty assignment resets the list, as systemd does)."""
    settings: dict[str, list[str]] = {}
    section = None
    text = path.read_text().replace("\\\n", " ")
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        if section != "Service":
            continue
        name, _, value = line.partition("=")
        values = settings.setdefault(name.strip(), [])
        if value.strip():
            values.append(value.strip())
        else:
            values.clear()
    return settings


def environment_file(path: Path) -> dict[str, str]:
    env = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            k, _, v = line.partition("=")
            env[k.strip()] = v.strip().strip('"')
    return env


def expand(command: str, env: dict[str, str]) -> list[str]:
    """systemd's ExecStart expansion: ${VAR} is one word, $VAR splits on white space."""
    words: list[str] = []
    for word in shlex.split(command):
        if re.fullmatch(r"\$\{\w+\}", word):
            words.append(env.get(word[2:-1], ""))
        elif re.fullmatch(r"\$\w+", word):
            words.extend(env.get(word[1:], "").split())
        else:
            words.append(re.sub(r"\$\{(\w+)\}", lambda m: env.get(m.group(1), ""), word))
    return words


def sandboxed_command(unit: Path, env_overrides: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """The unit's ExecStart as systemd would run it, in a private mount namespace where what the
    unit declares is emulated: ProtectSystem=strict (the whole tree read-only but for its
    StateDirectory/ReadWritePaths), PrivateTmp, ProtectHome, UMask, then its User/Group with
    NoNewPrivileges and an empty capability bounding set. Returns (argv, environment)."""
    s = parse_unit(unit)
    assert s.get("ProtectSystem") == ["strict"], s.get("ProtectSystem")
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
    for f in s.get("EnvironmentFile", []):
        env.update(environment_file(Path(f.lstrip("-"))))
    env.update(env_overrides)
    [exec_start] = s["ExecStart"]
    argv = expand(exec_start, env)
    writable = [f"/var/lib/{d}" for d in " ".join(s.get("StateDirectory", [])).split()]
    writable += " ".join(s.get("ReadWritePaths", [])).split()
    mounts = [f"mount --bind {shlex.quote(p)} {shlex.quote(p)}" for p in writable]
    mounts.append("mount -o remount,bind,ro /")
    if s.get("PrivateTmp") == ["yes"]:
        mounts += ["mount -t tmpfs -o mode=1777 tmpfs /tmp", "mount -t tmpfs -o mode=1777 tmpfs /var/tmp"]
    if s.get("ProtectHome") == ["yes"]:
        mounts += [f"mount -t tmpfs -o mode=0755 tmpfs {d}" for d in ("/home", "/root") if os.path.isdir(d)]
    caps = ["--bounding-set", "-all", "--inh-caps", "-all"] if s.get("CapabilityBoundingSet", None) == [] else []
    nnp = ["--no-new-privs"] if s.get("NoNewPrivileges") == ["yes"] else []
    user = s["User"][0]
    group = s.get("Group", [user])[0]
    umask = s.get("UMask", ["0022"])[0]
    setpriv = ["setpriv", "--reuid", user, "--regid", group, "--init-groups", *nnp, *caps, "--", *argv]
    script = " && ".join([*mounts, f"umask {umask}", "exec " + shlex.join(setpriv)])
    return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-ec", script], env
