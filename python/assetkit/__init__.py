"""assetkit: server asset inventory collectors, from Rust, for Salt, Ansible and scripts.

>>> import assetkit
>>> report = assetkit.collect(only=["os", "cpu"])
>>> report["facts"]["cpu"]["logical_cores"]

Every function releases the GIL while it works. Errors are typed: ``ConfigError`` (bad config
or argument), ``CollectError`` (no facts could be read), ``ReportError`` (the receiver was not
reached or refused the report); all derive from ``AssetkitError``.

Credentials: a host's first report is signed with the fleet key (``key_id``, ``key_file``),
which enrols it; the receiver's answer carries the host's own credential, which signs every
later report, and the receiver then refuses the fleet key for that host.

>>> assetkit.report(config="/etc/assetkit/agent.toml", host_key_file="/etc/assetkit/host.key")

keeps it in ``host_key_file`` (default from agent.toml, else /etc/assetkit/host.key), and

>>> assetkit.send_report(report, server=..., key_id=..., key_file=...,
...                      credentials_dir="/var/lib/assetkit/credentials", target="web01")

(a control machine: a Salt master, a returner) keeps one per target, in
``<credentials_dir>/<target>.json``, or in ``credential_file=`` when given. Files are mode 0600,
written atomically; answers and outcomes never contain the secret.
"""

from __future__ import annotations

from assetkit._native import (
    AssetkitError,
    CollectError,
    ConfigError,
    ReportError,
    __version__,
    collect,
    parse_snapshot,
    plugins,
    report,
    send_report,
    sign,
    snapshot_script,
)

__all__ = [
    "AssetkitError",
    "CollectError",
    "ConfigError",
    "ReportError",
    "__version__",
    "collect",
    "parse_snapshot",
    "plugins",
    "report",
    "send_report",
    "sign",
    "snapshot_script",
]
