"""The receiver's packages: the .deb installed with dpkg on this machine, its unit's command
started the way systemd would start it (its user, its environment file, its sandbox paths
emulated: systemd is not PID 1 here), serving the console and reports, then upgraded in place to
a newer package with its database and key file kept; the unit's sandbox scored by
`systemd-analyze security`; man pages and completions in place; the .rpm checked with rpm."""

from __future__ import annotations

import contextlib
import grp
import hashlib
import json
import pwd
import re
import sqlite3
import stat
import subprocess
import urllib.request
from pathlib import Path

import pytest
from conftest import binary, credential, signed_request
from installed import (
    agent_config,
    installed_version,
    package,
    packages_removed_after,
    repack_deb,
    run,
    sandboxed_command,
)

UNIT = Path("/usr/lib/systemd/system/assetkitd.service")
STATE = Path("/var/lib/assetkit")
KEY_DIR = Path("/etc/assetkit/assetkitd")
KEY = KEY_DIR / "server.key"
CONF = Path("/etc/assetkit/assetkitd.conf")
EXPECTED = {
    "/usr/bin/assetkitd",
    "/usr/lib/assetkit/assetkitd-setup",
    "/etc/assetkit/assetkitd.conf",
    "/usr/lib/systemd/system/assetkitd.service",
    "/usr/lib/sysusers.d/assetkitd.conf",
    "/usr/share/man/man1/assetkitd.1.gz",
    "/usr/share/man/man1/assetkitd-serve.1.gz",
    "/usr/share/man/man1/assetkitd-backup.1.gz",
    "/usr/share/bash-completion/completions/assetkitd",
    "/usr/share/fish/vendor_completions.d/assetkitd.fish",
}


def overall_exposure(output: str) -> float:
    return float(re.search(r"Overall exposure level for \S+: ([0-9.]+)", output).group(1))


def test_unit_sandbox_score(tmp_path):
    """The packaged unit, unpacked from the .deb, scores OK (at most 2.0 of 10) offline."""
    run("dpkg-deb", "-x", str(package("assetkitd_*.deb")), str(tmp_path))
    out = run("systemd-analyze", "security", "--offline=true", f"--root={tmp_path}", "--threshold=20", "assetkitd.service")
    assert overall_exposure(out.stdout) <= 2.0, out.stdout
    for kept in ("PrivateNetwork=", "RestrictAddressFamilies=~AF_(INET|INET6)"):
        assert f"✗ {kept}" in out.stdout, kept  # a network server keeps the network
    for closed in ("NoNewPrivileges=", "ProtectSystem=", "PrivateTmp=", "CapabilityBoundingSet=~CAP_SYS_ADMIN", "SystemCallFilter=~@privileged"):
        assert f"✓ {closed}" in out.stdout, closed


def test_rpm_contents_and_scripts():
    rpm = package("assetkitd-*.rpm")
    files = set(run("rpm", "-qpl", str(rpm)).stdout.split())
    rpm_expected = (EXPECTED - {"/usr/share/man/man1/assetkitd-backup.1.gz"}) | {"/usr/share/zsh/site-functions/_assetkitd"}
    assert rpm_expected <= files, rpm_expected - files
    assert run("rpm", "-qpc", str(rpm)).stdout.split() == ["/etc/assetkit/assetkitd.conf"]
    scripts = run("rpm", "-qp", "--scripts", str(rpm)).stdout
    assert "/usr/lib/assetkit/assetkitd-setup" in scripts and "try-restart assetkitd.service" in scripts
    dump = run("rpm", "-qp", "--dump", str(rpm)).stdout
    assert next(l for l in dump.splitlines() if l.startswith("/etc/assetkit/assetkitd.conf ")).split()[4] == "0100640"


def serve_as_the_unit(log: Path) -> tuple[subprocess.Popen, str]:
    """The installed unit's ExecStart, as its user, in its emulated sandbox, on a free port."""
    argv, env = sandboxed_command(UNIT, {"ASSETKIT_LISTEN": "127.0.0.1:0", "ASSETKIT_OPTS": "--print-addr"})
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=open(log, "w"), text=True)
    line = proc.stdout.readline()
    if not line.startswith("listening on "):
        proc.kill()
        pytest.fail(f"the unit's command did not start: {line!r}\n{log.read_text()}")
    return proc, "http://" + line.split()[-1]


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    assert proc.wait(timeout=30) == 0, "assetkitd did not exit cleanly on SIGTERM"


def as_service_user(*args: str, input: str | None = None) -> subprocess.CompletedProcess:
    """The admin CLI as the docs say to run it: as the service user, with the unit's settings."""
    script = "set -a; . /etc/assetkit/assetkitd.conf; set +a; exec assetkitd \"$@\""
    return run("runuser", "-u", "assetkit", "--", "sh", "-c", script, "assetkitd", *args, input=input)


def get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return resp.status, resp.read().decode()


def man(page: str) -> str:
    """A manual page as text, its justification spaces folded."""
    return " ".join(run("man", "-P", "cat", page).stdout.split())


def report(config: Path) -> subprocess.CompletedProcess:
    return run(binary("assetkit"), "--config", str(config), "report", "--no-splay", "--json")


@pytest.fixture
def clean_machine():
    """No receiver installed before; none, nor its user or data, left after."""
    with packages_removed_after("assetkitd"):
        yield


def test_install_serve_sandboxed_upgrade_keeps_data(clean_machine, tmp_path):
    deb = package("assetkitd_*.deb")
    run("dpkg", "-i", str(deb))
    version = installed_version("assetkitd")

    # What the package made: a system user, the state directory, the server key (0600, the
    # service user's), the settings readable by the service's group only, the unit enabled.
    user = pwd.getpwnam("assetkit")
    assert user.pw_uid < 1000 and user.pw_shell.endswith("nologin"), user
    assert (stat.S_IMODE(STATE.stat().st_mode), STATE.stat().st_uid) == (0o750, user.pw_uid)
    assert (stat.S_IMODE(KEY.stat().st_mode), KEY.stat().st_uid) == (0o600, user.pw_uid)
    assert re.fullmatch(r"1:[0-9a-f]{64}", KEY.read_text().splitlines()[-1]), "a key in the server's format"
    assert (stat.S_IMODE(CONF.stat().st_mode), grp.getgrgid(CONF.stat().st_gid).gr_name) == (0o640, "assetkit")
    assert Path("/etc/systemd/system/multi-user.target.wants/assetkitd.service").resolve() == UNIT
    key_before = KEY.read_bytes()

    # The admin CLI as the service user: a fleet key and an admin key.
    fleet = json.loads(as_service_user("keys", "create", "agents", "--scope", "agent", "--json").stdout)
    admin = json.loads(as_service_user("keys", "create", "ops", "--scope", "admin", "--json").stdout)

    # Started as the unit starts it: serves the console and takes reports, writing nothing
    # outside its state directory (everything else is read-only in its namespace).
    proc, base = serve_as_the_unit(tmp_path / "v1.log")
    try:
        assert get(base + "/healthz")[0] == 200
        status, page = get(base + "/login")
        assert status == 200 and 'action="/login"' in page
        config = agent_config(tmp_path / "host", base, fleet["key_id"], fleet["secret"])
        for _ in range(2):
            assert report(config).returncode == 0
        own = credential(tmp_path / "host" / "host.key")
        status, body = signed_request(base, "GET", "/api/v1/assets", b"", admin["key_id"], admin["secret"])
        assert status == 200 and body["total"] == 1, body
    finally:
        stop(proc)
    for f in STATE.iterdir():
        st = f.stat()
        assert (st.st_uid, stat.S_IMODE(st.st_mode) & 0o077) == (user.pw_uid, 0), f"{f}: owner and mode (UMask=0077)"
    db = STATE / "assetkit.db"
    assert db.exists()
    db_digest = hashlib.sha256(db.read_bytes()).hexdigest()

    # Upgrade in place to a newer package: the database and the key file are kept as they were.
    newer = repack_deb(deb, version.split("-")[0] + ".1-1", tmp_path)
    run("dpkg", "-i", str(newer))
    assert installed_version("assetkitd") != version
    assert KEY.read_bytes() == key_before, "the upgrade replaced the server key"
    assert hashlib.sha256(db.read_bytes()).hexdigest() == db_digest, "the upgrade touched the database"

    # The upgraded server serves the same inventory; the host's credential, sealed under the
    # kept key, still signs its reports.
    proc, base = serve_as_the_unit(tmp_path / "v2.log")
    try:
        rewritten = config.read_text().replace(re.search(r'server = "(.*)"', config.read_text()).group(1), base)
        config.write_text(rewritten)
        assert report(config).returncode == 0
        status, body = signed_request(base, "GET", "/api/v1/assets", b"", admin["key_id"], admin["secret"])
        assert status == 200 and body["total"] == 1, body
    finally:
        stop(proc)
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        signers = sorted(k for (k,) in conn.execute("SELECT key_id FROM applied_reports"))
    assert signers == sorted([fleet["key_id"], own, own]), signers

    # Removing keeps the inventory and its key (a purge of a CMDB is never silent).
    run("dpkg", "--purge", "assetkitd")
    assert db.exists() and KEY.read_bytes() == key_before
    assert not Path("/usr/bin/assetkitd").exists()


def test_man_pages_and_completions_installed(clean_machine):
    run("dpkg", "-i", str(package("assetkitd_*.deb")))
    for path in EXPECTED:
        assert Path(path).exists(), path
    page = man("assetkitd")
    assert "NAME" in page and "assetkitd - The assetkit receiver" in page, page[:400]
    assert "assetkitd-backup(1)" in page and "assetkitd-serve(1)" in page, "subcommands point to their pages"
    serve = man("assetkitd-serve")
    assert "--listen" in serve and "--tls-cert" in serve
    assert "generate" not in page, "the hidden packaging command is not listed"
    assert run("man", "-w", "assetkitd-generate", check=False).returncode != 0, "nor has it a page"
    # bash loads the completion and completes a subcommand.
    script = (
        "source /usr/share/bash-completion/completions/assetkitd; "
        "COMP_WORDS=(assetkitd ba); COMP_CWORD=1; COMP_LINE='assetkitd ba'; COMP_POINT=12; "
        "_assetkitd assetkitd ba assetkitd; printf '%s\\n' \"${COMPREPLY[@]}\""
    )
    assert run("bash", "-c", script).stdout.split() == ["backup"]
