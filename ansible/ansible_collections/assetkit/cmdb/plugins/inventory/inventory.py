# -*- coding: utf-8 -*-
# Copyright: assetkit maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: inventory
short_description: Hosts, groups and hardware facts from the assetkit receiver
version_added: "0.1.0"
description:
  - Reads the asset list of an C(assetkitd) receiver (C(GET /api/v1/assets), signed with an API
    key) and makes each asset a host, grouped by status, business unit, IDC, rack, manufacturer,
    model and virtual/physical.
  - Filters (O(status), O(business_units), O(idc), O(q)) are applied by the receiver. A filter
    with several values is one query per value (per combination, when several filters have
    several values); hosts are the union, each once.
  - Pages of O(per_page) assets are read until a page comes back short.
  - The inventory source is a YAML file whose name ends in C(assetkit.yml) or C(assetkit.yaml).
  - "Groups: C(status_<status>), C(bu_<business unit>), C(idc_<idc>), C(rack_<idc>_<rack>)
    (C(rack_<rack>) without an IDC: rack names repeat across IDCs), C(manufacturer_<manufacturer>),
    C(model_<model>), C(virtual) or C(physical), C(tag_<tag>) for each tag, C(cloud_<provider>)
    for a cloud instance, and C(hypervisor_<name>) for the guests of a hypervisor in the same
    inventory (C(hypervisor_asset_<id>) when it is not). Names are lower-cased and every run of
    characters that is not a letter, digit or underscore becomes one underscore
    (C(Dell Inc.) gives C(manufacturer_dell_inc), C(bj-01) gives C(idc_bj_01))."
  - "Host variables: every field of the asset with the prefix C(assetkit_) (C(assetkit_id),
    C(assetkit_status), C(assetkit_serial_number), C(assetkit_business_unit), C(assetkit_idc),
    C(assetkit_rack), C(assetkit_position), C(assetkit_manufacturer), C(assetkit_model),
    C(assetkit_virtual), C(assetkit_ips), C(assetkit_macs), C(assetkit_last_seen), ...), and
    with O(facts) the last reported components as C(assetkit_facts) (C(cpu), C(memory),
    C(memory_module), C(disk), C(nic), ... each a list)."
  - "C(ansible_host): the first IPv4 address (C(family: inet)) of the first NIC, in the order the
    receiver lists them, that is up and has one; else the first address of C(assetkit_ips); else
    it is not set and Ansible connects to the inventory hostname. O(compose) is applied after it,
    so C(compose: {ansible_host: ...}) overrides the rule."
  - The inventory hostname is the first of O(hostname_from) the asset has, else C(asset-<id>).
    An asset whose name another asset of this inventory already took is added as C(asset-<id>),
    with a warning.
  - O(keyed_groups), O(groups) and O(compose) see the host variables above.
  - With O(cache), the asset list (not the secret) is kept by the cache plugin and reused until
    O(cache_timeout); C(ansible-inventory --flush-cache) fetches it again. A cached list taken
    with other filters is not reused.
extends_documentation_fragment:
  - constructed
  - inventory_cache
options:
  plugin:
    description: The name of this plugin; it must be C(assetkit.cmdb.inventory).
    required: true
    type: str
    choices: [assetkit.cmdb.inventory]
  server:
    description:
      - The receiver's URL, as in the agent's C(agent.toml), for example C(https://cmdb.example.com:8600).
    type: str
    env:
      - name: ASSETKIT_SERVER
  key_id:
    description:
      - The API key id (C(ak_...)). A key of scope C(read) is enough and is the one to use
        (C(assetkitd keys create ansible --scope read)); C(admin) works too, C(agent) is refused.
    type: str
    env:
      - name: ASSETKIT_KEY_ID
  key_file:
    description:
      - The file holding the key's secret, alone, readable by its owner only (mode 0600) and owned
        by the user running Ansible. A file that group or others may read, or that another user
        owns, is refused with an error, as OpenSSH refuses such a private key.
      - The secret is never read from the inventory file.
    type: path
    env:
      - name: ASSETKIT_KEY_FILE
  status:
    description:
      - Only assets in these statuses.
    type: list
    elements: str
    choices: [discovered, online, offline, in_stock, retired]
  business_units:
    description:
      - Only assets of these business units.
    type: list
    elements: str
    aliases: [business_unit]
  idc:
    description:
      - Only assets in these IDCs.
    type: list
    elements: str
    aliases: [idcs]
  q:
    description:
      - Free-text search on the receiver, over hostname, serial number, IP and MAC addresses.
    type: str
  filters:
    description:
      - Any other filter of the receiver's asset list, as NAME and VALUE, sent with every query
        (the receiver refuses a name it does not know, with the list of those it does).
      - For example C(tag), C(owner), C(manufacturer), C(model), C(os), C(virtual) (C(true) or
        C(false)), C(memory_min_gib), C(memory_below_gib), C(cores_min), C(cores_max),
        C(not_seen_days), C(hypervisor_id), C(cloud), C(warranty_within_days), and C(cf_NAME)
        for a custom field's value.
    type: dict
    default: {}
  facts:
    description:
      - Fetch each asset's components (C(include=components)) into C(assetkit_facts), and use
        its NICs for C(ansible_host).
      - Without them the list is smaller and C(ansible_host) is the first of C(assetkit_ips).
    type: bool
    default: true
  per_page:
    description:
      - Assets per request, 1 to 500.
    type: int
    default: 500
  timeout:
    description:
      - Seconds to wait for each answer.
    type: int
    default: 30
  validate_certs:
    description:
      - Check the receiver's TLS certificate. Turn off only for a test receiver.
    type: bool
    default: true
  ca_file:
    description:
      - A CA bundle (PEM) to check the receiver's certificate with, like the agent's C(ca_file).
    type: path
  hostname_from:
    description:
      - Asset fields to take the inventory hostname from, the first one set wins; C(asset-<id>) when none is.
    type: list
    elements: str
    choices: [hostname, reported_hostname, serial_number, uuid]
    default: [hostname, reported_hostname]
notes:
  - The receiver is read with C(ansible.module_utils.urls), so the usual C(https_proxy) and C(no_proxy)
    environment variables apply. Redirects are not followed (the signature covers the path).
  - Every request is signed (HMAC-SHA256 over method, path and query, time, nonce and body hash)
    with the Python standard library; the assetkit wheel is not needed on the controller.
author:
  - assetkit maintainers (@assetkit)
"""

EXAMPLES = r"""
# inventory/prod.assetkit.yml -- ansible-inventory -i inventory/prod.assetkit.yml --graph
plugin: assetkit.cmdb.inventory
server: https://cmdb.example.com:8600
key_id: ak_0123456789abcdef
key_file: ~/.config/assetkit/read.key     # chmod 600

# Only online hosts of two business units in one IDC (filtered by the receiver):
# plugin: assetkit.cmdb.inventory
# server: https://cmdb.example.com:8600
# key_id: ak_0123456789abcdef
# key_file: ~/.config/assetkit/read.key
# status: [online]
# business_units: [payments, search]
# idc: [bj-01]

# Connect by name instead of the NIC rule, and group by OS with a keyed group:
# compose:
#   ansible_host: assetkit_hostname ~ '.mgmt.example.com'
# keyed_groups:
#   - key: assetkit_os
#     prefix: os
# groups:
#   big_memory: assetkit_memory_bytes is not none and assetkit_memory_bytes > 256 * 1024**3

# Keep the list for an hour between runs:
# cache: true
# cache_plugin: ansible.builtin.jsonfile
# cache_connection: ~/.cache/ansible/assetkit
# cache_timeout: 3600
"""

import hashlib
import hmac
import ipaddress
import itertools
import json
import os
import re
import secrets
import stat
import time
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode, urlsplit

from ansible.errors import AnsibleParserError
from ansible.module_utils.common.text.converters import to_native
from ansible.module_utils.urls import ConnectionError as UrlsConnectionError
from ansible.module_utils.urls import open_url
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.utils.unsafe_proxy import wrap_var

# A secret is 68 bytes; anything much larger is not a key file (the agent's bound).
MAX_KEY_BYTES = 4096
# A page of 500 assets with their components is a few MiB; this bounds what one answer may cost.
MAX_PAGE_BYTES = 256 * 1024 * 1024
# The receiver refuses pages beyond this.
MAX_PAGE = 1000000
LIST_PATH = "/api/v1/assets"


def read_secret(path):
    """The secret in `path`, checked as the agent checks its key file (ssh-style)."""
    try:
        # O_NONBLOCK: a FIFO in place of the key file fails at once instead of hanging the run.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise AnsibleParserError(f"assetkit: cannot read key file {path}: {exc.strerror}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise AnsibleParserError(f"assetkit: key file {path} is not a regular file")
        mode = stat.S_IMODE(st.st_mode)
        if mode & 0o077:
            raise AnsibleParserError(f"assetkit: key file {path} has mode {mode:04o}; it must be readable by its owner only. Fix: chmod 600 {path}")
        me = os.geteuid()
        if st.st_uid != me:
            raise AnsibleParserError(f"assetkit: key file {path} is owned by uid {st.st_uid}, but Ansible runs as uid {me}. Fix: chown {me} {path}")
        data = os.read(fd, MAX_KEY_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) > MAX_KEY_BYTES:
        raise AnsibleParserError(f"assetkit: key file {path} is larger than {MAX_KEY_BYTES} bytes; it should hold the secret alone")
    secret = data.decode("utf-8", "replace").strip()
    if not secret:
        raise AnsibleParserError(f"assetkit: key file {path} is empty; put the secret from `assetkitd keys create` in it")
    return secret


def signature_headers(method, path_and_query, body, key_id, secret):
    """The X-Assetkit-* headers: HMAC-SHA256 over METHOD, PATH_AND_QUERY, TS, NONCE, hex(sha256(body))."""
    ts = str(int(time.time()))
    nonce = secrets.token_hex(16)
    canonical = "\n".join([method, path_and_query, ts, nonce, hashlib.sha256(body).hexdigest()])
    signature = hmac.new(secret.encode("utf-8"), canonical.encode("utf-8"), hashlib.sha256).hexdigest()
    return {
        "X-Assetkit-Key": key_id,
        "X-Assetkit-Timestamp": ts,
        "X-Assetkit-Nonce": nonce,
        "X-Assetkit-Signature": signature,
    }


# An RFC 1123 host name, as the receiver's report schema spells it.
HOSTNAME = re.compile(r"(?=.{1,253}\Z)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\Z")


def is_ip_address(value):
    """True for an IPv4 or IPv6 address (a scope id allowed) and nothing else."""
    if not isinstance(value, str):
        return False
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def is_hostname(value):
    """True for an RFC 1123 host name."""
    return isinstance(value, str) and HOSTNAME.match(value) is not None


def ssh_address(asset):
    """The address to connect to: the first IPv4 address of the first NIC that is up and has
    one (NICs in the receiver's order), else the first of the asset's ips, else None. Only IP
    addresses count: what hosts report is data, and anything else (a leading "-" is an ssh
    option) never becomes ansible_host, whatever the receiver's database holds."""
    components = asset.get("components")
    nics = components.get("nic") if isinstance(components, dict) else None
    for nic in nics or []:
        if not isinstance(nic, dict) or nic.get("up") is not True:
            continue
        for address in nic.get("addresses") or []:
            if isinstance(address, dict) and address.get("family") == "inet" and is_ip_address(address.get("address")):
                return address["address"]
    ips = asset.get("ips") or []
    return next((ip for ip in ips if is_ip_address(ip)), None)


def group_name(prefix, *values):
    """`prefix_value[_value]` lower-cased, each run of non-word characters one underscore;
    None when a value is empty."""
    parts = []
    for value in values:
        slug = re.sub(r"\W+", "_", str(value or "").lower()).strip("_")
        if not slug:
            return None
        parts.append(slug)
    return "_".join([prefix] + parts)


def asset_groups(asset, names=None):
    """The groups an asset belongs to, from its own fields; `names` maps asset ids to inventory
    hostnames (for a guest's hypervisor group)."""
    groups = [
        group_name("status", asset.get("status")),
        group_name("bu", asset.get("business_unit")),
        group_name("idc", asset.get("idc")),
        group_name("manufacturer", asset.get("manufacturer")),
        group_name("model", asset.get("model")),
    ]
    if asset.get("rack"):
        # Rack names repeat across IDCs: R07 in bj-01 is not R07 in sh-02.
        groups.append(group_name("rack", asset["idc"], asset["rack"]) if asset.get("idc") else group_name("rack", asset["rack"]))
    if asset.get("virtual") is True:
        groups.append("virtual")
    elif asset.get("virtual") is False:
        groups.append("physical")
    groups += [group_name("tag", t) for t in asset.get("tags") or [] if isinstance(t, str)]
    cloud = asset.get("cloud")
    if isinstance(cloud, dict) and cloud.get("provider"):
        groups.append(group_name("cloud", cloud["provider"]))
    hypervisor = asset.get("hypervisor_id")
    if isinstance(hypervisor, int) and not isinstance(hypervisor, bool):
        name = (names or {}).get(hypervisor)
        groups.append(group_name("hypervisor", name) if name else f"hypervisor_asset_{hypervisor}")
    return [g for g in groups if g]


def refusal(server, key_id, exc):
    """The message for an HTTP error answer, naming the key (never the secret)."""
    code, message = "", ""
    try:
        error = json.loads(exc.read(65536) or b"null")["error"]
        code, message = error.get("code", ""), error.get("message", "")
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        code = ""  # not the receiver's JSON error: the status alone says enough
    detail = f"{code}: {message}" if code else to_native(exc.reason)
    if exc.code == 401:
        return (
            f"assetkit: the receiver at {server} refused key {key_id} (401 {detail}). "
            "Check key_id, the key file's secret and this machine's clock (within 300 s)"
        )
    if exc.code == 403:
        return (
            f"assetkit: key {key_id} may not read the inventory at {server} (403 {detail}). "
            "Use a key of scope read: assetkitd keys create ansible --scope read"
        )
    if 300 <= exc.code < 400:
        return (
            f"assetkit: {server} redirected GET {LIST_PATH} ({exc.code}); set server to the receiver's own URL "
            "(a redirected request's signature does not match)"
        )
    return f"assetkit: the receiver at {server} answered GET {LIST_PATH} with {exc.code} ({detail})"


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = "assetkit.cmdb.inventory"

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith(("assetkit.yml", "assetkit.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path)
        config = self._read_config_data(path)
        for forbidden in ("secret", "key"):
            if forbidden in (config or {}):
                raise AnsibleParserError(f"assetkit: {path}: the secret is read from key_file only, never from the inventory file; remove '{forbidden}'")
        queries = self._queries()
        cache_key = self.get_cache_key(path)
        use_cache = self.get_option("cache") and cache
        update_cache = self.get_option("cache") and not cache
        assets = None
        if use_cache:
            try:
                cached = self._cache[cache_key]
            except KeyError:
                update_cache = True
            else:
                # A list taken with other filters is not this inventory.
                if isinstance(cached, dict) and cached.get("queries") == queries and isinstance(cached.get("assets"), list):
                    assets = cached["assets"]
                else:
                    update_cache = True
        if assets is None:
            assets = self._fetch(queries)
        if update_cache:
            self._cache[cache_key] = {"queries": queries, "assets": assets}
        self._populate(assets)

    def _queries(self):
        """One query string per combination of filter values, in a stable order."""
        per_page = self.get_option("per_page")
        if not 1 <= per_page <= 500:
            raise AnsibleParserError(f"assetkit: per_page must be between 1 and 500, not {per_page}")
        axes = [
            [("status", v) for v in self.get_option("status") or []] or [None],
            [("business_unit", v) for v in self.get_option("business_units") or []] or [None],
            [("idc", v) for v in self.get_option("idc") or []] or [None],
        ]
        if self.get_option("q"):
            axes.append([("q", self.get_option("q"))])
        extra = sorted((str(k), str(v).lower() if isinstance(v, bool) else str(v)) for k, v in (self.get_option("filters") or {}).items())
        queries = []
        for combination in itertools.product(*axes):
            params = [pair for pair in combination if pair] + extra
            params += [("per_page", str(per_page)), ("sort", "id")]
            if self.get_option("facts"):
                params.append(("include", "components"))
            queries.append(urlencode(params))
        return queries

    def _fetch(self, queries):
        """Every asset the queries match, each once, in id order."""
        server = self.get_option("server")
        key_id = self.get_option("key_id")
        key_file = self.get_option("key_file")
        for name, value in (("server", server), ("key_id", key_id), ("key_file", key_file)):
            if not value:
                raise AnsibleParserError(f"assetkit: option {name} is required (or ASSETKIT_{name.upper()} in the environment)")
        if urlsplit(server).scheme not in ("http", "https"):
            raise AnsibleParserError(f"assetkit: server must be an http:// or https:// URL, not {server!r}")
        secret = read_secret(key_file)
        by_id = {}
        for query in queries:
            # Paged by id (after_id): each page costs what the first does, and assets added
            # during the walk neither shift nor repeat the rest.
            after, pages = 0, 0
            while True:
                answer = self._get(server, f"{LIST_PATH}?{query}&after_id={after}", key_id, secret)
                for asset in answer["assets"]:
                    by_id[asset["id"]] = asset
                previous, after = after, answer.get("next_after_id")
                if after is not None and (not isinstance(after, int) or isinstance(after, bool) or after <= previous):
                    raise AnsibleParserError(f"assetkit: the receiver's page cursor did not advance ({previous} then {after!r})")
                if after is None:
                    break
                pages += 1
                if pages >= MAX_PAGE:
                    raise AnsibleParserError(f"assetkit: more than {MAX_PAGE} pages; narrow the filters or raise per_page")
        return [by_id[k] for k in sorted(by_id)]

    def _get(self, server, path_and_query, key_id, secret):
        """One signed GET of a list page, its JSON checked for the fields paging relies on."""
        url = server.rstrip("/") + path_and_query
        headers = signature_headers("GET", path_and_query, b"", key_id, secret)
        headers["Accept"] = "application/json"
        try:
            response = open_url(
                url,
                method="GET",
                headers=headers,
                timeout=self.get_option("timeout"),
                validate_certs=self.get_option("validate_certs"),
                ca_path=self.get_option("ca_file"),
                follow_redirects="none",
                use_netrc=False,
                http_agent="assetkit.cmdb.inventory",
            )
            raw = response.read(MAX_PAGE_BYTES + 1)
        except HTTPError as exc:
            raise AnsibleParserError(refusal(server, key_id, exc)) from None
        except (URLError, UrlsConnectionError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise AnsibleParserError(f"assetkit: cannot reach the receiver at {server}: {to_native(reason)}") from None
        if len(raw) > MAX_PAGE_BYTES:
            raise AnsibleParserError(f"assetkit: a page from {server} is larger than {MAX_PAGE_BYTES} bytes; lower per_page")
        try:
            answer = json.loads(raw)
        except ValueError as exc:
            raise AnsibleParserError(
                f"assetkit: {server} answered GET {LIST_PATH} with something that is not JSON ({exc}); is server the receiver's URL?"
            ) from None
        if (
            not isinstance(answer, dict)
            or not isinstance(answer.get("assets"), list)
            or not isinstance(answer.get("per_page"), int)
            or not all(isinstance(a, dict) and isinstance(a.get("id"), int) for a in answer["assets"])
        ):
            raise AnsibleParserError(f"assetkit: {server} answered GET {LIST_PATH} with JSON that is not an asset list page")
        return answer

    def _populate(self, assets):
        strict = self.get_option("strict")
        fields = self.get_option("hostname_from")
        taken = set()
        names = {}
        for asset in assets:
            name = next((str(asset[f]) for f in fields if asset.get(f)), None)
            if name is not None and not is_hostname(name):
                # Without ansible_host, Ansible hands the inventory name to ssh.
                self.display.warning(f"assetkit: asset {asset['id']} has a name that is not an RFC 1123 host name; added as asset-{asset['id']}")
                name = None
            elif name is not None and name in taken:
                self.display.warning(f"assetkit: asset {asset['id']} is named {name} like another asset; added as asset-{asset['id']}")
                name = None
            if name is None:
                name = f"asset-{asset['id']}"
            taken.add(name)
            names[asset["id"]] = name
        for asset in assets:
            name = names[asset["id"]]
            host = self.inventory.add_host(name)
            # What hosts reported is data, never a template: marked unsafe (ansible-core 2.19
            # treats strings from a plugin as untrusted anyway; older versions need the mark).
            for key, value in asset.items():
                if key != "components":
                    self.inventory.set_variable(host, "assetkit_" + key, wrap_var(value))
            if "components" in asset:
                self.inventory.set_variable(host, "assetkit_facts", wrap_var(asset["components"]))
            address = ssh_address(asset)
            if address:
                self.inventory.set_variable(host, "ansible_host", wrap_var(address))
            for group in asset_groups(asset, names):
                self.inventory.add_group(group)
                self.inventory.add_child(group, host)
            # After the variables above, so compose (ansible_host included) overrides them.
            hostvars = self.inventory.get_host(host).get_vars()
            self._set_composite_vars(self.get_option("compose"), hostvars, host, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), hostvars, host, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), hostvars, host, strict=strict)
