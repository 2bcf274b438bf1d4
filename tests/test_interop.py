"""Any client can speak the signing scheme: Python's standard library alone is accepted, and
assetkit.report() and send_report() land in a real receiver, enrolling with the fleet key and
signing with the host's own credential after."""

from __future__ import annotations

import json
import stat

import assetkit
from conftest import credential, signed_request


def test_stdlib_signed_report_is_accepted(receiver):
    report = assetkit.collect(mode="cli")
    body = json.dumps(report).encode()
    status, answer = signed_request(receiver.url, "POST", "/api/v1/reports", body, *receiver.agent_key)
    assert status == 200, answer
    assert answer["action"] == "created"
    # The fleet key enrolled the host: the answer carries the host's own credential.
    host_key = (answer["host_key_id"], answer["host_secret"])
    assert host_key[0].startswith("hk_")
    # The same request signed with a wrong secret is refused.
    status, answer = signed_request(receiver.url, "POST", "/api/v1/reports", body, receiver.agent_key[0], "aks_wrong")
    assert status == 401 and answer["error"]["code"] == "bad_signature"
    # The host's next report: the fleet key may no longer write it, its credential may.
    report = assetkit.collect(mode="cli")
    body = json.dumps(report).encode()
    status, answer = signed_request(receiver.url, "POST", "/api/v1/reports", body, *receiver.agent_key)
    assert status == 403 and answer["error"]["code"] == "host_enrolled", answer
    status, answer = signed_request(receiver.url, "POST", "/api/v1/reports", body, *host_key)
    assert status == 200 and answer["action"] == "unchanged", answer
    assert "host_secret" not in answer
    assert receiver.signers() == [receiver.agent_key[0], host_key[0]]
    # Query strings are part of what is signed.
    assets = receiver.get("/api/v1/assets?status=discovered&per_page=5")
    assert assets["total"] == 1


def test_report_from_python_lands_and_updates_the_cert(receiver, tmp_path):
    cfg = receiver.agent_config(tmp_path / "host")
    outcome = assetkit.report(config=str(cfg))
    assert outcome["answer"]["action"] == "created"
    assert "host_secret" not in json.dumps(outcome), "the outcome never carries the secret"
    cert = (tmp_path / "host" / "cert").read_text().strip()
    assert cert == outcome["cert_hostname"] == open("/proc/sys/kernel/hostname").read().strip()
    own = credential(tmp_path / "host" / "host.key")
    assert receiver.signers() == [receiver.agent_key[0]]
    again = assetkit.report(config=str(cfg))
    assert again["answer"]["action"] == "unchanged"
    assert again["answer"]["asset_id"] == outcome["answer"]["asset_id"]
    assert receiver.signers() == [receiver.agent_key[0], own]


def test_send_report_keeps_one_credential_per_target(receiver, tmp_path):
    """A control machine (a Salt master, a sweep) enrols each target once and signs its later
    reports with that target's credential; a credential file names its target explicitly."""
    fleet = {"server": receiver.url, "key_id": receiver.agent_key[0], "key_file": str(receiver.key_file())}
    store = tmp_path / "credentials"
    names = ("sent-01", "sent-02")
    for _ in range(2):
        for name in names:
            report = assetkit.collect(only=["os"])
            report["host"]["hostname"] = report["facts"]["os"]["hostname"] = name
            answer = assetkit.send_report(report, credentials_dir=str(store), target=name, **fleet)
            assert "host_secret" not in answer
    assert stat.S_IMODE(store.stat().st_mode) == 0o700
    by_name = {a["hostname"]: a["id"] for a in receiver.assets()}
    for name in names:
        own = credential(store / f"{name}.json")
        assert receiver.signers(by_name[name]) == [receiver.agent_key[0], own]
    # An explicit file: the same host, the same credential.
    report = assetkit.collect(only=["os"])
    report["host"]["hostname"] = report["facts"]["os"]["hostname"] = names[0]
    answer = assetkit.send_report(report, credential_file=str(store / f"{names[0]}.json"), server=receiver.url)
    assert answer["asset_id"] == by_name[names[0]]
    assert len(receiver.signers(by_name[names[0]])) == 3
