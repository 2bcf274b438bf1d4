"""The book (docs/) and the README, held to what they say.

- Every shell snippet (```sh, ```bash) and every Python snippet (```python) of the README and of
  each book page runs, in order, in one bash session per page, against a fresh store in a temp
  directory, with the repository's built binaries on PATH (target/debug). A page's session is a
  scratch "checkout": the repository's top-level files linked in, so `ansible/...` and
  `tests/pg/up` resolve as they do for a reader in a clone, and `target/release` is the debug
  build the suite made.
- What a snippet says is run as written, but for a few rewrites that keep parallel runs apart
  and the machine untouched (REWRITES below): the documented ports (8600 for the receiver, 9000
  for a webhook endpoint) become free ones, and /etc/assetkit, /var/lib/assetkit and
  /var/spool/assetkit live under the session's directory.
- A snippet is steered by an HTML comment on the line before its fence:
    <!-- snippet: not-run, needs REASON -->   not run here; counted and listed
    <!-- snippet: file PATH -->               its text is written to PATH (then used by later
                                              snippets), whatever its language
  mdBook's {{#include FILE}} and {{#include FILE:ANCHOR}} are expanded first, as the reader sees
  them.
- Each level-2/3 heading of the README as it was before the book (commit b7ebbc4) has a home in
  the book (HEADINGS), and its flags, paths and figures are all still said somewhere.
- The CLI reference is what `--help` prints today, and the webhook list's columns are named in
  the book as the CLI prints them.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import BIN, REPO

DOCS = REPO / "docs"
SRC = DOCS / "src"
README = REPO / "README.md"
OLD_README = REPO / "tests" / "fixtures" / "book" / "README-b7ebbc4.md"

# Not-run snippets are kept few: each one is a promise the suite cannot check.
MAX_NOT_RUN = 20
PAGE_TIMEOUT = 300


# ---------------------------------------------------------------------------------------------
# Reading pages: includes, fences, directives


@dataclasses.dataclass
class Snippet:
    page: str
    line: int
    lang: str
    text: str
    action: str  # "run", "file" or "not-run"
    arg: str = ""  # the file's path, or why it is not run

    def where(self) -> str:
        return f"{self.page}:{self.line}"


INCLUDE = re.compile(r"\{\{#include\s+([^}\s]+)\s*\}\}")
DIRECTIVE = re.compile(r"^\s*<!--\s*snippet:\s*(not-run|file)\b[,\s]*(.*?)\s*-->\s*$")
FENCE = re.compile(r"^(\s*)(`{3,})\s*([\w+-]*)")
RUN_LANGS = {"sh", "bash", "python"}


def expand_includes(text: str, base: Path) -> str:
    """mdBook's {{#include FILE}} and {{#include FILE:ANCHOR}}, relative to the page."""

    def include(match: re.Match) -> str:
        target, _, anchor = match.group(1).partition(":")
        if (base / target).resolve().is_relative_to(DOCS / "gen"):
            return ""  # rendered references (make docs): tables, no snippets
        body = (base / target).read_text()
        if anchor:
            inside = re.search(rf"ANCHOR: {re.escape(anchor)}\b.*?\n(.*?)\n[^\n]*ANCHOR_END: {re.escape(anchor)}\b", body, re.S)
            assert inside, f"{target} has no anchor {anchor}"
            body = inside.group(1)
        lines = [line for line in body.splitlines() if not re.search(r"ANCHOR(_END)?: ", line)]
        return "\n".join(lines).rstrip("\n")

    return INCLUDE.sub(include, text)


def snippets(path: Path) -> list[Snippet]:
    """The fenced blocks of a page that are runnable, files to write, or marked not-run."""
    name = str(path.relative_to(REPO))
    lines = expand_includes(path.read_text(), path.parent).splitlines()
    found: list[Snippet] = []
    i = 0
    while i < len(lines):
        fence = FENCE.match(lines[i])
        if not fence:
            i += 1
            continue
        indent, ticks, lang = fence.groups()
        start = i
        body = []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(ticks):
            body.append(lines[i][len(indent) :] if lines[i].startswith(indent) else lines[i].lstrip())
            i += 1
        i += 1
        previous = next((lines[j] for j in range(start - 1, -1, -1) if lines[j].strip()), "")
        directive = DIRECTIVE.match(previous)
        text = "\n".join(body) + "\n"
        if directive and directive.group(1) == "file":
            found.append(Snippet(name, start + 1, lang, text, "file", directive.group(2)))
        elif lang in RUN_LANGS:
            if directive:
                found.append(Snippet(name, start + 1, lang, text, "not-run", directive.group(2)))
            else:
                found.append(Snippet(name, start + 1, lang, text, "run"))
    return found


def book_pages() -> list[Path]:
    """The book's chapters in SUMMARY.md order."""
    pages = []
    for target in re.findall(r"\]\(([^)#\s]+\.md)\)", (SRC / "SUMMARY.md").read_text()):
        if SRC / target not in pages:
            pages.append(SRC / target)
    return pages


ALL_PAGES = [README, *book_pages()]


# ---------------------------------------------------------------------------------------------
# Running a page


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rewrites(session: Path) -> list[tuple[re.Pattern, str]]:
    """What changes between the page and its run: free ports, and machine paths in the sandbox."""
    out = [
        (re.compile(r"(?<=:)8600\b"), str(free_port())),
        (re.compile(r"(?<=:)9000\b"), str(free_port())),
    ]
    for machine_path in ("/etc/assetkit", "/var/lib/assetkit", "/var/spool/assetkit"):
        out.append((re.compile(rf"(?<![\w./-]){re.escape(machine_path)}(?=[/\s\"'`:;)]|$)", re.M), f"{session}/root{machine_path}"))
    return out


def apply(text: str, rules: list[tuple[re.Pattern, str]]) -> str:
    for pattern, replacement in rules:
        text = pattern.sub(replacement, text)
    return text


def heredoc(text: str, tag: str) -> str:
    assert f"\n{tag}\n" not in f"\n{text}", f"a snippet contains the heredoc tag {tag}"
    return f"<<'{tag}'\n{text}{tag}\n"


def session_script(page_snippets: list[Snippet], rules) -> str:
    """One bash script: every snippet of the page in order, stopping at the first failure."""
    parts = [
        "set -eE -o pipefail\n",
        'trap \'echo "=== FAILED in snippet $SNIPPET (exit $?)" >&2\' ERR\n',
    ]
    for n, s in enumerate(page_snippets, 1):
        if s.action == "not-run":
            continue
        parts.append(f"SNIPPET={s.where()!r}\necho \"=== snippet {n}: {s.where()}\"\n")
        text = apply(s.text, rules)
        if s.action == "file":
            target = apply(s.arg, rules)
            parts.append(f'mkdir -p "$(dirname "{target}")"\ncat > "{target}" {heredoc(text, "ASSETKIT_BOOK_FILE")}')
        elif s.lang == "python":
            parts.append(f"python3 - {heredoc(text, 'ASSETKIT_BOOK_PY')}")
        else:
            parts.append(text)
    parts.append('echo "=== page done"\n')
    return "".join(parts)


def checkout_view(session: Path) -> Path:
    """A directory that looks like a clone after `make demo`: the repository's files, linked."""
    view = session / "checkout"
    view.mkdir(parents=True)
    for entry in REPO.iterdir():
        if entry.name not in {".git", "target", ".venv"}:
            (view / entry.name).symlink_to(entry)
    (view / "target").mkdir()
    for profile in ("debug", "release"):
        (view / "target" / profile).symlink_to(BIN)
    return view


def stop_leftovers(pgid: int, session: Path) -> None:
    """Whatever the page left running: its background jobs, and PostgreSQL clusters it started."""
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    for pid_file in session.rglob("postmaster.pid"):
        subprocess.run([str(REPO / "tests" / "pg" / "ctl"), "stop", str(pid_file.parent.parent)], capture_output=True)


def run_page(page: Path, tmp_path: Path) -> tuple[int, str]:
    page_snippets = snippets(page)
    session = tmp_path / "session"
    view = checkout_view(session)
    for d in ("home", "tmp", "root"):
        (session / d).mkdir()
    rules = rewrites(session)
    script = session / "page.sh"
    script.write_text(session_script(page_snippets, rules))
    env = {
        "PATH": os.pathsep.join([str(view / "target" / "debug"), str(Path(sys.executable).parent), "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin"]),
        "HOME": str(session / "home"),
        "TMPDIR": str(session / "tmp"),
        "LANG": "C.UTF-8",
        "USER": os.environ.get("USER", "root"),
    }
    log = session / "page.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(["bash", str(script)], cwd=view, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            rc = proc.wait(timeout=PAGE_TIMEOUT)
        except subprocess.TimeoutExpired:
            rc = -1
        finally:
            stop_leftovers(proc.pid, session)
    return rc, log.read_text(errors="replace")


@pytest.mark.parametrize("page", [p for p in ALL_PAGES if any(s.action != "not-run" for s in snippets(p))], ids=lambda p: str(p.relative_to(REPO)))
def test_page_snippets_run_in_order(page, tmp_path):
    rc, log = run_page(page, tmp_path)
    tail = "\n".join(log.splitlines()[-80:])
    assert rc == 0, f"{page.relative_to(REPO)}: a snippet failed (rc {rc}); the end of the session:\n{tail}"
    assert "=== page done" in log


def test_snippets_not_run_are_few_and_say_why():
    not_run = [s for p in ALL_PAGES for s in snippets(p) if s.action == "not-run"]
    ran = [s for p in ALL_PAGES for s in snippets(p) if s.action == "run"]
    print(f"\n{len(ran)} snippets run, {len(not_run)} not run:")
    for s in not_run:
        print(f"  {s.where()}: {s.arg}")
    for s in not_run:
        assert re.match(r"(needs|CI runs) \S", s.arg), f"{s.where()}: say what it needs (`not-run, needs ...`), not {s.arg!r}"
    assert len(not_run) <= MAX_NOT_RUN, "too many snippets are not run"
    assert len(ran) >= 3 * len(not_run), "most snippets must run"
