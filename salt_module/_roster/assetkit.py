"""
salt-ssh targets from the assetkit inventory: ``salt-ssh --roster assetkit 'web*' test.ping``.

.. code-block:: yaml

    # /etc/salt/master (salt-ssh reads the master config)
    roster: assetkit                     # or --roster assetkit on the command line
    assetkit_roster:
      server: https://cmdb.example.com:8600
      key_id: ak_0123456789abcdef
      key_file: /etc/salt/assetkit.key   # scope read; mode 0600, owned by the user salt-ssh runs as
      status: online                     # filters, applied by the receiver; a string or a list
      business_unit: [payments, search]
      idc: bj-01
      # q: r640                          # free text over hostname, serial, IPs and MACs
      user: deploy                       # defaults for every target (over roster_defaults)
      port: 22
      priv: /etc/salt/pki/master/ssh/salt-ssh.rsa
      sudo: true
      host_from: address                 # or hostname

Optional: ``per_page`` (default 500), ``timeout`` (seconds per request to the receiver,
default 30), ``ca_file``, ``validate_certs`` (default true). Any of the roster keys ``user``,
``port``, ``priv``, ``priv_passwd``, ``passwd``, ``sudo``, ``sudo_user``, ``tty`` is a default for
every target; ``roster_defaults`` applies under them (and sets anything else, such as the SSH
``timeout`` or ``set_path``).

Where the module goes: copy ``_roster/`` and ``_utils/`` into the file roots and run
``salt-run saltutil.sync_roster`` and ``salt-run saltutil.sync_utils``, or point the master
config at the checkout with ``roster_dirs: [.../_roster]`` and ``utils_dirs: [.../_utils]``.

Each asset the filters match is a target named by its hostname (else the hostname it reported,
else ``asset-<id>``). Its ``host`` is, with ``host_from: address`` (the default), the address the
Ansible inventory plugin gives ``ansible_host``: the first IPv4 address of the first NIC that is
up and has one (in the receiver's order), else the first of the asset's IPs, else the target's
name; with ``host_from: hostname``, the target's name (for DNS or ``~/.ssh/config``). The target
expression is matched against the names with Salt's roster matcher: glob (the default), ``-L``
list, ``-E`` pcre, ``-N`` nodegroup (``ssh_list_nodegroups``).

If the receiver cannot be read the roster is empty and the reason is logged as an error.
"""

import logging

from salt.exceptions import CommandExecutionError

log = logging.getLogger(__name__)

__virtualname__ = "assetkit"

# Roster keys an ``assetkit_roster`` entry may set for every target.
TARGET_DEFAULTS = ("user", "port", "priv", "priv_passwd", "passwd", "sudo", "sudo_user", "tty")
HOST_FROM = ("address", "hostname")


def __virtual__():
    if "assetkit_inventory.fetch" not in __utils__:
        return (False, "assetkit roster: the assetkit_inventory util is not loaded: sync _utils (salt-run saltutil.sync_utils) or add it to utils_dirs")
    return __virtualname__


def targets(tgt, tgt_type="glob", **kwargs):  # pylint: disable=unused-argument
    """The assets the configured filters select that ``tgt`` matches, as salt-ssh targets."""
    conf = __opts__.get("assetkit_roster") or {}
    host_from = conf.get("host_from", "address")
    if host_from not in HOST_FROM:
        log.error("assetkit roster: host_from must be one of %s, not %r", ", ".join(HOST_FROM), host_from)
        return {}
    filters = {
        "status": conf.get("status"),
        "business_unit": conf.get("business_unit", conf.get("business_units")),
        "idc": conf.get("idc"),
        "q": conf.get("q"),
    }
    try:
        assets = __utils__["assetkit_inventory.fetch"](
            conf.get("server"),
            conf.get("key_id"),
            conf.get("key_file"),
            filters=filters,
            per_page=int(conf.get("per_page", 500)),
            timeout=float(conf.get("timeout", 30)),
            ca_file=conf.get("ca_file"),
            validate_certs=bool(conf.get("validate_certs", True)),
            # The NICs are what the address rule reads.
            components=host_from == "address",
        )
    except CommandExecutionError as exc:
        log.error("assetkit roster: %s", exc)
        return {}
    defaults = {key: conf[key] for key in TARGET_DEFAULTS if key in conf}
    raw = {}
    for asset in assets:
        name = __utils__["assetkit_inventory.minion_id"](asset)
        if name in raw:
            log.warning("assetkit roster: asset %s is named %s like another asset; skipped", asset["id"], name)
            continue
        host = __utils__["assetkit_inventory.ssh_address"](asset) if host_from == "address" else None
        # Checked again where the value leaves for ssh: an IP address or an RFC 1123 name only.
        host = __utils__["assetkit_inventory.ssh_destination"](host or name)
        if host is None:
            log.warning("assetkit roster: asset %s has no address or name ssh may be given; skipped", asset["id"])
            continue
        raw[name] = dict(defaults, host=host)
    # roster_defaults, then the entry above, as the flat roster does.
    return __utils__["roster_matcher.targets"](raw, tgt, tgt_type, "ipv4")
