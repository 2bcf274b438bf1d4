"""
Salt mode of assetkit: the master gathers ``asset.collect`` from minions and posts every report
itself, so only the master talks to the receiver.

.. code-block:: bash

    salt-run asset.sweep tgt='*'
    salt-run asset.sweep tgt='web*' only=os,board,disk

Master configuration::

    assetkit:
      server: https://cmdb.example.com:8600
      key_id: ak_0123456789abcdef
      key_file: /etc/assetkit/key     # mode 0600, owned by the user salt-master runs as
      credentials_dir: /var/lib/assetkit/credentials   # the default

The master holds one credential per minion: ``<credentials_dir>/<minion id>.json`` (mode 0600, in
a directory of mode 0700 owned by the user salt-master runs as). A minion's first report is signed
with the fleet key, which enrols it; every later one with its own credential. A minion enrolled
through another way in (its agent, the returner) is refused (``host_enrolled``) until an admin
allows a re-enrolment: ``assetkitd hosts reenrol <host>``.
"""

import logging

import salt.client
import salt.utils.minions

try:
    import assetkit

    HAS_ASSETKIT = True
except ImportError:  # pragma: no cover
    HAS_ASSETKIT = False

log = logging.getLogger(__name__)

__virtualname__ = "asset"


def __virtual__():
    if not HAS_ASSETKIT:
        return (False, "asset runner: the assetkit Python package is not importable by the master's Python")
    return __virtualname__


def _opt(name):
    return (__opts__.get("assetkit") or {}).get(name)


def sweep(tgt="*", tgt_type="glob", only=None, timeout=60):
    """
    Collect from the targeted minions and send each report to the receiver from the master.

    Returns a summary: minions reported (with their asset ids and actions), minions that
    failed to collect or whose report was refused, and minions that did not answer; with any
    of the last two, ``retcode`` 1 (the exit status of salt-run).

    CLI Example:

    .. code-block:: bash

        salt-run asset.sweep tgt='*'
    """
    kwarg = {"only": only} if only else {}
    expected = set(salt.utils.minions.CkMinions(__opts__).check_minions(tgt, tgt_type).get("minions", []))
    client = salt.client.get_local_client(__opts__["conf_file"])
    returns = client.cmd(tgt, "asset.collect", kwarg=kwarg, tgt_type=tgt_type, timeout=timeout)
    summary = {"reported": {}, "failed": {}, "no_return": sorted(expected - set(returns))}
    for minion, report in sorted(returns.items()):
        if not isinstance(report, dict) or "facts" not in report:
            summary["failed"][minion] = "collection failed: {}".format(report)
            continue
        report.setdefault("agent", {})["mode"] = "salt"
        try:
            answer = assetkit.send_report(
                report,
                config=_opt("config"),
                server=_opt("server"),
                key_id=_opt("key_id"),
                key_file=_opt("key_file"),
                credentials_dir=_opt("credentials_dir"),
                target=minion,
            )
        except assetkit.AssetkitError as exc:
            summary["failed"][minion] = str(exc)
            continue
        summary["reported"][minion] = {"asset_id": answer["asset_id"], "action": answer["action"]}
    summary["counts"] = {k: len(summary[k]) for k in ("reported", "failed", "no_return")}
    if summary["failed"] or summary["no_return"]:
        __context__["retcode"] = 1
        # salt-run takes its exit status from a "retcode" in the runner's return, not from
        # __context__ (which only marks the job unsuccessful).
        summary["retcode"] = 1
    return summary
