"""Schemathesis hooks for `tests/test_contract.py`: every request is signed the way
`openapi.yaml` describes, from scratch (HMAC-SHA256 over method, path and query as sent,
timestamp, nonce and the body's SHA-256), with the key named by ASSETKIT_CONTRACT_KEY_ID and
ASSETKIT_CONTRACT_SECRET. Signing happens on the prepared request, so it covers the exact bytes
schemathesis sends."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
import uuid

import requests
import schemathesis


# What `test_contract.py` passes as the X-Assetkit-Signature header (`-H`), making the auth
# explicit to schemathesis; it is replaced by the real signature here.
PLACEHOLDER = "signed-by-hooks"


class Signature(requests.auth.AuthBase):
    def __init__(self, key_id: str, secret: str):
        self.key_id = key_id
        self.secret = secret.encode()

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        # Only a request carrying the run's placeholder is signed: the probes schemathesis sends
        # to check that auth is enforced (header removed, or set to a value of its own) go out
        # as they are and must be refused.
        if request.headers.get("X-Assetkit-Signature") != PLACEHOLDER:
            return request
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        ts = str(int(time.time()))
        nonce = secrets.token_hex(16)
        canonical = "\n".join([request.method, request.path_url, ts, nonce, hashlib.sha256(body).hexdigest()])
        request.headers["X-Assetkit-Key"] = self.key_id
        request.headers["X-Assetkit-Timestamp"] = ts
        request.headers["X-Assetkit-Nonce"] = nonce
        request.headers["X-Assetkit-Signature"] = hmac.new(self.secret, canonical.encode(), hashlib.sha256).hexdigest()
        return request


SIGNATURE = Signature(os.environ["ASSETKIT_CONTRACT_KEY_ID"], os.environ["ASSETKIT_CONTRACT_SECRET"])


# assetkit_core::names::PLACEHOLDER_HOSTNAMES, lower case.
NO_NAMES = ("localhost", "localhost.localdomain", "localhost6", "localhost6.localdomain6", "(none)")


@schemathesis.hook
def before_call(context, case, kwargs):
    kwargs["auth"] = SIGNATURE
    # Generated valid reports test what the receiver does with a report's facts, not its
    # key checks: each gets a fresh report_id (the idempotency key: one reused for another body
    # is 409 report_id_conflict, as documented) and, when it is named, a fresh host name (the
    # few names hypothesis favours, "0", "A", would otherwise soon belong to an enrolled asset,
    # which the fleet key may not write: 403 host_enrolled, as documented). Unnamed reports keep
    # what they have, so identity by serial is exercised too.
    if (
        case.operation.label == "POST /api/v1/reports"
        and case.meta is not None
        and case.meta.generation.mode.is_positive
        and isinstance(case.body, dict)
    ):
        if isinstance(case.body.get("report_id"), str):
            case.body["report_id"] = str(uuid.uuid4())
        host = case.body.get("host")
        # A placeholder name (localhost and kin, "(none)") stays: such a report is known by its
        # serial, and the schema's rule for that is what the run must exercise.
        if isinstance(host, dict) and isinstance(host.get("hostname"), str) and host["hostname"].lower() not in NO_NAMES:
            host["hostname"] = f"st-{uuid.uuid4().hex[:12]}"
            if isinstance(host.get("cert_hostname"), str):
                host["cert_hostname"] = host["hostname"]


@schemathesis.check
def report_refusals_are_documented(ctx, response, case):
    """Stands in for `positive_data_acceptance` on POST /api/v1/reports (switched off there in
    schemathesis.toml): a report the schema allows is taken (2xx), or answered for who sent it
    rather than what it says (401, 403 host_enrolled, 409, 429). A 422 of any kind, including
    `unidentifiable`, fails the run: the schema spells out the placeholder names and serials
    that identify nothing, so a report it allows always names its host."""
    if case.operation.label != "POST /api/v1/reports" or case.meta is None:
        return None
    if not case.meta.generation.mode.is_positive:
        return None
    if not all(info.mode.is_positive for info in case.meta.components.values()):
        return None
    status = response.status_code
    if 200 <= status < 300 or status in (401, 403, 409, 429) or status >= 500:
        return None
    raise AssertionError(f"a schema-valid report was refused: {status} {response.text[:300]}")


PACKAGE_QUALIFIERS = ("manager", "arch", "version_lt", "version_le", "version_gt", "version_ge", "version_eq")
LISTS = ("GET /api/v1/assets", "GET /api/v1/assets.csv", "GET /api/v1/assets.xlsx")


@schemathesis.check
def list_refusals_are_documented(ctx, response, case):
    """Stands in for `positive_data_acceptance` on the asset list and its exports (switched off
    there in schemathesis.toml): schema-valid parameters are taken (2xx), except the one refusal
    the schema cannot say and the parameters' descriptions do: a package's manager, arch or
    version bound without `package` is 400 `bad_query` on field `package`."""
    if case.operation.label not in LISTS or case.meta is None or not case.meta.generation.mode.is_positive:
        return None
    if not all(info.mode.is_positive for info in case.meta.components.values()):
        return None
    status = response.status_code
    if 200 <= status < 300 or status in (401, 403, 404, 409, 422, 429) or status >= 500:
        return None
    query = case.query or {}
    error = (response.json() or {}).get("error", {}) if status == 400 else {}
    qualified = any(query.get(k) not in (None, "") for k in PACKAGE_QUALIFIERS)
    if error.get("field") == "package" and qualified and not query.get("package"):
        return None
    raise AssertionError(f"a schema-valid list request was refused: {status} {response.text[:300]}")


@schemathesis.check
def field_refusals_are_documented(ctx, response, case):
    """Stands in for `positive_data_acceptance` on PATCH /api/v1/assets/{id} and POST
    /api/v1/fields (switched off there in schemathesis.toml): custom fields are defined at run
    time, so the document cannot say which exist or what each takes. The refusals it documents
    instead: 422 `invalid` naming `fields.<name>` (no such field, or a value not of its type),
    and for a new field, 422 on `name` (taken) or `choices` (a choice field with none, another
    type with some). Any other refusal of schema-valid data fails the run."""
    if case.operation.label not in ("PATCH /api/v1/assets/{id}", "POST /api/v1/fields") or case.meta is None:
        return None
    if not case.meta.generation.mode.is_positive or not all(i.mode.is_positive for i in case.meta.components.values()):
        return None
    status = response.status_code
    if status != 422:
        return None
    error = (response.json() or {}).get("error", {})
    field = error.get("field") or ""
    if error.get("code") == "invalid" and (field.startswith("fields.") or field in ("name", "choices")):
        return None
    if case.operation.label.startswith("PATCH") and error.get("code") == "invalid":
        # The other checks the document states in words: tags, e-mail, dates.
        if field in ("tags", "owner_email", "owner_name", "purchase_date", "warranty_end"):
            return None
    raise AssertionError(f"a schema-valid request was refused: {status} {response.text[:300]}")
