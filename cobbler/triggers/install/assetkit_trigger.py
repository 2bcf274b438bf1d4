"""What the assetkit install triggers share: their settings file, the system as Cobbler describes
it, a signed request to the receiver, and where a pre-enrolled system's credential is published.

Standard library only: nothing to install on the Cobbler server. This file sits in
/var/lib/cobbler/triggers/install/, beside the pre/ and post/ directories and not inside them,
because Cobbler runs every file of a trigger directory as a trigger; the triggers import it from
their parent directory.

Settings: /etc/assetkit/cobbler-trigger.toml (or ASSETKIT_TRIGGER_CONFIG):
    server = "https://cmdb.example.com:8600"
    key_id = "ak_..."                       # an admin-scope key
    key_file = "/etc/assetkit/admin.key"    # mode 0600
    publish_dir = "/var/www/cobbler/pub/assetkit/hosts"   # the default; see assetkit_preenrol
"""

import hashlib
import hmac
import json
import os
import secrets
import stat
import subprocess
import time
import urllib.error
import urllib.request

try:
    import tomllib
except ImportError:  # Python < 3.11
    tomllib = None

CONFIG = os.environ.get("ASSETKIT_TRIGGER_CONFIG", "/etc/assetkit/cobbler-trigger.toml")
# Served by Cobbler's Apache as http://<server>/cblr/pub/assetkit/hosts/.
PUBLISH_DIR = "/var/www/cobbler/pub/assetkit/hosts"
# autoinstall_meta that places a new asset: (meta variable, asset field).
ASSET_FIELDS = (
    ("assetkit_business_unit", "business_unit"),
    ("assetkit_idc", "idc"),
    ("assetkit_rack", "rack"),
    ("assetkit_position", "position"),
)


def load_settings(path=CONFIG):
    with open(path, "rb") as fh:
        data = fh.read().decode()
    if tomllib is not None:
        return tomllib.loads(data)
    out = {}
    for line in data.splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, value = line.split("=", 1)
            out[key.strip()] = value.split("#")[0].strip().strip('"')
    return out


def read_secret(path):
    mode = stat.S_IMODE(os.stat(path).st_mode)
    if mode & 0o077:
        raise ValueError("key file %s has mode %04o; it must be 0600 (chmod 600 %s)" % (path, mode, path))
    with open(path) as fh:
        return fh.read().strip()


def system_vars(name):
    """What Cobbler knows of the system: `cobbler system dumpvars` prints `key : value` lines."""
    out = subprocess.run(["cobbler", "system", "dumpvars", "--name=" + name], capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise RuntimeError("cobbler system dumpvars failed: " + out.stderr.strip())
    variables = {}
    for line in out.stdout.splitlines():
        if " : " in line:
            key, value = line.split(" : ", 1)
            variables[key.strip()] = value.strip()
    return variables


def new_asset(name, variables):
    """The asset a system becomes: its intended hostname (else its Cobbler name), and where it
    stands from autoinstall_meta."""
    body = {"hostname": variables.get("hostname") or name}
    for meta, field in ASSET_FIELDS:
        if variables.get(meta):
            body[field] = variables[meta]
    return body


def post(settings, secret, path, body):
    """POSTs `body` to the receiver, signed with the admin key; (status, answer)."""
    data = json.dumps(body).encode()
    ts = str(int(time.time()))
    nonce = secrets.token_hex(16)
    canonical = "\n".join(["POST", path, ts, nonce, hashlib.sha256(data).hexdigest()])
    headers = {
        "Content-Type": "application/json",
        "X-Assetkit-Key": settings["key_id"],
        "X-Assetkit-Timestamp": ts,
        "X-Assetkit-Nonce": nonce,
        "X-Assetkit-Signature": hmac.new(secret.encode(), canonical.encode(), hashlib.sha256).hexdigest(),
    }
    request = urllib.request.Request(settings["server"].rstrip("/") + path, data=data, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


def published_credential(settings, name):
    """Where the credential of system `name` is published during its install."""
    if not name or name.startswith(".") or "/" in name or "\0" in name:
        raise ValueError("system name %r cannot name a file" % name)
    return os.path.join(settings.get("publish_dir") or PUBLISH_DIR, name + ".json")
