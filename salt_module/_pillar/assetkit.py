"""
Each minion's place in the assetkit inventory, as pillar: ``assetkit:idc``, ``assetkit:rack``...

.. code-block:: yaml

    # /etc/salt/master
    ext_pillar:
      - assetkit:
          server: https://cmdb.example.com:8600
          key_id: ak_0123456789abcdef
          key_file: /etc/salt/assetkit.key   # scope read; mode 0600, owned by the user salt-master runs as
          ttl: 300                           # seconds between two fetches of the inventory

Optional: ``per_page`` (1 to 500, default 500), ``timeout`` (seconds per request, default 30),
``ca_file`` (a PEM bundle for the receiver's certificate), ``validate_certs`` (default true),
``retry`` (seconds between two attempts after a failed fetch, default 60 or ``ttl`` if shorter).
Create the key with ``assetkitd keys create salt-master --scope read``.

Where the module goes: copy ``_pillar/`` and ``_utils/`` into the file roots and run
``salt-run saltutil.sync_pillar`` and ``salt-run saltutil.sync_utils`` (they land in the master's
``extension_modules``), or point the master at the checkout with ``pillar_dirs: [.../_pillar]``
and ``utils_dirs: [.../_utils]``.

Every minion gets::

    assetkit:
      asset_id: 42
      hostname: web01
      status: online
      business_unit: payments
      idc: bj-01
      rack: R07
      position: U12
      serial_number: 2RJF153
      model: PowerEdge R640
      owner: {name: Payments SRE, email: pay-sre@example.com}
      tags: [pci, web]
      fields: {cost_centre: 4711}     # custom fields, by name
      purchase_date: 2024-03-15
      warranty_end: 2027-03-15
      hypervisor_id: null             # a VM's hypervisor (its asset id)
      cloud: null                     # {provider, instance_id, instance_type} of a cloud instance

Which asset is the minion's (names compared without regard to case): the asset whose hostname
is the minion id; else the one asset that reported the minion id as its hostname; when the
minion id is an FQDN (``web01.bj.example.com``), the same two steps with its first label
(``web01``). Two assets that both reported the name are ambiguous: no pillar, and a warning.
A minion with no asset gets no ``assetkit`` key.

One fetch serves every minion: the master reads the whole inventory (paged) at most once per
``ttl`` and keeps it in ``<cachedir>/assetkit/pillar-<digest>.json`` (mode 0600, replaced
atomically), under a lock: concurrent worker processes wait for the one fetch rather than each
make their own, and while one refreshes an expired inventory the others serve the expired one.
If the receiver cannot be read, the last inventory is served with a warning in the master log,
and the next attempt waits ``retry`` seconds; with no inventory yet, the minion gets no
``assetkit`` key and the master logs an error. Either way the rest of the minion's pillar is
compiled as usual.
"""

import fcntl
import hashlib
import json
import logging
import os
import tempfile
import time

from salt.exceptions import CommandExecutionError

log = logging.getLogger(__name__)

__virtualname__ = "assetkit"

# What a minion sees, from the asset list's fields.
PILLAR_FIELDS = {
    "asset_id": "id",
    "hostname": "hostname",
    "status": "status",
    "business_unit": "business_unit",
    "idc": "idc",
    "rack": "rack",
    "position": "position",
    "serial_number": "serial_number",
    "model": "model",
    "owner": "owner",
    "tags": "tags",
    "fields": "fields",
    "purchase_date": "purchase_date",
    "warranty_end": "warranty_end",
    "hypervisor_id": "hypervisor_id",
    "cloud": "cloud",
}
OPTIONS = {"server", "key_id", "key_file", "ttl", "retry", "per_page", "timeout", "ca_file", "validate_certs"}


def __virtual__():
    if "assetkit_inventory.fetch" not in __utils__:
        return (False, "assetkit ext_pillar: the assetkit_inventory util is not loaded: sync _utils (salt-run saltutil.sync_utils) or add it to utils_dirs")
    return __virtualname__


def ext_pillar(minion_id, pillar, **options):  # pylint: disable=unused-argument
    """The minion's ``assetkit`` pillar from the inventory, fetched at most once per ``ttl``."""
    unknown = set(options) - OPTIONS
    if unknown:
        log.warning("assetkit ext_pillar: ignoring unknown options %s", ", ".join(sorted(unknown)))
    inventory = _inventory(options)
    if inventory is None:
        return {}
    asset = _match(inventory, minion_id)
    return {"assetkit": asset} if asset else {}


def _match(inventory, minion_id):
    """The pillar of the minion's asset (see the module's docstring for the rule), or None."""
    name = str(minion_id).lower()
    names = [name, name.split(".", 1)[0]] if "." in name else [name]
    for candidate in names:
        asset_id = inventory["hostnames"].get(candidate)
        if asset_id is not None:
            return inventory["assets"][str(asset_id)]
        reported = inventory["reported"].get(candidate, [])
        if len(reported) == 1:
            return inventory["assets"][str(reported[0])]
        if len(reported) > 1:
            log.warning("assetkit ext_pillar: assets %s all reported the name %s; no pillar for minion %s", reported, candidate, minion_id)
            return None
    log.debug("assetkit ext_pillar: no asset is named %s", minion_id)
    return None


def _index(assets):
    """The cache document: each asset's pillar by id, and ids by lower-cased name."""
    doc = {"assets": {}, "hostnames": {}, "reported": {}}
    for asset in assets:
        doc["assets"][str(asset["id"])] = {key: asset.get(field) for key, field in PILLAR_FIELDS.items()}
        if asset.get("hostname"):
            doc["hostnames"][asset["hostname"].lower()] = asset["id"]
        if asset.get("reported_hostname"):
            doc["reported"].setdefault(asset["reported_hostname"].lower(), []).append(asset["id"])
    return doc


def _inventory(options):
    """The indexed inventory: from the cache while it is fresh, else fetched by one worker
    under the lock; the stale one when the fetch fails; None when there is none."""
    ttl = float(options.get("ttl", 300))
    retry = float(options.get("retry", min(ttl, 60)))
    server, key_id = options.get("server"), options.get("key_id")
    directory = os.path.join(__opts__["cachedir"], "assetkit")
    # One file per receiver and key: two ext_pillar entries never share an inventory.
    digest = hashlib.sha256(f"{server}\n{key_id}".encode()).hexdigest()[:16]
    path = os.path.join(directory, f"pillar-{digest}.json")

    doc = _load(path)
    if _fresh(doc, ttl, retry):
        return _served(doc, server)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    lock_fd = os.open(path + ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        if doc and doc.get("fetched_at"):
            # Another worker is refreshing: serve what we have rather than wait for it.
            try:
                fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return doc
        else:
            # Nothing to serve yet: wait for the one fetch.
            fcntl.flock(lock_fd, fcntl.LOCK_EX)
        # A worker that held the lock before us may have fetched meanwhile.
        doc = _load(path)
        if _fresh(doc, ttl, retry):
            return _served(doc, server)
        now = time.time()
        try:
            assets = __utils__["assetkit_inventory.fetch"](
                server,
                key_id,
                options.get("key_file"),
                per_page=int(options.get("per_page", 500)),
                timeout=float(options.get("timeout", 30)),
                ca_file=options.get("ca_file"),
                validate_certs=bool(options.get("validate_certs", True)),
            )
        except CommandExecutionError as exc:
            previous = doc if doc and doc.get("fetched_at") else None
            failed = dict(previous or {}, attempted_at=now, error=str(exc))
            _store(path, failed)
            if previous:
                log.warning(
                    "assetkit ext_pillar: %s; serving the inventory fetched %d s ago", exc, now - previous["fetched_at"]
                )
                return failed
            log.error("assetkit ext_pillar: %s; no inventory fetched yet, so no assetkit pillar", exc)
            return None
        doc = dict(_index(assets), fetched_at=now, attempted_at=now, error=None)
        _store(path, doc)
        log.info("assetkit ext_pillar: fetched %d assets from %s", len(assets), server)
        return doc
    finally:
        os.close(lock_fd)


def _fresh(doc, ttl, retry):
    """Whether to use `doc` without fetching: a fetch less than `ttl` ago, or a failed
    attempt less than `retry` ago (a receiver that is down is not asked by every minion)."""
    if not doc:
        return False
    age = time.time() - doc.get("attempted_at", 0)
    return age < (retry if doc.get("error") else ttl)


def _served(doc, server):
    """`doc` as it may be served; the failed attempt behind an error was logged when it was made."""
    if not doc.get("error"):
        return doc
    if doc.get("fetched_at"):
        log.debug("assetkit ext_pillar: serving the inventory fetched %d s ago (last fetch failed)", time.time() - doc["fetched_at"])
        return doc
    log.debug("assetkit ext_pillar: no inventory from %s yet (last fetch failed)", server)
    return None


def _load(path):
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("assetkit ext_pillar: ignoring unreadable cache %s: %s", path, exc)
        return None
    return doc if isinstance(doc, dict) else None


def _store(path, doc):
    """Replaces `path` atomically (temp file of mode 0600, fsync, rename, fsync of the directory)."""
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".pillar-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(doc, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
