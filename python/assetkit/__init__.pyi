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
) -> dict[str, Any]:
    """Agent mode: collect, send (spool first), update the cert file; the outcome.
    Keyword arguments override the config file's keys of the same names."""

def send_report(
    report: Mapping[str, Any],
    config: _Path | None = None,
    server: str | None = None,
    key_id: str | None = None,
    key_file: _Path | None = None,
    timeout: float = 20.0,
) -> dict[str, Any]:
    """Send an already collected report; the receiver's answer."""

def sign(method: str, path: str, body: bytes, key_id: str, secret: str) -> dict[str, str]:
    """The X-Assetkit-* signature headers for one request."""

def plugins() -> list[str]:
    """Plugin names a config may enable."""
