"""The book (docs/) and the README, held to what they say.

- Every shell snippet (```sh, ```bash) and every Python snippet (```python) of the README and of
  each book page runs, in order, in one bash session per page, against a fresh store in a temp
  directory, with the repository's built binaries on PATH (target/debug). A page's session is a
  scratch "checkout": the repository's top-level files linked in, so `ansible/...` and
  `tests/pg/up` resolve as they do for a reader in a clone, and `target/debug` (and
  `target/release`, for pages that name it) is the build the suite made.
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

import contextlib
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
    """Whatever a page left running: its background jobs (its process group), and the daemons
    that leave the group, found by the pid files they keep under the session: an sshd
    (tests/sshd/up) or a PostgreSQL cluster (tests/pg/up DIR)."""
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    for pid_file in session.rglob("sshd.pid"):
        with contextlib.suppress(ValueError, ProcessLookupError):
            os.kill(int(pid_file.read_text().split()[0]), signal.SIGTERM)
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


# ---------------------------------------------------------------------------------------------
# Nothing the README said before the book is lost


# Each level-2/3/4 heading of the README at commit b7ebbc4 (tests/fixtures/book/README-b7ebbc4.md)
# and where its section lives now: a page and the anchor of one of its headings.
HEADINGS = {
    "Set-up: two commands": "docs/src/getting-started.md#set-up-two-commands",
    "Five-minute tour": "docs/src/getting-started.md#five-minute-tour",
    "The collector": "docs/src/collector.md#collecting",
    "Plugins, their sources and when a tool runs": "docs/src/collector.md#plugins-their-sources-and-when-a-tool-runs",
    "Snapshot names": "docs/src/collector.md#snapshot-names",
    "Receiver and API keys": "docs/src/receiver/receiver.md#receiver-and-api-keys",
    "Agent mode (a timer on every host)": "docs/src/ways-in/agent.md#agent-a-timer-on-every-host",
    "SSH mode (nothing installed on the targets)": "docs/src/ways-in/ssh-sweep.md#ssh-sweep-nothing-installed-on-the-targets",
    "Salt": "docs/src/ways-in/salt.md#salt",
    "Ansible": "docs/src/ways-in/ansible.md#ansible",
    "Cobbler": "docs/src/ways-in/cobbler.md#cobbler",
    "Console and admin CLI": "docs/src/receiver/console.md#console-and-admin-cli",
    "Webhooks: hardware changes as alerts": "docs/src/webhooks.md#webhooks-hardware-changes-as-alerts",
    "The inventory as the source of truth": "docs/src/inventory.md#the-inventory-as-the-source-of-truth",
    "Ansible dynamic inventory": "docs/src/inventory.md#ansible-dynamic-inventory",
    "Salt: pillar and salt-ssh roster": "docs/src/inventory.md#salt-pillar-and-salt-ssh-roster",
    "Exports (CSV and xlsx)": "docs/src/inventory.md#exports-csv-and-xlsx",
    "API": "docs/src/reference/api.md#api",
    "Python": "docs/src/reference/python.md#python",
    "Figures": "docs/src/figures.md#figures",
    "Scaling and storage: SQLite, then PostgreSQL": "docs/src/operations/postgresql.md#scaling-with-postgresql",
    "Limits": "docs/src/operations/limits.md#limits",
    "Security": "docs/src/security.md#security",
    "Repository": "README.md#repository",
}

# Inline code of the old README that is not said the same way any more, and why.
RESTATED = {
    "POST /api/v1/reports": "the route table is rendered from openapi.yaml (reference/api.md)",
    "GET /api/v1/hosts/pending": "rendered from openapi.yaml",
    "PATCH /api/v1/assets/{id}": "rendered from openapi.yaml",
    "POST /api/v1/assets/{id}/reenrol": "rendered from openapi.yaml",
    ".../revoke": "rendered from openapi.yaml",
    "GET /api/v1/assets/{id}/changes?limit=&before=": "rendered from openapi.yaml, with its parameters",
    "GET /api/v1/changes?since=&after_id=&limit=": "rendered from openapi.yaml, with its parameters",
    "GET /metrics": "rendered from openapi.yaml",
    "Location": "rendered from openapi.yaml (the 201 answer's header)",
    '{"asset_id", "action": "created/updated/unchanged", "cert_hostname", "changes", "duplicate"}': "rendered from openapi.yaml (the 200 body's fields)",
    "assetkitd keys create --scope agent": "keys create takes the key's name as its argument now",
}


def slug(heading: str) -> str:
    """mdBook's anchor for a heading (GitHub's is the same for these)."""
    return "".join(c.lower() if c.isalnum() or c in "-_" else "-" if c.isspace() else "" for c in heading.strip())


def headings(text: str) -> list[str]:
    found, fenced = [], False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced and (m := re.match(r"^#{1,6} (.+?)\s*$", line)):
            found.append(m.group(1))
    return found


def rendered_references(tmp: Path) -> str:
    """What `make docs` renders from openapi.yaml and the report schema, rendered here."""
    text = ""
    for script, name in (("gen_api_reference.py", "openapi.md"), ("gen_report_reference.py", "report-schema.md")):
        subprocess.run([sys.executable, str(REPO / "scripts" / script), str(tmp / name)], check=True)
        text += (tmp / name).read_text()
    return text


def test_every_heading_of_the_old_readme_has_a_home():
    old = [h for h in headings(OLD_README.read_text()) if h != "assetkit"]
    assert sorted(old) == sorted(HEADINGS), "the map names each heading of the old README once"
    for heading, home in HEADINGS.items():
        page, anchor = home.split("#")
        here = [slug(h) for h in headings(expand_includes((REPO / page).read_text(), (REPO / page).parent))]
        assert anchor in here, f"old README's '{heading}': no heading #{anchor} in {page}"


def test_the_old_readmes_code_figures_and_table_rows_are_all_still_said(tmp_path):
    corpus = README.read_text() + rendered_references(tmp_path)
    for page in SRC.rglob("*.md"):
        corpus += expand_includes(page.read_text(), page.parent) + "\n"
    flat = " ".join(corpus.split())
    old = re.sub(r"```.*?```", "", OLD_README.read_text(), flags=re.S)
    spans = set(re.findall(r"`([^`\n]+)`", old))
    lost = sorted(s for s in spans if s not in corpus and s not in RESTATED)
    assert not lost, f"inline code of the old README said nowhere now: {lost}"
    assert not [s for s in RESTATED if s not in spans], "RESTATED names only what the old README said"
    figures = set(re.findall(r"\d[\d,.]*\d(?:\s?(?:ms|µs|s|MiB|KiB|KB|GiB|M|x|%|/s))?", old))
    assert not sorted(f for f in figures if f not in corpus), "figures of the old README missing"
    rows = [r for r in old.splitlines() if r.startswith("| ") and not r.startswith("| ---")]
    route_table = [r for r in rows if re.match(r"\| `(GET|POST|PATCH) /|\| route \|", r)]
    kept = [r for r in rows if r not in route_table and " ".join(r.split()) not in flat]
    # The rows that changed since, each on purpose: the webhook secret file's rule (issue 26:
    # yours, 0600 or stricter); the board plugin's cloud detection and the disk, RAID and BMC
    # rows' WWNs and FRU records (issues 21 and 24); a host's byte budget, 32 -> 4 MiB a minute
    # (issue 25's flood measurement).
    changed = ["`board`", "`disk`", "", "`bmc`", "reports per key", "webhook endpoints"]
    assert [r.split("|")[1].strip() for r in kept] == changed, kept


def test_every_book_page_is_in_the_summary():
    listed = set(book_pages())
    orphans = [p for p in SRC.rglob("*.md") if p.name != "SUMMARY.md" and p not in listed]
    assert not orphans, f"pages mdBook would not build: {orphans}"


def test_readme_is_a_front_door_whose_links_resolve():
    text = README.read_text()
    assert len(text.splitlines()) < 200
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
        if not re.match(r"https?:", target):
            assert (REPO / target).exists(), f"README links to {target}, which does not exist"
    # The two set-up commands, exactly as CI runs them.
    assert "make demo    # build, start assetkitd on a SQLite file" in text
    assert "make test    # install the test dependencies, build everything" in text


# ---------------------------------------------------------------------------------------------
# The book says what the code does


def test_cli_reference_is_what_help_prints():
    out = subprocess.run([sys.executable, str(REPO / "scripts" / "gen_cli_reference.py"), "--check", "--bin-dir", str(BIN)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_webhook_list_columns_are_named_as_the_cli_prints_them(tmp_path):
    db = tmp_path / "assetkit.db"
    secret = tmp_path / "hook.secret"
    secret.write_text("0123456789abcdef0123456789abcdef\n")
    secret.chmod(0o600)
    assetkitd = str(BIN / "assetkitd")
    env = {**os.environ, "ASSETKIT_DB": str(db)}
    add = [assetkitd, "webhooks", "add", "--url", "http://127.0.0.1:9/hooks", "--secret-file", str(secret), "--webhook-allow-network", "127.0.0.1"]
    subprocess.run(add, check=True, env=env, capture_output=True)
    printed = subprocess.run([assetkitd, "webhooks", "list"], check=True, env=env, capture_output=True, text=True).stdout
    header = printed.splitlines()[0].split()
    page = (SRC / "webhooks.md").read_text()
    example = page[page.index("$ assetkitd webhooks list") :].splitlines()[1].split()
    assert example == header, f"the book shows {example}, the CLI prints {header}"
    for column in header[-2:]:
        assert f"**{column}**" in page, f"the book does not say what {column} counts"


def disk_report(hostname: str, disks: list[tuple[str, str | None, str]]) -> bytes:
    """A minimal report: a host and its disks as (kernel name, slot, serial)."""
    import json
    import uuid

    listed = [
        {"name": name, "slot": slot, "model": "ST4000NM0035", "serial_number": serial, "size_bytes": 4000787030016,
         "rotational": True, "interface": "SAS", "source": "storcli" if slot else "sysfs"}
        for name, slot, serial in disks
    ]
    report = {
        "schema_version": 1, "report_id": str(uuid.uuid4()), "collected_at": "2026-11-27T19:02:11Z",
        "agent": {"name": "assetkit", "version": "0.1.0", "mode": "agent"},
        "host": {"hostname": hostname, "cert_hostname": None}, "facts": {"disks": listed}, "errors": [],
    }
    return json.dumps(report).encode()


def test_disks_are_replaced_in_a_slot_and_removed_and_added_without_one(receiver):
    """What the inventory chapter says (issue 26, item 16): a new serial in a RAID slot is one
    replacement; a disk the kernel alone names is known by its serial, so a new one there is the
    old one removed and a new one added."""
    from conftest import signed_request

    status, first = signed_request(receiver.url, "POST", "/api/v1/reports", disk_report("db01", [("sda", None, "A1"), ("sdb", "32:3", "C3")]), *receiver.agent_key)
    assert status == 200, first
    host = (first["host_key_id"], first["host_secret"])
    status, second = signed_request(receiver.url, "POST", "/api/v1/reports", disk_report("db01", [("sda", None, "B2"), ("sdb", "32:3", "D4")]), *host)
    assert status == 200, second
    changes = receiver.get(f"/api/v1/assets/{first['asset_id']}/changes")["changes"]
    summaries = [c["summary"] for c in changes if c.get("component") == "disk"]
    assert any(s.startswith("disk in slot 32:3 replaced: serial_number C3 → D4") for s in summaries), summaries
    assert any("removed" in s and "A1" in s for s in summaries), summaries
    assert any("added" in s and "B2" in s for s in summaries), summaries
    assert not any("replaced" in s and ("A1" in s or "B2" in s) for s in summaries), summaries
