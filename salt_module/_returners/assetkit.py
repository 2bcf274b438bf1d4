"""
Send ``asset.collect`` results to the assetkit receiver, signed, from each minion.

.. code-block:: bash

    salt '*' asset.collect --return assetkit

Configuration (minion config or pillar, read with ``config.get``): ``assetkit:server``,
``assetkit:key_id``, ``assetkit:key_file`` (the fleet key, mode 0600), optionally
``assetkit:config`` and ``assetkit:credentials_dir``. Results of other functions, and failed
collections, are skipped with a log line.

Credentials: each report is signed with the credential of the minion it came from, kept by
minion id as ``<credentials_dir>/<minion id>.json`` (mode 0600, in a directory of mode 0700;
default ``/var/lib/assetkit/credentials``, or ``credentials_dir`` of ``agent.toml``). A minion's
first report is signed with the fleet key, which enrols it, and the credential in the answer is
stored there. The directory is on whichever machine runs the returner: the minion's own disk
here, the master's for a master-side returner.
"""

import logging

try:
    import assetkit

    HAS_ASSETKIT = True
except ImportError:  # pragma: no cover
    HAS_ASSETKIT = False

log = logging.getLogger(__name__)

__virtualname__ = "assetkit"


def __virtual__():
    if not HAS_ASSETKIT:
        return (False, "assetkit returner: the assetkit Python package is not importable")
    return __virtualname__


def _opt(name):
    return __salt__["config.get"]("assetkit:{}".format(name), None)


def returner(ret):
    """Post one minion's asset.collect result to the receiver."""
    if ret.get("fun") != "asset.collect":
        log.debug("assetkit returner: ignoring %s", ret.get("fun"))
        return
    report = ret.get("return")
    if not isinstance(report, dict) or "facts" not in report:
        log.warning("assetkit returner: %s returned no report: %s", ret.get("id"), report)
        return
    if not ret.get("id"):
        # Without the minion id the report cannot be signed with that minion's credential.
        log.warning("assetkit returner: a return without a minion id is not sent")
        return
    report.setdefault("agent", {})["mode"] = "salt"
    try:
        answer = assetkit.send_report(
            report,
            config=_opt("config"),
            server=_opt("server"),
            key_id=_opt("key_id"),
            key_file=_opt("key_file"),
            credentials_dir=_opt("credentials_dir"),
            target=ret["id"],
        )
    except assetkit.AssetkitError as exc:
        log.error("assetkit returner: report of %s not delivered: %s", ret.get("id"), exc)
        return
    log.info("assetkit returner: %s -> asset %s (%s)", ret.get("id"), answer.get("asset_id"), answer.get("action"))
