"""Any client can speak the signing scheme: Python's standard library alone is accepted, and
assetkit.report() lands in a real receiver."""

from __future__ import annotations

import json

import assetkit
from conftest import signed_request


def test_stdlib_signed_report_is_accepted(receiver):
    report = assetkit.collect(mode="cli")
    body = json.dumps(report).encode()
    status, answer = signed_request(receiver.url, "POST", "/api/v1/reports", body, *receiver.agent_key)
    assert status == 200, answer
    assert answer["action"] == "created"
    # The same request signed with a wrong secret is refused.
    status, answer = signed_request(receiver.url, "POST", "/api/v1/reports", body, receiver.agent_key[0], "aks_wrong")
    assert status == 401 and answer["error"]["code"] == "bad_signature"
    # Query strings are part of what is signed.
    assets = receiver.get("/api/v1/assets?status=discovered&per_page=5")
    assert assets["total"] == 1


def test_report_from_python_lands_and_updates_the_cert(receiver, tmp_path):
    cfg = receiver.agent_config(tmp_path / "host")
    outcome = assetkit.report(config=str(cfg))
    assert outcome["answer"]["action"] == "created"
    cert = (tmp_path / "host" / "cert").read_text().strip()
    assert cert == outcome["cert_hostname"] == open("/proc/sys/kernel/hostname").read().strip()
    again = assetkit.report(config=str(cfg))
    assert again["answer"]["action"] == "unchanged"
    assert again["answer"]["asset_id"] == outcome["answer"]["asset_id"]
