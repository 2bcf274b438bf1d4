"""
Server asset inventory through the assetkit collectors (Rust, via the ``assetkit`` wheel).

:depends: the ``assetkit`` Python package (abi3 wheel) in the minion's Python.
:configuration: in the minion config, pillar or grains (read with ``config.get``)::

    assetkit:
      server: https://cmdb.example.com:8600   # receiver, for asset.report
      key_id: ak_0123456789abcdef
      key_file: /etc/assetkit/key              # mode 0600
      plugins: [os, board, cpu, memory, disk, nic, packages]
      config: /etc/assetkit/agent.toml         # optional; the keys above override it
      cert_file: /etc/assetkit/cert
      spool_dir: /var/spool/assetkit
      host_key_file: /etc/assetkit/host.key    # this minion's own credential (see below)

``asset.report`` enrols the minion with the fleet key (``key_id``/``key_file``) on its first
report: the receiver's answer carries the host's own credential, which is kept in
``host_key_file`` on the minion (one JSON line, mode 0600, default from ``agent.toml``, else
``/etc/assetkit/host.key``) and signs every later report. From then on the receiver refuses the
fleet key for this host; the fleet key is only needed again for a re-enrolment an admin allows
(``assetkitd hosts reenrol``).
"""

import logging

try:
    import assetkit

    HAS_ASSETKIT = True
    IMPORT_ERROR = ""
except ImportError as exc:  # pragma: no cover - exercised by __virtual__ tests
    HAS_ASSETKIT = False
    IMPORT_ERROR = str(exc)

log = logging.getLogger(__name__)

__virtualname__ = "asset"


def __virtual__():
    if not HAS_ASSETKIT:
        return (
            False,
            "asset: the assetkit Python package is not importable by this minion's Python "
            "({}); install the wheel with `salt-pip install assetkit-*.whl` (onedir) or pip".format(IMPORT_ERROR),
        )
    return __virtualname__


def _opt(name, default=None):
    return __salt__["config.get"]("assetkit:{}".format(name), default)


def _plugins(only):
    plugins = only if only is not None else _opt("plugins")
    if isinstance(plugins, str):
        plugins = [p.strip() for p in plugins.split(",") if p.strip()]
    return plugins


def _fail(exc):
    __context__["retcode"] = 1
    return {"result": False, "comment": "{}: {}".format(type(exc).__name__, exc)}


def collect(only=None, snapshot=None):
    """
    Collect this minion's hardware facts (hostname, OS, system/board/BIOS serials, CPU, memory
    modules, disks, NICs) and return the assetkit report.

    only
        Plugins to run, comma-separated or a list (default: ``assetkit:plugins`` or all).

    snapshot
        Parse this snapshot directory instead of the live host.

    CLI Example:

    .. code-block:: bash

        salt '*' asset.collect
        salt '*' asset.collect only=os,cpu,memory
        salt '*' asset.collect --return assetkit
    """
    try:
        return assetkit.collect(only=_plugins(only), snapshot=snapshot, config=_opt("config"), mode="salt")
    except assetkit.AssetkitError as exc:
        return _fail(exc)


def report():
    """
    Collect this minion and send the report to the receiver, like the assetkit agent: unsent
    reports wait in the spool, and the cert file is updated from the receiver's answer. Signed
    with the minion's credential in ``assetkit:host_key_file`` once it has one, else with the
    fleet key, which enrols it (the credential is then stored there).

    CLI Example:

    .. code-block:: bash

        salt '*' asset.report
    """
    try:
        return assetkit.report(
            config=_opt("config"),
            mode="salt",
            server=_opt("server"),
            key_id=_opt("key_id"),
            key_file=_opt("key_file"),
            cert_file=_opt("cert_file"),
            spool_dir=_opt("spool_dir"),
            plugins=_plugins(None),
            host_key_file=_opt("host_key_file"),
        )
    except assetkit.AssetkitError as exc:
        return _fail(exc)


def cert():
    """
    Show the cert file: the hostname the receiver knows this minion by.

    CLI Example:

    .. code-block:: bash

        salt '*' asset.cert
    """
    path = _opt("cert_file", "/etc/assetkit/cert")
    try:
        with open(path) as fh:
            name = fh.read().strip() or None
    except FileNotFoundError:
        name = None
    except OSError as exc:
        return _fail(exc)
    return {"cert_file": path, "cert_hostname": name}


def snapshot_script():
    """
    Return the POSIX sh script that captures this host's raw fact sources as one stream
    (what ``assetkit sweep`` runs over SSH).

    CLI Example:

    .. code-block:: bash

        salt '*' asset.snapshot_script
    """
    return assetkit.snapshot_script()
