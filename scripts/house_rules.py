#!/usr/bin/env python3
"""The house rules a newcomer can rely on, checked by `make lint`:

- no source file over 600 lines (`rust/*/src/**/*.rs`; integration tests live elsewhere);
- no module that imports one that imports it back, directly or through others. Each file is a
  module. A `use` or a path (`crate::a::b::f`, `super::x`, `child::x`) is an edge to the module
  that *defines* what it names: a name re-exported by a facade (`pub use model::Report` in
  `lib.rs`) leads to `model`, not to the facade. A parent declaring `mod child;` is no edge.
  Cycles are strongly connected components of more than one module.

Functions over 100 lines are clippy's `too_many_lines` (clippy.toml), run by `cargo clippy`.

Exits 1 with the list of what breaks a rule; prints a summary otherwise.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 600

SEGMENT = r"[A-Za-z_][A-Za-z0-9_]*"
USE = re.compile(r"\b(pub(?:\([^)]*\))?\s+)?use\s+([a-z_][a-z0-9_]*(?:::" + SEGMENT + r")*)(?:::(\{[^;]*\}|\*))?\s*(?:as\s+(" + SEGMENT + r"))?\s*;")
PATH = re.compile(r"(?<![A-Za-z0-9_:])([a-z_][a-z0-9_]*)((?:::" + SEGMENT + r")+)")
DEFINES = re.compile(r"\b(?:fn|struct|enum|const|static|type|trait|mod|macro_rules!)\s+(" + SEGMENT + r")")

Module = tuple[str, ...]


def strip(text: str) -> str:
    """Code without comments, string contents (messages may say `crate::`) and its unit tests
    (an inline `mod tests`, whose `super` is the file's module, at the end of the file)."""
    tests = re.search(r"#\[cfg\(test\)\]\s*mod\s+\w+\s*\{", text)
    if tests:
        text = text[: tests.start()]
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    return re.sub(r'"(?:\\.|[^"\\])*"', '""', text)


def module_of(crate_src: Path, file: Path) -> Module:
    parts = list(file.relative_to(crate_src).with_suffix("").parts)
    if parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    return tuple(parts)


class Crate:
    def __init__(self, crate_src: Path):
        self.files = {module_of(crate_src, f): f for f in sorted(crate_src.rglob("*.rs"))}
        self.code = {m: strip(f.read_text()) for m, f in self.files.items()}
        self.defined = {m: set(DEFINES.findall(c)) for m, c in self.code.items()}
        # name -> the module a `pub use` of it leads to; and the modules of glob re-exports.
        self.reexports: dict[Module, dict[str, list[str]]] = {m: {} for m in self.files}
        self.globs: dict[Module, list[list[str]]] = {m: [] for m in self.files}
        for m, code in self.code.items():
            for u in USE.finditer(code):
                if not u.group(1):
                    continue
                base = u.group(2).split("::")
                group, alias = u.group(3), u.group(4)
                if group == "*":
                    self.globs[m].append(base)
                elif group:
                    for item in group.strip("{}").split(","):
                        item = item.strip()
                        if not item or item == "self":
                            continue
                        name = item.split(" as ")[-1].strip().split("::")[-1]
                        self.reexports[m][name] = base + item.split(" as ")[0].strip().split("::")
                else:
                    self.reexports[m][alias or base[-1]] = base

    def module_prefix(self, here: Module, path: list[str]) -> tuple[Module, list[str]] | None:
        """The module a path starts in, and the rest of it; None for other crates and locals."""
        out, segs = list(here), list(path)
        if segs[0] == "crate":
            out, segs = [], segs[1:]
        elif segs[0] not in ("super", "self"):
            if tuple(out + [segs[0]]) not in self.files:
                return None
        while segs and segs[0] in ("super", "self"):
            out = out[:-1] if segs[0] == "super" else out
            segs = segs[1:]
        full = out + segs
        for n in range(len(full), -1, -1):
            if tuple(full[:n]) in self.files:
                return tuple(full[:n]), full[n:]
        return None

    def definer(self, here: Module, path: list[str], depth: int = 0) -> Module | None:
        """The module that defines what `path` names (re-exports followed)."""
        found = self.module_prefix(here, path)
        if found is None or depth > 20:
            return None
        module, rest = found
        if rest and rest[0] not in self.defined[module]:
            if rest[0] in self.reexports[module]:
                target = self.definer(module, self.reexports[module][rest[0]] + rest[1:], depth + 1)
                return target or module
            for glob in self.globs[module]:
                target = self.definer(module, glob + rest, depth + 1)
                if target is not None:
                    return target
        return module

    def edges(self, here: Module) -> set[Module]:
        code = self.code[here]
        out: set[Module] = set()
        for u in USE.finditer(code):
            base = u.group(2).split("::")
            group = u.group(3)
            items = [""]
            if group and group != "*":
                items = [i.strip().split(" as ")[0].strip() for i in group.strip("{}").split(",")]
            for item in items:
                path = base + ([s for s in item.split("::") if s and s != "self"] if item else [])
                target = self.definer(here, path)
                if target is not None:
                    out.add(target)
        for p in PATH.finditer(code):
            target = self.definer(here, [p.group(1)] + p.group(2).split("::")[1:])
            if target is not None:
                out.add(target)
        out.discard(here)
        return out


def cycles(graph: dict[Module, set[Module]]) -> list[list[Module]]:
    index: dict = {}
    low: dict = {}
    stack: list = []
    on: set = set()
    out: list = []
    counter = [0]

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in graph:
        if v not in index:
            strong(v)
    return out


def main() -> int:
    problems: list[str] = []
    files = modules = 0
    for crate_src in sorted(ROOT.glob("rust/*/src")):
        name = crate_src.parent.name
        crate = Crate(crate_src)
        files += len(crate.files)
        modules += len(crate.files)
        for f in crate.files.values():
            n = len(f.read_text().splitlines())
            if n > MAX_LINES:
                problems.append(f"{f.relative_to(ROOT)}: {n} lines (the limit is {MAX_LINES})")
        graph = {m: crate.edges(m) for m in crate.files}
        for comp in cycles(graph):
            problems.append(f"{name}: modules that import each other in a loop: " + ", ".join("::".join(m) or "(crate root)" for m in comp))
    if problems:
        print("house rules broken:")
        for p in problems:
            print("  " + p)
        return 1
    print(f"house rules hold: {files} files of at most {MAX_LINES} lines; {modules} modules, no import loop")
    return 0


if __name__ == "__main__":
    sys.exit(main())
