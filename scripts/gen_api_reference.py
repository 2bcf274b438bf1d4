#!/usr/bin/env python3
"""Renders openapi.yaml as Markdown for the book: the API's description, a table of routes, then
each operation with its parameters, request body, answers and their fields, the error codes and
the shared schemas. The book's API chapter includes it, so the reference cannot drift from the
document `make contract` holds the server to.

    scripts/gen_api_reference.py [OUT]      (default: docs/gen/openapi.md)

`make docs` runs it before mdBook. It needs PyYAML (in requirements-test.txt).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "openapi.yaml"
DEFAULT_OUT = ROOT / "docs" / "gen" / "openapi.md"
METHODS = ("get", "post", "put", "patch", "delete")


def cell(text) -> str:
    """One table cell: on one line, pipes escaped, and angle brackets outside `code` shown as
    text (descriptions say <name>; Markdown would take it for an HTML tag)."""
    parts = " ".join(str(text).split()).replace("|", "\\|").split("`")
    for i in range(0, len(parts), 2):
        parts[i] = parts[i].replace("<", "&lt;").replace(">", "&gt;")
    return "`".join(parts)


def anchor(method: str, path: str) -> str:
    return "op-" + re.sub(r"[^a-z0-9]+", "-", f"{method} {path}".lower()).strip("-")


class Spec:
    def __init__(self, doc: dict):
        self.doc = doc

    def ref(self, node: dict) -> dict:
        """Follows a local $ref (#/components/...); other refs (the report schema) stay."""
        while isinstance(node, dict) and str(node.get("$ref", "")).startswith("#/"):
            target = self.doc
            for part in node["$ref"][2:].split("/"):
                target = target[part]
            node = target
        return node

    def type_of(self, schema: dict) -> str:
        if not isinstance(schema, dict):
            return ""
        ref = schema.get("$ref", "")
        if ref.startswith("#/components/schemas/"):
            name = ref.rsplit("/", 1)[-1]
            return f"[{name}](#schema-{name.lower()})"
        if ref:
            return "the report ([Report format](report-format.md))"
        if "anyOf" in schema:
            return " or ".join(self.type_of(s) for s in schema["anyOf"])
        if "enum" in schema:
            return "one of " + ", ".join(f"`{v}`" for v in schema["enum"])
        kinds = schema.get("type", "any")
        kinds = kinds if isinstance(kinds, list) else [kinds]
        words = []
        for kind in kinds:
            if kind == "array":
                words.append("array of " + (self.type_of(schema.get("items", {})) or "any"))
            else:
                words.append(str(kind))
        bounds = [f"{k} {schema[k]}" for k in ("minimum", "maximum", "maxLength", "default") if k in schema]
        if "format" in schema:
            bounds.insert(0, schema["format"])
        if "pattern" in schema:
            bounds.append(f"pattern `{schema['pattern']}`")
        return " or ".join(words) + (f" ({', '.join(bounds)})" if bounds else "")

    def fields(self, schema: dict) -> list[str]:
        schema = self.ref(schema)
        props = schema.get("properties") if isinstance(schema, dict) else None
        if not props:
            return []
        required = set(schema.get("required", []))
        rows = ["| field | type | required | description |", "| --- | --- | --- | --- |"]
        for name, prop in props.items():
            rows.append(f"| `{name}` | {cell(self.type_of(prop))} | {'yes' if name in required else ''} | {cell(prop.get('description', ''))} |")
        return rows

    def parameters(self, params: list) -> list[str]:
        if not params:
            return []
        rows = ["| parameter | in | type | description |", "| --- | --- | --- | --- |"]
        for p in (self.ref(p) for p in params):
            rows.append(f"| `{p['name']}` | {p['in']} | {cell(self.type_of(p.get('schema', {})))} | {cell(p.get('description', ''))} |")
        return ["**Parameters**", "", *rows, ""]

    def operation(self, path: str, method: str, op: dict, path_params: list) -> list[str]:
        scopes = "unsigned" if op.get("security") == [] else "signed"
        out = [f'<a id="{anchor(method, path)}"></a>', "", f"### {method.upper()} `{path}`", "", f"{op.get('summary', '')}. ({scopes})", ""]
        if op.get("description"):
            out += [op["description"].strip(), ""]
        out += self.parameters(path_params + op.get("parameters", []))
        body = op.get("requestBody")
        if body:
            for media, content in body.get("content", {}).items():
                out += [f"**Request body** ({media}): {self.type_of(content.get('schema', {}))}", ""]
        out += ["**Answers**", "", "| status | meaning |", "| --- | --- |"]
        success_fields: list[str] = []
        for status, answer in op.get("responses", {}).items():
            answer = self.ref(answer)
            out.append(f"| {status} | {cell(answer.get('description', ''))} |")
            if status.startswith("2"):
                for media, content in answer.get("content", {}).items():
                    schema = content.get("schema", {})
                    rows = self.fields(schema)
                    if rows:
                        success_fields += [f"**{status} body** ({media})", "", *rows, ""]
                    elif schema:
                        success_fields += [f"**{status} body** ({media}): {self.type_of(schema)}", ""]
        out.append("")
        return out + success_fields

    def render(self) -> str:
        info = self.doc["info"]
        out = [
            "<!-- Generated by scripts/gen_api_reference.py from openapi.yaml: do not edit. -->",
            "",
            f"*{info['title']}, version {info['version']}; OpenAPI {self.doc['openapi']}.*",
            "",
            info.get("description", "").strip(),
            "",
            "### Routes",
            "",
            "| method | path | what |",
            "| --- | --- | --- |",
        ]
        operations = []
        for path, item in self.doc["paths"].items():
            for method in METHODS:
                if method in item:
                    op = item[method]
                    out.append(f"| {method.upper()} | [`{path}`](#{anchor(method, path)}) | {cell(op.get('summary', ''))} |")
                    operations += self.operation(path, method, op, item.get("parameters", []))
        out += ["", *operations]
        codes = self.doc["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"]
        out += ["### Error codes", "", "Every error answers `{\"error\": {\"code\", \"message\", \"field\"?}}` with one of these codes:", ""]
        out += [", ".join(f"`{c}`" for c in codes), ""]
        out += ["### Schemas", ""]
        for name, schema in self.doc["components"]["schemas"].items():
            out += [f'<a id="schema-{name.lower()}"></a>', "", f"#### {name}", ""]
            if schema.get("description"):
                out += [schema["description"].strip(), ""]
            rows = self.fields(schema)
            out += rows + [""] if rows else [f"{self.type_of(schema)}", ""]
        return "\n".join(out).rstrip() + "\n"


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(Spec(yaml.safe_load(SPEC.read_text())).render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
