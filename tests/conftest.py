"""Shared fixtures for the cross-component tests: the real binaries, a real assetkitd on
127.0.0.1 with a temp SQLite file, a stdlib-only signing client, snapshot builders."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
import shutil
import sqlite3
import stat
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
BIN = Path(os.environ.get("ASSETKIT_BIN_DIR", REPO / "target" / "debug"))


def binary(name: str) -> str:
    path = BIN / name
    if not path.exists():
        pytest.fail(f"{path} is missing: build it first (make test builds everything)")
    return str(path)


def signed_request(base: str, method: str, path: str, body: bytes, key_id: str, secret: str, timeout: float = 30):
    """One signed request with the standard library only: the scheme any client can speak."""
    ts = str(int(time.time()))
    nonce = secrets.token_hex(16)
    canonical = "\n".join([method, path, ts, nonce, hashlib.sha256(body).hexdigest()])
    signature = hmac.new(secret.encode(), canonical.encode(), hashlib.sha256).hexdigest()
    headers = {
        "X-Assetkit-Key": key_id,
        "X-Assetkit-Timestamp": ts,
        "X-Assetkit-Nonce": nonce,
        "X-Assetkit-Signature": signature,
    }
    if body:
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(base + path, data=body if body else None, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


@dataclass
class Receiver:
    url: str
    db: Path
    agent_key: tuple[str, str]
    admin_key: tuple[str, str]
    proc: subprocess.Popen
    dir: Path
    files: dict = field(default_factory=dict)

    def admin(self, method: str, path: str, body: object = None):
        data = json.dumps(body).encode() if body is not None else b""
        return signed_request(self.url, method, path, data, *self.admin_key)

    def get(self, path: str):
        status, body = self.admin("GET", path)
        assert status == 200, body
        return body

    def assets(self) -> list[dict]:
        return self.get("/api/v1/assets?per_page=500")["assets"]

    def signers(self, asset_id: int | None = None) -> list[str]:
        """The key that signed each applied report (applied_reports.key_id), of one asset or all,
        sorted: the fleet key's "ak_..." comes before the host credentials' "hk_..."."""
        with contextlib.closing(sqlite3.connect(f"file:{self.db}?mode=ro", uri=True)) as db:
            rows = db.execute(
                "SELECT key_id FROM applied_reports WHERE ?1 IS NULL OR asset_id = ?1", (asset_id,)
            ).fetchall()
        return sorted(k for (k,) in rows)

    def key_file(self, which: str = "agent") -> Path:
        """The key's secret in a file of mode 0600."""
        path = self.dir / f"{which}.key"
        if not path.exists():
            secret = (self.agent_key if which == "agent" else self.admin_key)[1]
            path.write_text(secret + "\n")
            path.chmod(0o600)
        return path

    def agent_config(self, root: Path, **extra) -> Path:
        """An agent.toml for a host whose files live under `root`."""
        root.mkdir(parents=True, exist_ok=True)
        lines = {
            "server": self.url,
            "key_id": self.agent_key[0],
            "key_file": str(self.key_file()),
            "host_key_file": str(root / "host.key"),
            "credentials_dir": str(root / "credentials"),
            "cert_file": str(root / "cert"),
            "spool_dir": str(root / "spool"),
            "plugins_dir": str(root / "plugins.d"),
            "timeout": "10s",
        }
        lines.update(extra)
        path = root / "agent.toml"
        path.write_text("".join(f"{k} = {json.dumps(v)}\n" for k, v in lines.items()))
        return path


def credential(path: Path) -> str:
    """The key id of a host credential file, after checking that only its owner may read it."""
    mode = stat.S_IMODE(path.stat().st_mode)
    assert mode == 0o600, f"{path} has mode {mode:04o}"
    key_id = json.loads(path.read_text())["key_id"]
    assert key_id.startswith("hk_"), key_id
    return key_id


def create_key(db: Path, name: str, scope: str) -> tuple[str, str]:
    out = subprocess.run(
        [binary("assetkitd"), "keys", "create", name, "--db", str(db), "--scope", scope, "--json"],
        check=True,
        capture_output=True,
        text=True,
    )
    key = json.loads(out.stdout)
    return key["key_id"], key["secret"]


def start_receiver(directory: Path, *args: str) -> Receiver:
    directory.mkdir(parents=True, exist_ok=True)
    db = directory / "assetkit.db"
    agent_key = create_key(db, "agents", "agent")
    admin_key = create_key(db, "admin", "admin")
    proc = subprocess.Popen(
        [binary("assetkitd"), "serve", "--db", str(db), "--listen", "127.0.0.1:0", "--print-addr", *args],
        stdout=subprocess.PIPE,
        stderr=open(directory / "assetkitd.log", "w"),
        text=True,
        env={**os.environ, "ASSETKIT_LOG": "info"},
    )
    line = proc.stdout.readline()
    assert line.startswith("listening on "), f"assetkitd did not start: {line!r}, see {directory}/assetkitd.log"
    return Receiver(url="http://" + line.split()[-1], db=db, agent_key=agent_key, admin_key=admin_key, proc=proc, dir=directory)


def stop_receiver(receiver: Receiver) -> None:
    receiver.proc.terminate()
    try:
        assert receiver.proc.wait(timeout=15) == 0, "assetkitd did not exit cleanly on SIGTERM"
    finally:
        if receiver.proc.poll() is None:
            receiver.proc.kill()


# Where the agent keeps a host's credential by default. A test that wrote there would change
# what every later run on this machine signs with: each test configures its own paths instead.
MACHINE_CREDENTIALS = (Path("/etc/assetkit/host.key"), Path("/var/lib/assetkit/credentials"))


@pytest.fixture(autouse=True)
def machine_credentials_untouched():
    before = {path: path.exists() for path in MACHINE_CREDENTIALS}
    yield
    created = [str(path) for path, existed in before.items() if not existed and path.exists()]
    assert not created, f"this test wrote the machine's credentials: {created}; set host_key_file / credentials_dir"


@pytest.fixture
def receiver(tmp_path):
    r = start_receiver(tmp_path / "receiver", "--identity", "hostname")
    yield r
    stop_receiver(r)


@pytest.fixture(scope="session")
def golden_cases() -> list[dict]:
    cases = []
    for path in sorted((FIXTURES / "golden").glob("*.json")):
        spec = json.loads(path.read_text())
        spec["name"] = path.stem
        cases.append(spec)
    return cases


def build_snapshot(spec: dict, root: Path) -> Path:
    """A snapshot directory from a golden case's raw sources."""
    # The same mapping as rust/assetkit-core/tests/it/golden.rs.
    targets = {
        "dmidecode": "commands/dmidecode",
        "megacli": "commands/megacli-pdlist",
        "cpuinfo": "files/proc/cpuinfo",
        "ip": "commands/ip-addr",
        "ipmitool-lan": "commands/ipmitool-lan-print",
        "ipmitool-fru": "commands/ipmitool-fru-print",
        "ipmitool-mc": "commands/ipmitool-mc-info",
    }
    raid = ("storcli-show-all-json", "storcli-drives-json", "perccli-show-all-json", "perccli-drives-json", "ssacli-config-detail")
    for kind, rel in spec["sources"].items():
        if kind in raid or kind.startswith("arcconf-getconfig-"):
            dest = root / "commands" / kind  # RAID tools: the kind is the snapshot command name
        else:
            dest = root / targets[kind]
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(FIXTURES / "raw" / rel, dest)
    # Small sysfs files written inline (a SCSI host's driver name, say): path -> contents.
    for path, contents in spec.get("files", {}).items():
        dest = root / "files" / path.lstrip("/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(contents)
    return root


def without_volatile(report: dict) -> dict:
    report = dict(report)
    report.pop("report_id", None)
    report.pop("collected_at", None)
    return report


def sshd_up(*args: str) -> dict:
    """Runs tests/sshd/up with `args` (flags, then a directory) and reads the env file it prints."""
    out = subprocess.run([str(REPO / "tests" / "sshd" / "up"), *args], capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        pytest.fail(f"tests/sshd/up failed (install openssh-server): {out.stderr}")
    env_file = Path(out.stdout.strip())
    return dict(line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line)


@pytest.fixture(scope="session")
def sshd_env() -> dict:
    """The throw-away sshd on loopback (tests/sshd/up starts it once)."""
    return sshd_up()
