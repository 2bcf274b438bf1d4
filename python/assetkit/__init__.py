"""assetkit: server asset inventory collectors, from Rust, for Salt, Ansible and scripts.

>>> import assetkit
>>> report = assetkit.collect(only=["os", "cpu"])
>>> report["facts"]["cpu"]["logical_cores"]

Every function releases the GIL while it works. Errors are typed: ``ConfigError`` (bad config
or argument), ``CollectError`` (no facts could be read), ``ReportError`` (the receiver was not
reached or refused the report); all derive from ``AssetkitError``.
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
