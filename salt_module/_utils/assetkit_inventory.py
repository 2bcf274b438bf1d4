"""
The assetkit inventory as a Salt master reads it, for the ``assetkit`` ext_pillar and the
``assetkit`` salt-ssh roster (through ``__utils__``): signed, paged reads of the receiver's asset
list with the standard library alone (the assetkit wheel is not needed on the master), and the
names and addresses both derive from an asset.

Filters go to the receiver; nothing is fetched in full to be filtered here. The secret is read
from a key file that only its owner may read, and never reaches a message or a log line.

Where it goes: ``_utils/`` in the file roots (``salt-run saltutil.sync_utils`` copies it to
the master's ``extension_modules``), or a directory named in the master's ``utils_dirs``.
"""

import hashlib
import hmac
import ipaddress
import itertools
import json
import os
import re
import secrets
import ssl
import stat
import time
import urllib.error
import urllib.parse
import urllib.request

from salt.exceptions import CommandExecutionError

__virtualname__ = "assetkit_inventory"

# A secret is 68 bytes; anything much larger is not a key file (the agent's bound).
MAX_KEY_BYTES = 4096
# A page of 500 assets with their components is a few MiB; this bounds what one answer may cost.
MAX_PAGE_BYTES = 256 * 1024 * 1024
# The receiver refuses pages beyond this.
MAX_PAGE = 1000000
LIST_PATH = "/api/v1/assets"


def __virtual__():
    return __virtualname__


def read_secret(path):
    """
    The secret in ``path``, refused (as the agent and OpenSSH do) when the file is not a
    regular file, is readable by group or others, or belongs to another user.
    """
    try:
        # O_NONBLOCK: a FIFO in place of the key file fails at once instead of hanging the master.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise CommandExecutionError(f"cannot read key file {path}: {exc.strerror}")
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise CommandExecutionError(f"key file {path} is not a regular file")
        mode = stat.S_IMODE(st.st_mode)
        if mode & 0o077:
            raise CommandExecutionError(
                f"key file {path} has mode {mode:04o}; it must be readable by its owner only. Fix: chmod 600 {path}"
            )
        if st.st_uid != os.geteuid():
            me = os.geteuid()
            raise CommandExecutionError(
                f"key file {path} is owned by uid {st.st_uid}, but the master runs as uid {me}. Fix: chown {me} {path}"
            )
        data = os.read(fd, MAX_KEY_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) > MAX_KEY_BYTES:
        raise CommandExecutionError(f"key file {path} is larger than {MAX_KEY_BYTES} bytes; it should hold the secret alone")
    secret = data.decode("utf-8", "replace").strip()
    if not secret:
        raise CommandExecutionError(f"key file {path} is empty; put the secret from `assetkitd keys create` in it")
    return secret


def signature_headers(method, path_and_query, body, key_id, secret):
    """The X-Assetkit-* headers: HMAC-SHA256 over METHOD, PATH_AND_QUERY, TS, NONCE, hex(sha256(body))."""
    ts = str(int(time.time()))
    nonce = secrets.token_hex(16)
    canonical = "\n".join([method, path_and_query, ts, nonce, hashlib.sha256(body).hexdigest()])
    signature = hmac.new(secret.encode(), canonical.encode(), hashlib.sha256).hexdigest()
    return {
        "X-Assetkit-Key": key_id,
        "X-Assetkit-Timestamp": ts,
        "X-Assetkit-Nonce": nonce,
        "X-Assetkit-Signature": signature,
    }


def queries(filters=None, per_page=500, components=False):
    """
    One query string per combination of filter values: ``{"status": ["online"], "idc":
    ["bj-01", "sh-02"]}`` is two queries. A filter may be a string or a list of strings.
    """
    if not isinstance(per_page, int) or not 1 <= per_page <= 500:
        raise CommandExecutionError(f"per_page must be an integer between 1 and 500, not {per_page!r}")
    axes = []
    for name in ("status", "business_unit", "idc", "q"):
        values = (filters or {}).get(name)
        if values in (None, "", []):
            continue
        if isinstance(values, str):
            values = [values]
        axes.append([(name, str(v)) for v in values])
    tail = [("per_page", str(per_page)), ("sort", "id")]
    if components:
        tail.append(("include", "components"))
    return [urllib.parse.urlencode([*combination, *tail]) for combination in itertools.product(*axes)]


def fetch(server, key_id, key_file, filters=None, per_page=500, timeout=30, ca_file=None, validate_certs=True, components=False):
    """
    Every asset the filters match, each once, in id order: pages of ``per_page`` following the
    receiver's id cursor (``next_after_id``) to its end, one query per combination of filter
    values (see ``queries``).

    Raises CommandExecutionError with a message fit for an operator (never the secret).
    """
    for name, value in (("server", server), ("key_id", key_id), ("key_file", key_file)):
        if not value:
            raise CommandExecutionError(f"option {name} is required")
    if urllib.parse.urlsplit(server).scheme not in ("http", "https"):
        raise CommandExecutionError(f"server must be an http:// or https:// URL, not {server!r}")
    secret = read_secret(key_file)
    opener = _opener(ca_file, validate_certs)
    by_id = {}
    for query in queries(filters, per_page, components):
        # Paged by id (after_id): each page costs what the first does, and assets added during
        # the walk neither shift nor repeat the rest.
        after, pages = 0, 0
        while True:
            answer = _get(opener, server, f"{LIST_PATH}?{query}&after_id={after}", key_id, secret, timeout)
            for asset in answer["assets"]:
                by_id[asset["id"]] = asset
            previous, after = after, answer.get("next_after_id")
            if after is not None and (not isinstance(after, int) or isinstance(after, bool) or after <= previous):
                raise CommandExecutionError(f"the receiver's page cursor did not advance ({previous} then {after!r})")
            if after is None:
                break
            pages += 1
            if pages >= MAX_PAGE:
                raise CommandExecutionError(f"more than {MAX_PAGE} pages; narrow the filters or raise per_page")
    return [by_id[k] for k in sorted(by_id)]


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


def ssh_destination(value):
    """
    ``value`` if ssh may be handed it, else None: an IP address or an RFC 1123 host name. What
    hosts report is data; anything else (a leading ``-`` is an ssh option) never leaves here,
    whatever the receiver's database holds (rows written before it checked addresses included).
    """
    return value if is_ip_address(value) or is_hostname(value) else None


def ssh_address(asset):
    """
    The address to connect to, the rule the Ansible inventory plugin uses for ``ansible_host``:
    the first IPv4 address of the first NIC that is up and has one (NICs in the receiver's
    order, which needs the components), else the first of the asset's ``ips``, else None. Only
    IP addresses count: any other value is passed over.
    """
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


def minion_id(asset):
    """
    The name an asset goes by: its hostname, else the hostname it reported, else
    ``asset-<id>``. A stored name that is not an RFC 1123 name is not used.
    """
    for name in (asset.get("hostname"), asset.get("reported_hostname")):
        if is_hostname(name):
            return name
    return f"asset-{asset['id']}"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirected request keeps a signature over the old path, which the receiver refuses:
    # better to say "redirected" than "bad signature".
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def _opener(ca_file, validate_certs):
    context = ssl.create_default_context(cafile=ca_file) if ca_file else ssl.create_default_context()
    if not validate_certs:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    # ProxyHandler (from https_proxy/no_proxy) is in the default chain.
    return urllib.request.build_opener(urllib.request.HTTPSHandler(context=context), _NoRedirect)


def _get(opener, server, path_and_query, key_id, secret, timeout):
    """One signed GET of a list page, its JSON checked for the fields paging relies on."""
    headers = signature_headers("GET", path_and_query, b"", key_id, secret)
    headers["Accept"] = "application/json"
    headers["User-Agent"] = "assetkit-salt"
    request = urllib.request.Request(server.rstrip("/") + path_and_query, headers=headers, method="GET")
    try:
        with opener.open(request, timeout=timeout) as response:
            raw = response.read(MAX_PAGE_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise CommandExecutionError(_refusal(server, key_id, exc))
    except (urllib.error.URLError, OSError) as exc:
        raise CommandExecutionError(f"cannot reach the receiver at {server}: {getattr(exc, 'reason', exc)}")
    if len(raw) > MAX_PAGE_BYTES:
        raise CommandExecutionError(f"a page from {server} is larger than {MAX_PAGE_BYTES} bytes; lower per_page")
    try:
        answer = json.loads(raw)
    except ValueError as exc:
        raise CommandExecutionError(f"{server} answered GET {LIST_PATH} with something that is not JSON ({exc}); is server the receiver's URL?")
    if (
        not isinstance(answer, dict)
        or not isinstance(answer.get("assets"), list)
        or not isinstance(answer.get("per_page"), int)
        or not all(isinstance(a, dict) and isinstance(a.get("id"), int) for a in answer["assets"])
    ):
        raise CommandExecutionError(f"{server} answered GET {LIST_PATH} with JSON that is not an asset list page")
    return answer


def _refusal(server, key_id, exc):
    """The message for an HTTP error answer, naming the key (never the secret)."""
    code = message = ""
    try:
        error = json.loads(exc.read(65536) or b"null")["error"]
        code, message = error.get("code", ""), error.get("message", "")
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        code = ""  # not the receiver's JSON error: the status alone says enough
    detail = f"{code}: {message}" if code else str(exc.reason)
    if exc.code == 401:
        return (
            f"the receiver at {server} refused key {key_id} (401 {detail}). "
            "Check key_id, the key file's secret and this machine's clock (within 300 s)"
        )
    if exc.code == 403:
        return (
            f"key {key_id} may not read the inventory at {server} (403 {detail}). "
            "Use a key of scope read: assetkitd keys create salt-master --scope read"
        )
    if 300 <= exc.code < 400:
        return f"{server} redirected GET {LIST_PATH} ({exc.code}); set server to the receiver's own URL"
    return f"the receiver at {server} answered GET {LIST_PATH} with {exc.code} ({detail})"
