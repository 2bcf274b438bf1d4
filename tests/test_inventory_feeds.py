"""The inventory feeds Ansible and Salt: the assetkit.cmdb.inventory plugin under real
ansible-inventory and ansible-playbook (over SSH to the loopback sshd), the assetkit ext_pillar
under a real salt-master with two minions and under salt-call, and the assetkit roster under
real salt-ssh. A recording proxy in front of the receiver shows what each of them asked for."""

from __future__ import annotations

import http.client
import http.server
import json
import re
import shutil
import sqlite3
import stat
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import pytest

import assetkit
from conftest import FIXTURES, REPO, build_snapshot, create_key, signed_request, stop_receiver
from test_ansible import ansible
from test_salt import wait_for

SALT_MODULE = REPO / "salt_module"
VENV_BIN = Path(sys.executable).parent


def nic(name: str, mac: str, up: bool, *addresses: str) -> dict:
    return {
        "name": name,
        "mac": mac,
        "up": up,
        "mtu": 1500,
        "speed_mbps": 1000 if up else None,
        "driver": "tg3",
        "addresses": [
            {"family": "inet6", "address": a, "prefix_len": 64} if ":" in a else {"family": "inet", "address": a, "prefix_len": 24}
            for a in addresses
        ],
    }


# Real hardware (golden captures) placed in two business units and two IDCs. The hosts that
# Ansible and salt-ssh reach carry 127.0.0.1 on an up NIC; node-pay-01's first NIC is down with
# another address, which comes first in its ips, so the address rule is visible.
SEED = [
    {
        "hostname": "node-pay-01",
        "golden": "dell-r640",
        "placement": {
            "business_unit": "payments",
            "idc": "bj-01",
            "rack": "R07",
            "position": "U12",
            "tags": ["pci", "web"],
            "owner_name": "Payments SRE",
            "owner_email": "pay-sre@example.com",
            "fields": {"cost_centre": "4711"},
        },
        "nics": [nic("eno1", "aa:bb:cc:00:01:01", False, "10.0.0.5"), nic("eno2", "aa:bb:cc:00:01:02", True, "fd00::5", "127.0.0.1")],
    },
    {
        "hostname": "node-pay-02",
        "golden": "dell-r630",
        # A value that looks like a template stays text (Ansible marks the receiver's strings unsafe).
        "placement": {"business_unit": "payments", "idc": "bj-01", "rack": "R08", "position": "{{ 6 * 7 }}"},
        "nics": [nic("eno1", "aa:bb:cc:00:02:01", True, "127.0.0.1")],
    },
    {
        "hostname": "node-search-01",
        "golden": "hp-dl360-gen8",
        "placement": {"business_unit": "search", "idc": "sh-02", "rack": "A01"},
        "nics": [nic("eth0", "aa:bb:cc:00:03:01", True, "127.0.0.1")],
        # A hypervisor running vm-search-02 (its golden capture's system UUID).
        "guests": [
            {
                "name": "vm-search-02",
                "uuid": "421bbabd-5f4e-af7e-3a56-b5af1ce1a977",
                "kind": "vm",
                "source": "libvirt",
                "id": None,
                "vcpus": 2,
                "memory_bytes": 2 << 30,
                "state": "running",
            }
        ],
    },
    {
        "hostname": "vm-search-02",
        "golden": "rhel-6.2-vmware-2vcpus",
        "placement": {"business_unit": "search", "idc": "sh-02", "status": "online"},
        "nics": [nic("eth0", "aa:bb:cc:00:04:01", True, "10.20.0.2")],
    },
    {
        "hostname": "node-old-01",
        "golden": "dell-r720",
        "placement": {"business_unit": "payments", "idc": "bj-01", "rack": "R07", "status": "retired"},
        "nics": [nic("eth0", "aa:bb:cc:00:05:01", True, "10.9.9.9")],
    },
    {"hostname": "node-new-01", "golden": "S3000AHLX", "placement": None, "nics": [nic("eth0", "aa:bb:cc:00:06:01", True, "127.0.0.1")]},
]
ALL = {h["hostname"] for h in SEED}


def seed(receiver, tmp_path: Path) -> dict[str, int]:
    """Reports for every SEED host (signed with the fleet key), then the admin's placement."""
    os_facts = assetkit.collect(only=["os"])["facts"]["os"]
    status, answer = receiver.admin("POST", "/api/v1/fields", {"name": "cost_centre", "type": "integer"})
    assert status == 201, answer
    ids = {}
    for host in SEED:
        spec = json.loads((FIXTURES / "golden" / f"{host['golden']}.json").read_text())
        report = assetkit.parse_snapshot(str(build_snapshot(spec, tmp_path / "snapshots" / host["hostname"])))
        report["host"]["hostname"] = host["hostname"]
        report["facts"]["os"] = dict(os_facts, hostname=host["hostname"], fqdn=None)
        report["facts"]["nics"] = host["nics"]
        if "guests" in host:
            report["facts"]["guests"] = host["guests"]
        report["errors"] = [e for e in report["errors"] if e["plugin"] not in ("os", "nic")]
        status, answer = signed_request(receiver.url, "POST", "/api/v1/reports", json.dumps(report).encode(), *receiver.agent_key)
        assert status == 200 and answer["action"] == "created", answer
        ids[host["hostname"]] = answer["asset_id"]
        if host["placement"]:
            status, answer = receiver.admin("PATCH", f"/api/v1/assets/{answer['asset_id']}", host["placement"])
            assert status == 200, answer
    return ids


class Recorder:
    """A reverse proxy in front of the receiver that writes down every request it passes on:
    what a client asked the receiver for, which the receiver does not log."""

    def __init__(self, upstream: str, before_list=None):
        self.upstream = urllib.parse.urlsplit(upstream)
        self.requests: list[str] = []
        # Called before a list request is passed on: a test holds the first one there.
        self.before_list = before_list
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                recorder.forward(self)

            do_POST = do_PATCH = do_GET

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def forward(self, handler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else None
        self.requests.append(f"{handler.command} {handler.path}")
        if self.before_list and handler.path.startswith("/api/v1/assets?"):
            self.before_list()
        headers = {k: v for k, v in handler.headers.items() if k.lower().startswith("x-assetkit-") or k.lower() == "content-type"}
        conn = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=60)
        try:
            conn.request(handler.command, handler.path, body=body, headers=headers)
            response = conn.getresponse()
            status, data = response.status, response.read()
        except OSError:
            status, data = 502, b'{"error": {"code": "unavailable", "message": "the receiver is down"}}'
        finally:
            conn.close()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def lists(self) -> list[dict]:
        """The asset list requests so far, each as its query parameters."""
        prefix = "GET /api/v1/assets?"
        return [dict(urllib.parse.parse_qsl(r[len(prefix) :])) for r in self.requests if r.startswith(prefix)]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def recorder(receiver):
    r = Recorder(receiver.url)
    yield r
    r.close()


def key_file(directory: Path, name: str, secret: str, mode: int = 0o600) -> Path:
    path = directory / f"{name}.key"
    path.write_text(secret + "\n")
    path.chmod(mode)
    return path


@pytest.fixture
def read_key(receiver) -> tuple[str, Path]:
    """A key of scope read and its key file."""
    key_id, secret = create_key(receiver.db, "inventory", "read")
    return key_id, key_file(receiver.dir, "read", secret)


def write_inventory(directory: Path, server: str, key: tuple[str, Path], **options) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "assetkit.yml"
    config = {"plugin": "assetkit.cmdb.inventory", "server": server, "key_id": key[0], "key_file": str(key[1]), **options}
    path.write_text(json.dumps(config, indent=2))  # JSON is YAML
    return path


def inventory_list(path: Path, *args: str, env: dict | None = None) -> dict:
    out = ansible("ansible-inventory", "-i", str(path), "--list", *args, env={"ANSIBLE_INVENTORY_UNPARSED_FAILED": "1", **(env or {})})
    assert out.returncode == 0, out.stdout + out.stderr
    return json.loads(out.stdout, object_hook=unwrap_unsafe)


def unwrap_unsafe(obj: dict):
    """The value inside ansible-inventory's {"__ansible_unsafe": ...}: it marks the strings the
    receiver sent, which Ansible never templates (a hostname of "{{ ... }}" stays text)."""
    return obj["__ansible_unsafe"] if set(obj) == {"__ansible_unsafe"} else obj


def members(inventory: dict, group: str) -> set[str]:
    return set(inventory.get(group, {}).get("hosts", []))


# --- Ansible ---------------------------------------------------------------------------------


def test_inventory_groups_hostvars_and_constructed(receiver, recorder, read_key, tmp_path):
    ids = seed(receiver, tmp_path)
    path = write_inventory(
        tmp_path / "inventory",
        recorder.url,
        read_key,
        compose={"serial_tag": "'SN-' ~ assetkit_serial_number"},
        keyed_groups=[{"key": "assetkit_facts.cpu[0].vendor", "prefix": "cpu"}],
        groups={"big_memory": "assetkit_memory_bytes is not none and assetkit_memory_bytes >= 256 * 1024**3"},
    )
    inv = inventory_list(path)
    hostvars = inv["_meta"]["hostvars"]
    assert set(hostvars) == ALL
    assert members(inv, "status_online") == {"node-pay-01", "node-pay-02", "node-search-01", "vm-search-02"}
    assert members(inv, "status_retired") == {"node-old-01"}
    assert members(inv, "status_discovered") == {"node-new-01"}
    assert members(inv, "bu_payments") == {"node-pay-01", "node-pay-02", "node-old-01"}
    assert members(inv, "bu_search") == {"node-search-01", "vm-search-02"}
    assert members(inv, "idc_bj_01") == {"node-pay-01", "node-pay-02", "node-old-01"}
    assert members(inv, "idc_sh_02") == {"node-search-01", "vm-search-02"}
    assert members(inv, "rack_bj_01_r07") == {"node-pay-01", "node-old-01"}
    assert members(inv, "rack_sh_02_a01") == {"node-search-01"}
    assert members(inv, "manufacturer_dell_inc") == {"node-pay-01", "node-pay-02", "node-old-01"}
    assert members(inv, "model_poweredge_r640") == {"node-pay-01"}
    assert members(inv, "model_proliant_dl360p_gen8") == {"node-search-01"}
    assert members(inv, "virtual") == {"vm-search-02"}
    assert "node-pay-01" in members(inv, "physical") and "vm-search-02" not in members(inv, "physical")
    # keyed_groups and groups see the facts and fields.
    assert members(inv, "cpu_Intel") >= {"node-pay-01", "node-pay-02"}
    assert "node-pay-01" in members(inv, "big_memory") and "vm-search-02" not in members(inv, "big_memory")
    # Tags as groups, guests under their hypervisor; owner and custom fields as host variables.
    assert members(inv, "tag_web") == members(inv, "tag_pci") == {"node-pay-01"}
    assert members(inv, "hypervisor_node_search_01") == {"vm-search-02"}

    pay = hostvars["node-pay-01"]
    assert pay["assetkit_id"] == ids["node-pay-01"]
    assert pay["assetkit_owner"] == {"name": "Payments SRE", "email": "pay-sre@example.com"}
    assert pay["assetkit_fields"] == {"cost_centre": 4711} and pay["assetkit_tags"] == ["pci", "web"]
    assert pay["assetkit_serial_number"] == "2RJF153" and pay["serial_tag"] == "SN-2RJF153"
    assert (pay["assetkit_business_unit"], pay["assetkit_idc"], pay["assetkit_rack"], pay["assetkit_position"]) == ("payments", "bj-01", "R07", "U12")
    assert (pay["assetkit_manufacturer"], pay["assetkit_model"], pay["assetkit_virtual"]) == ("Dell Inc.", "PowerEdge R640", False)
    assert pay["assetkit_facts"]["cpu"][0]["model"] == "Intel(R) Xeon(R) Gold 6244 CPU @ 3.60GHz"
    assert len(pay["assetkit_facts"]["memory_module"]) == 8
    assert [n["name"] for n in pay["assetkit_facts"]["nic"]] == ["eno1", "eno2"]
    # The first NIC is down: its address (the first of ips) is not the one to connect to.
    assert pay["assetkit_ips"][0] == "10.0.0.5"
    assert pay["ansible_host"] == "127.0.0.1"
    assert hostvars["node-old-01"]["ansible_host"] == "10.9.9.9"
    assert hostvars["vm-search-02"]["assetkit_virtual"] is True
    # One request: the whole inventory fits one page, components included.
    assert recorder.lists() == [{"per_page": "500", "sort": "id", "include": "components", "after_id": "0"}]

    # compose is applied after the address rule, so it overrides ansible_host.
    override = write_inventory(
        tmp_path / "override", recorder.url, read_key, compose={"ansible_host": "inventory_hostname ~ '.mgmt.example'"}
    )
    assert inventory_list(override)["_meta"]["hostvars"]["node-pay-01"]["ansible_host"] == "node-pay-01.mgmt.example"


def test_inventory_filters_are_sent_to_the_receiver(receiver, recorder, read_key, tmp_path):
    seed(receiver, tmp_path)
    # One asset per page: the two online hosts of bj-01 take two full pages and an empty one.
    # Filtering here instead would have had to read all six hosts.
    path = write_inventory(tmp_path / "bj", recorder.url, read_key, idc=["bj-01"], status=["online"], per_page=1)
    inv = inventory_list(path)
    assert set(inv["_meta"]["hostvars"]) == {"node-pay-01", "node-pay-02"}
    pages = recorder.lists()
    # Paged by the receiver's id cursor: from 0, then after each full page's last asset.
    cursors = [int(p["after_id"]) for p in pages]
    assert len(cursors) == 3 and cursors[0] == 0 and cursors[0] < cursors[1] < cursors[2], pages
    assert all(p["idc"] == "bj-01" and p["status"] == "online" and p["per_page"] == "1" for p in pages), pages

    # Several values of one filter: one query per value, hosts merged.
    recorder.requests.clear()
    path = write_inventory(tmp_path / "bu", recorder.url, read_key, business_unit=["payments", "search"], status="online", facts=False)
    inv = inventory_list(path)
    assert set(inv["_meta"]["hostvars"]) == {"node-pay-01", "node-pay-02", "node-search-01", "vm-search-02"}
    queries = recorder.lists()
    assert sorted(q["business_unit"] for q in queries) == ["payments", "search"]
    assert all(q["status"] == "online" and "include" not in q for q in queries), queries
    # Any other list filter goes to the receiver as it is.
    recorder.requests.clear()
    path = write_inventory(tmp_path / "tagged", recorder.url, read_key, filters={"tag": "web", "cf_cost_centre": 4711}, facts=False)
    assert set(inventory_list(path)["_meta"]["hostvars"]) == {"node-pay-01"}
    assert [(q["tag"], q["cf_cost_centre"]) for q in recorder.lists()] == [("web", "4711")]
    # Without the components, ansible_host is the first of ips.
    assert inv["_meta"]["hostvars"]["node-pay-01"]["ansible_host"] == "10.0.0.5"
    assert "assetkit_facts" not in inv["_meta"]["hostvars"]["node-pay-01"]


def test_playbook_reaches_a_group_from_the_inventory(receiver, recorder, read_key, tmp_path, sshd_env):
    seed(receiver, tmp_path)
    path = write_inventory(
        tmp_path / "inventory", recorder.url, read_key, status=["online"], compose={"ansible_port": sshd_env["SSHD_PORT"]}
    )
    playbook = tmp_path / "where.yml"
    playbook.write_text(
        "- hosts: idc_bj_01\n  gather_facts: false\n  tasks:\n"
        "    - ansible.builtin.ping:\n"
        "    - ansible.builtin.command: printenv SSH_CONNECTION\n      register: conn\n      changed_when: false\n"
        "    - ansible.builtin.debug:\n"
        "        msg: \"{{ inventory_hostname }} {{ assetkit_serial_number }} {{ assetkit_position }} via {{ conn.stdout }}\"\n"
    )
    env = {
        "ANSIBLE_INVENTORY_UNPARSED_FAILED": "1",
        "ANSIBLE_REMOTE_USER": sshd_env["SSH_USER"],
        "ANSIBLE_PRIVATE_KEY_FILE": sshd_env["SSH_KEY"],
        # The sshd's host key alias and known_hosts file.
        "ANSIBLE_SSH_COMMON_ARGS": f"-F {sshd_env['SSH_CONFIG']}",
    }
    out = ansible("ansible-playbook", "-i", str(path), str(playbook), "-e", f"ansible_python_interpreter={sys.executable}", env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    port = sshd_env["SSHD_PORT"]
    for host, serial, position in (("node-pay-01", "2RJF153", "U12"), ("node-pay-02", "2WF88P2", "{{ 6 * 7 }}")):
        assert f'"msg": "{host} {serial} {position} via 127.0.0.1 ' in out.stdout, out.stdout
    assert out.stdout.count(f' 127.0.0.1 {port}"') == 2, out.stdout
    recap = {line.split()[0]: line for line in out.stdout.splitlines() if " : ok=" in line}
    assert set(recap) == {"node-pay-01", "node-pay-02"}, out.stdout
    assert all("unreachable=0" in line and "failed=0" in line for line in recap.values()), recap


def test_inventory_cache_serves_a_second_run_without_the_receiver(receiver, read_key, tmp_path):
    seed(receiver, tmp_path)
    cache_dir = tmp_path / "cache"
    path = write_inventory(
        tmp_path / "inventory",
        receiver.url,
        read_key,
        cache=True,
        cache_plugin="ansible.builtin.jsonfile",
        cache_connection=str(cache_dir),
        cache_timeout=3600,
    )
    first = inventory_list(path)
    assert set(first["_meta"]["hostvars"]) == ALL
    cached = list(cache_dir.iterdir())
    assert len(cached) == 1 and read_key[1].read_text().strip() not in cached[0].read_text()
    stop_receiver(receiver)
    # Nothing answers at the receiver's address now: only the cache can give this.
    assert inventory_list(path) == first
    flushed = ansible("ansible-inventory", "-i", str(path), "--list", "--flush-cache", env={"ANSIBLE_INVENTORY_UNPARSED_FAILED": "1"})
    assert flushed.returncode != 0
    assert f"cannot reach the receiver at {receiver.url}" in flushed.stderr, flushed.stderr


def test_read_key_is_enough_and_agent_key_is_refused(receiver, read_key, tmp_path):
    ids = seed(receiver, tmp_path)
    read_id, read_file = read_key
    read_secret = read_file.read_text().strip()
    # The read scope at the API: the list, one asset, changes; no writes.
    for path in ("/api/v1/assets?per_page=5", f"/api/v1/assets/{ids['node-pay-01']}", f"/api/v1/assets/{ids['node-pay-01']}/changes", "/api/v1/changes"):
        status, body = signed_request(receiver.url, "GET", path, b"", read_id, read_secret)
        assert status == 200, (path, body)
    status, body = signed_request(
        receiver.url, "PATCH", f"/api/v1/assets/{ids['node-pay-01']}", json.dumps({"rack": "R99"}).encode(), read_id, read_secret
    )
    assert status == 403 and body["error"]["code"] == "forbidden", body

    # The example inventory, with server and key from the environment.
    example = tmp_path / "example" / "assetkit.yml"
    example.parent.mkdir()
    shutil.copyfile(REPO / "ansible" / "examples" / "assetkit.yml", example)
    env = {"ASSETKIT_SERVER": receiver.url, "ASSETKIT_KEY_ID": read_id, "ASSETKIT_KEY_FILE": str(read_file)}
    inv = inventory_list(example, env=env)
    assert set(inv["_meta"]["hostvars"]) == {"node-pay-01", "node-pay-02", "node-search-01", "vm-search-02"}
    assert members(inv, "os_debian") == set(inv["_meta"]["hostvars"])
    assert members(inv, "big_memory") == {"node-pay-01"}

    agent_id, agent_secret = receiver.agent_key
    status, body = signed_request(receiver.url, "GET", "/api/v1/assets", b"", agent_id, agent_secret)
    assert status == 403 and body["error"]["code"] == "forbidden", body
    path = write_inventory(tmp_path / "agent", receiver.url, (agent_id, receiver.key_file("agent")))
    out = ansible("ansible-inventory", "-i", str(path), "--list", env={"ANSIBLE_INVENTORY_UNPARSED_FAILED": "1"})
    assert out.returncode != 0
    assert f"key {agent_id} may not read the inventory" in out.stderr and "403 forbidden" in out.stderr, out.stderr
    assert "--scope read" in out.stderr
    assert agent_secret not in out.stdout + out.stderr

    # A key file others may read is refused before any request, the way ssh refuses such a key.
    loose = key_file(tmp_path, "loose", read_secret, mode=0o644)
    out = ansible("ansible-inventory", "-i", str(write_inventory(tmp_path / "loose", receiver.url, (read_id, loose))), "--list", env={"ANSIBLE_INVENTORY_UNPARSED_FAILED": "1"})
    assert out.returncode != 0
    assert f"key file {loose} has mode 0644" in out.stderr and f"chmod 600 {loose}" in out.stderr, out.stderr
    assert read_secret not in out.stdout + out.stderr


def test_ansible_doc_renders_the_inventory_plugin():
    out = ansible("ansible-doc", "-t", "inventory", "assetkit.cmdb.inventory")
    assert out.returncode == 0, out.stderr
    for text in ("OPTIONS", "EXAMPLES:", "ASSETKIT_KEY_FILE", "keyed_groups", "cache_plugin", "ansible_host"):
        assert text in out.stdout, text


# --- Salt ------------------------------------------------------------------------------------


def pillar_options(server: str, key: tuple[str, Path], **extra) -> dict:
    return {"server": server, "key_id": key[0], "key_file": str(key[1]), "ttl": 3600, **extra}


def test_master_pillar_for_two_minions_from_one_fetch(salt_factories, receiver, recorder, read_key, tmp_path):
    seed(receiver, tmp_path)
    master = salt_factories.salt_master_daemon(
        "assetkit-pillar-master",
        overrides={
            "pillar_dirs": [str(SALT_MODULE / "_pillar")],
            "utils_dirs": [str(SALT_MODULE / "_utils")],
            "ext_pillar": [{"assetkit": pillar_options(recorder.url, read_key)}],
            "log_level_logfile": "info",
        },
    )
    # The second minion's id is an FQDN: its short name is the asset's hostname.
    minions = [master.salt_minion_daemon(name, overrides={"log_level_logfile": "warning"}) for name in ("node-pay-01", "node-pay-02.bj.example.com")]
    with master.started(), minions[0].started(), minions[1].started():
        salt = master.salt_cli(timeout=120)
        for minion, hostname, rack in ((minions[0], "node-pay-01", "R07"), (minions[1], "node-pay-02", "R08")):
            # Salt 3008 masks pillar values in output unless asked not to.
            items = salt.run("pillar.items", "unmask=True", minion_tgt=minion.id)
            assert items.returncode == 0, items
            pillar = items.data["assetkit"]
            assert (pillar["hostname"], pillar["idc"], pillar["rack"], pillar["business_unit"]) == (hostname, "bj-01", rack, "payments")
            assert set(pillar) == {"asset_id", "hostname", "status", "business_unit", "idc", "rack", "position", "serial_number", "model"} | {
                "owner", "tags", "fields", "purchase_date", "warranty_end", "hypervisor_id", "cloud"
            }
            if hostname == "node-pay-01":
                assert (pillar["owner"]["name"], pillar["tags"], pillar["fields"]) == ("Payments SRE", ["pci", "web"], {"cost_centre": 4711})
            assert salt.run("saltutil.refresh_pillar", "wait=True", minion_tgt=minion.id).returncode == 0
            again = salt.run("pillar.get", "assetkit:idc", "unmask=True", minion_tgt=minion.id)
            assert again.data == "bj-01", again
        # Both minions, their start-up compilations and the refreshes: one read of the list.
        assert recorder.lists() == [{"per_page": "500", "sort": "id", "after_id": "0"}]
    [cache] = (Path(master.config["cachedir"]) / "assetkit").glob("pillar-*.json")
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    doc = json.loads(cache.read_text())
    assert len(doc["assets"]) == len(SEED) and doc["error"] is None
    assert read_key[1].read_text().strip() not in cache.read_text()


def masterless(directory: Path, server: str, key: tuple[str, Path], minion_id: str, root: Path | None = None) -> Path:
    """A salt-call --local config whose pillar is one sls (other: kept) and the assetkit
    ext_pillar: salt-call compiles ext_pillar the way a master does, cache under its cachedir
    (in `root`, by default `directory`)."""
    roots = directory / "pillar"
    roots.mkdir(parents=True)
    (roots / "top.sls").write_text("base:\n  '*':\n    - other\n")
    (roots / "other.sls").write_text("other: kept\n")
    settings = {
        "root_dir": str(root or directory),
        "file_client": "local",
        "id": minion_id,
        "log_level": "warning",
        "pillar_roots": {"base": [str(roots)]},
        "pillar_dirs": [str(SALT_MODULE / "_pillar")],
        "utils_dirs": [str(SALT_MODULE / "_utils")],
        "ext_pillar": [{"assetkit": pillar_options(server, key)}],
    }
    (directory / "minion").write_text(json.dumps(settings))
    return directory


def salt_call_pillar(conf: Path, *, wait: bool = True):
    command = [str(VENV_BIN / "salt-call"), "--local", "-c", str(conf), "--out=json", "pillar.items", "unmask=True"]
    if not wait:
        return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def test_pillar_survives_the_receiver_going_down(receiver, recorder, read_key, tmp_path):
    """A receiver that is down leaves the rest of the pillar intact, and a stale inventory is served."""
    seed(receiver, tmp_path)
    # No inventory yet and nothing listening: no assetkit key, an error, the rest of the pillar.
    down = recorder.url
    recorder.close()
    out = salt_call_pillar(masterless(tmp_path / "never", down, read_key, "node-search-01"))
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["local"] == {"other": "kept"}
    assert f"cannot reach the receiver at {down}" in out.stderr and "no inventory fetched yet" in out.stderr, out.stderr

    # Fetched once while the receiver is up; then, stale and with the receiver gone, served.
    stale = masterless(tmp_path / "stale", receiver.url, read_key, "node-search-01")
    out = salt_call_pillar(stale)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["local"]["assetkit"]["idc"] == "sh-02"
    [cache] = stale.glob("var/cache/salt/minion/assetkit/pillar-*.json")
    doc = json.loads(cache.read_text())
    doc["attempted_at"] = doc["fetched_at"] = doc["fetched_at"] - 7200  # older than the ttl
    cache.write_text(json.dumps(doc))
    stop_receiver(receiver)
    before = time.time()
    out = salt_call_pillar(stale)
    after = time.time()
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["local"] == {"other": "kept", "assetkit": doc["assets"][str(doc["hostnames"]["node-search-01"])]}
    # The age is the fetch's age at the moment salt-call looked: 7200 s plus however long this test has run since.
    said = re.search(r"serving the inventory fetched (\d+) s ago", out.stderr)
    assert said, out.stderr
    assert int(before - doc["fetched_at"]) <= int(said[1]) <= after - doc["fetched_at"], out.stderr


def flock_waiters(path: Path) -> int:
    """Processes blocked in flock() on `path` (Linux /proc/locks marks them "->")."""
    inode = path.stat().st_ino
    return sum(1 for line in Path("/proc/locks").read_text().splitlines() if " -> " in line and line.split()[-3].endswith(f":{inode}"))


def test_concurrent_pillar_compilations_share_one_fetch(receiver, read_key, tmp_path):
    """Three processes sharing one cachedir (as a master's workers do) need the inventory at
    once: the first list request is held until the other two wait on the lock, and then it is
    the only request made."""
    seed(receiver, tmp_path)
    conf = None

    def hold_until_others_wait():
        [lock] = conf.glob("var/cache/salt/minion/assetkit/pillar-*.json.lock")
        wait_for(lambda: flock_waiters(lock) == 2, "two compilations waiting on the lock")

    recorder = Recorder(receiver.url, before_list=hold_until_others_wait)
    try:
        conf = masterless(tmp_path / "shared", recorder.url, read_key, "node-pay-01")
        # salt-call creates its directories racily: one run without the ext_pillar makes them.
        warm = masterless(tmp_path / "warm", recorder.url, read_key, "node-pay-01", root=conf)
        (warm / "minion").write_text(json.dumps({**json.loads((warm / "minion").read_text()), "ext_pillar": []}))
        assert salt_call_pillar(warm).returncode == 0
        calls = [salt_call_pillar(conf, wait=False) for _ in range(3)]
        for call in calls:
            stdout, stderr = call.communicate(timeout=120)
            assert call.returncode == 0, stderr
            assert json.loads(stdout)["local"]["assetkit"]["rack"] == "R07"
        assert len(recorder.lists()) == 1, recorder.requests
    finally:
        recorder.close()


def salt_ssh_runner(conf: Path, server: str, read_key, sshd_env):
    """salt-ssh with the assetkit roster over `server`, reaching the loopback sshd: a function
    that runs it with the given arguments and returns its JSON output."""
    conf.mkdir()
    settings = {
        "root_dir": str(conf),
        "cachedir": str(conf / "cache"),
        "pki_dir": str(conf / "pki"),
        "log_file": str(conf / "master.log"),
        "ssh_log_file": str(conf / "ssh.log"),
        "roster": "assetkit",
        "roster_dirs": [str(SALT_MODULE / "_roster")],
        "utils_dirs": [str(SALT_MODULE / "_utils")],
        "assetkit_roster": {
            "server": server,
            "key_id": read_key[0],
            "key_file": str(read_key[1]),
            "status": "online",
            "idc": ["bj-01", "sh-02"],
            "user": sshd_env["SSH_USER"],
            "port": int(sshd_env["SSHD_PORT"]),
            "priv": sshd_env["SSH_KEY"],
        },
        # This machine's python3 on PATH is a pyenv shim, a shell script salt-ssh's shim
        # mishandles (it reads an unset LD_LIBRARY_PATH under set -u); the system one is not.
        "roster_defaults": {"set_path": "/usr/local/bin:/usr/bin:/bin"},
        "ssh_use_home_key": False,
        # Every host here is the one loopback sshd: salt-ssh's first contact with a host unpacks
        # its thin bundle into /var/tmp there, and on a fresh machine three at once collide in
        # the one directory (retcode 245). A fleet's hosts each have their own /var/tmp.
        "ssh_max_procs": 1,
    }
    (conf / "master").write_text(json.dumps(settings))

    def salt_ssh(*args: str) -> dict:
        out = subprocess.run(
            [str(VENV_BIN / "salt-ssh"), "-c", str(conf), "--ignore-host-keys", "--out=json", "--static", *args],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert out.returncode == 0, out.stdout + out.stderr
        return json.loads(out.stdout)

    return salt_ssh


def test_salt_ssh_roster_targets_and_reaches_hosts(receiver, recorder, read_key, tmp_path, sshd_env):
    seed(receiver, tmp_path)
    salt_ssh = salt_ssh_runner(tmp_path / "salt-ssh", recorder.url, read_key, sshd_env)
    # The online hosts of both IDCs that match the glob; vm-search-02 is online but not node-*,
    # node-old-01 (retired) and node-new-01 (discovered) are left out by the receiver.
    assert salt_ssh("node-*", "test.ping") == {"node-pay-01": True, "node-pay-02": True, "node-search-01": True}
    assert all(q["status"] == "online" and q["include"] == "components" for q in recorder.lists())
    assert sorted(q["idc"] for q in recorder.lists()) == ["bj-01", "sh-02"]
    # A list target, over SSH to the loopback sshd on the roster's port.
    conn = salt_ssh("-L", "node-pay-01,node-pay-02", "cmd.run", "printenv SSH_CONNECTION")
    assert set(conn) == {"node-pay-01", "node-pay-02"}
    for line in conn.values():
        assert line.startswith("127.0.0.1 ") and line.endswith(f" 127.0.0.1 {sshd_env['SSHD_PORT']}"), conn
    assert salt_ssh("-E", r"^node-pay-0[2-9]$", "test.ping") == {"node-pay-02": True}


def test_a_reported_address_that_is_not_one_never_reaches_ssh(receiver, read_key, tmp_path, sshd_env):
    """A database written before addresses were checked at intake (the row is edited here, as an
    old database could hold it): neither ansible-inventory nor salt-ssh hands ssh anything but an
    IP address or a host name."""
    ids = seed(receiver, tmp_path)
    marker = tmp_path / "pwned"
    evil = f"-oProxyCommand=touch${{IFS}}{marker} x"
    with sqlite3.connect(receiver.db) as db:
        for (data,) in db.execute("SELECT data FROM components WHERE asset_id = ? AND kind = 'nic'", (ids["node-pay-02"],)).fetchall():
            nic_data = json.loads(data)
            nic_data["addresses"] = [{"family": "inet", "address": evil, "prefix_len": 24}, {"family": "inet", "address": "127.0.0.1", "prefix_len": 8}]
            db.execute("UPDATE components SET data = ? WHERE asset_id = ? AND kind = 'nic'", (json.dumps(nic_data), ids["node-pay-02"]))
        db.execute("UPDATE assets SET ips = ? WHERE id = ?", (f"{evil} 127.0.0.1", ids["node-pay-02"]))
        # And a name that was never a host name, on another asset.
        db.execute("UPDATE assets SET hostname = ? WHERE id = ?", (evil, ids["node-search-01"]))

    inventory = inventory_list(write_inventory(tmp_path / "inv", receiver.url, read_key))
    hostvars = inventory["_meta"]["hostvars"]
    assert hostvars["node-pay-02"]["ansible_host"] == "127.0.0.1"
    assert all(not name.startswith("-") for name in hostvars), sorted(hostvars)
    assert all(not str(v.get("ansible_host", "")).startswith("-") for v in hostvars.values())
    assert f"asset-{ids['node-search-01']}" in hostvars

    salt_ssh = salt_ssh_runner(tmp_path / "salt-ssh", receiver.url, read_key, sshd_env)
    assert salt_ssh("node-pay-02", "test.ping") == {"node-pay-02": True}
    # The asset whose name is not a host name goes by the name it reported, reached at its address.
    assert salt_ssh("-L", "node-search-01", "test.ping") == {"node-search-01": True}
    assert not marker.exists(), "a reported address ran a command on the control machine"
