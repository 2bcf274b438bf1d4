#!/usr/bin/env python3
"""Writes openapi.yaml as one self-contained document, for tools that do not follow a `$ref` to
another file (most client generators): the report schema (schema/report.schema.json) becomes
components.schemas.Report, its `$defs` become Report<Name> schemas beside it.

    python3 scripts/bundle_openapi.py > openapi.bundled.yaml
    openapi-python-client generate --path openapi.bundled.yaml

Needs PyYAML. The published files stay the source of truth; `make openapi-bundle` runs this.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
REPORT_REF = "schema/report.schema.json"


def def_name(name: str) -> str:
    """`reported_hostname` as `ReportReportedHostname`."""
    return "Report" + "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def rewrite(node, refs: dict[str, str]):
    if isinstance(node, dict):
        return {k: refs.get(v, v) if k == "$ref" and isinstance(v, str) else rewrite(v, refs) for k, v in node.items()}
    if isinstance(node, list):
        return [rewrite(v, refs) for v in node]
    return node


def bundle(repo: Path = REPO) -> dict:
    api = yaml.safe_load((repo / "openapi.yaml").read_text())
    report = json.loads((repo / REPORT_REF).read_text())
    defs = report.pop("$defs", {})
    report.pop("$schema", None)
    report.pop("$id", None)
    refs = {f"#/$defs/{name}": f"#/components/schemas/{def_name(name)}" for name in defs}
    refs[REPORT_REF] = "#/components/schemas/Report"
    schemas = api["components"]["schemas"]
    clash = {"Report", *map(def_name, defs)} & schemas.keys()
    if clash:
        sys.exit(f"bundle_openapi: openapi.yaml already has schemas named {sorted(clash)}")
    schemas["Report"] = rewrite(report, refs)
    for name, schema in defs.items():
        schemas[def_name(name)] = rewrite(schema, refs)
    return rewrite(api, refs)


if __name__ == "__main__":
    yaml.safe_dump(bundle(), sys.stdout, sort_keys=False, allow_unicode=True)
