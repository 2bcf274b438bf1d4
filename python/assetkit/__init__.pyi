"""Type stubs for assetkit (the functions live in assetkit._native)."""

from os import PathLike
from typing import Any, Literal, Mapping, Sequence, Union

_Path = Union[str, PathLike[str]]
_Mode = Literal["agent", "ssh", "salt", "ansible", "cli"]

__version__: str

class AssetkitError(Exception): ...
class ConfigError(AssetkitError): ...
class CollectError(AssetkitError): ...
class ReportError(AssetkitError): ...

def collect(
    only: Sequence[str] | None = None,
    snapshot: _Path | None = None,
    config: _Path | None = None,
    mode: _Mode = "cli",
) -> dict[str, Any]:
    """This host's report (or a snapshot's), exactly as `assetkit collect` prints it."""

def parse_snapshot(path: _Path, only: Sequence[str] | None = None) -> dict[str, Any]:
    """The report of a snapshot directory."""

def snapshot_script() -> str:
    """The POSIX sh script that prints a snapshot stream."""

def report(
    config: _Path | None = None,
    mode: _Mode = "agent",
    server: str | None = None,
    key_id: str | None = None,
    key_file: _Path | None = None,
    cert_file: _Path | None = None,
    spool_dir: _Path | None = None,
    plugins: Sequence[str] | None = None,
    host_key_file: _Path | None = None,
) -> dict[str, Any]:
    """Agent mode: collect, send (spool first), update the cert file; the outcome.
    Keyword arguments override the config file's keys of the same names.

    Signed with the host's own credential in `host_key_file` (default /etc/assetkit/host.key)
    once it has one; before that with the fleet key (`key_id`, `key_file`), which enrols the
    host: the credential the receiver's answer carries is stored in `host_key_file` (mode 0600,
    atomically). The outcome never contains the secret."""

def send_report(
    report: Mapping[str, Any],
    config: _Path | None = None,
    server: str | None = None,
    key_id: str | None = None,
    key_file: _Path | None = None,
    timeout: float = 20.0,
    credential_file: _Path | None = None,
    credentials_dir: _Path | None = None,
    target: str | None = None,
) -> dict[str, Any]:
    """Send an already collected report; the receiver's answer (without the secret).

    Signed with the host's credential in `credential_file`, else in
    `<credentials_dir>/<target>.json` (a control machine keeps one per target; the directory,
    default the config's `credentials_dir`, is created 0700), else in the config's
    `host_key_file`; with the fleet key when there is none yet, which enrols the host. The
    credential the answer carries is stored there (mode 0600)."""

def sign(method: str, path: str, body: bytes, key_id: str, secret: str) -> dict[str, str]:
    """The X-Assetkit-* signature headers for one request."""

def plugins() -> list[str]:
    """Plugin names a config may enable."""
