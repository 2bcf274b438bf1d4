"""Cobbler: the snippet rendered by Cheetah as Cobbler renders it, then executed under bash
against a real HTTP server and a real assetkitd; shellcheck on the rendered output; the
server-side triggers (registration after the install, pre-enrolment before it)."""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import threading
from pathlib import Path

import pytest
from Cheetah.Template import Template

from conftest import REPO, binary, credential, signed_request

COBBLER = REPO / "cobbler"
# Cobbler's own built-in snippets, which a real server provides; they are not assetkit's to test.
BUILT_IN = {"autoinstall_start", "autoinstall_done", "pre_anamon", "post_anamon", "network_config", "post_install_network_config"}


class Unresolved(AssertionError):
    pass


def render(source: str, namespace: dict) -> str:
    """Render like cobbler/templar.py render_cheetah: the ListErrors error catcher, a search
    list of variables, $SNIPPET looked up in the snippets directory."""

    def snippet(name: str) -> str:
        if name in BUILT_IN:
            return f"# (Cobbler built-in snippet {name})"
        return render((COBBLER / "snippets" / name).read_text(), namespace)

    template = Template("#errorCatcher ListErrors\n" + source, searchList=[dict(namespace, SNIPPET=snippet)])
    out = str(template)
    errors = template.errorCatcher().listErrors()
    if errors:
        raise Unresolved(f"unresolved variables: {[e.get('code') for e in errors]}")
    return out


def cobbler_vars(**meta) -> dict:
    """Variables as Cobbler's blender flattens them for a system, plus autoinstall_meta."""
    base = {
        "hostname": "web-new-01.dc1.example.com",
        "system_name": "web-new-01",
        "profile_name": "rhel9-x86_64",
        "distro_name": "rhel9-x86_64",
        "server": "127.0.0.1",
        "http_server": "127.0.0.1",
        "mac_address_eth0": "52:54:00:12:34:56",
        "ip_address_eth0": "10.10.0.51",
        "tree": "http://127.0.0.1/cblr/links/rhel9-x86_64",
        "default_password_crypted": "$6$salt$hash",
    }
    base.update(meta)
    return base


def post_section(kickstart: str) -> str:
    match = re.search(r"^%post[^\n]*\n(.*?)^%end", kickstart, re.S | re.M)
    assert match, "no %post section"
    return match.group(1)


@pytest.fixture
def http_server(tmp_path):
    """A real HTTP server on loopback serving the agent binary and the key."""
    root = tmp_path / "www"
    (root / "assetkit").mkdir(parents=True)
    shutil.copy(binary("assetkit"), root / "assetkit" / "assetkit")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def run_post(script: str, tmp_path: Path) -> subprocess.CompletedProcess:
    path = tmp_path / "post.sh"
    path.write_text("#!/bin/bash\n" + script)
    return subprocess.run(["bash", str(path)], capture_output=True, text=True, timeout=120)


def test_snippet_renders_without_unresolved_variables():
    for meta in ({}, {"assetkit_server": "https://cmdb:8600", "assetkit_key_id": "ak_1", "assetkit_key": "aks_inline"}):
        out = render((COBBLER / "templates" / "sample_assetkit.ks").read_text(), cobbler_vars(**meta))
        assert "--- assetkit (cobbler snippet assetkit_post) ---" in out
        assert "AK_CRED_URL=''" in out, "no credential is fetched unless the system was pre-enrolled"
    # assetkit_preenrol: the credential the install/pre trigger published for this system.
    for value, url in (
        ("1", "http://127.0.0.1/cblr/pub/assetkit/hosts/web-new-01.json"),
        ("True", "http://127.0.0.1/cblr/pub/assetkit/hosts/web-new-01.json"),
        ("0", ""),
        ("no", ""),
    ):
        out = render((COBBLER / "templates" / "sample_assetkit.ks").read_text(), cobbler_vars(assetkit_preenrol=value))
        assert f"AK_CRED_URL='{url}'" in out, value
    out = render(
        (COBBLER / "snippets" / "assetkit_post").read_text(),
        cobbler_vars(assetkit_credential_url="http://cobbler.example.com/creds/web-new-01.json"),
    )
    assert "AK_CRED_URL='http://cobbler.example.com/creds/web-new-01.json'" in out
    # The test harness itself catches a typo'd variable, as Cobbler's error catcher would.
    with pytest.raises(Unresolved):
        render("echo $assetkit_sever\n", cobbler_vars())


def test_cobbler_templar_renders_the_same(tmp_path):
    """Through Cobbler 3.3's own Templar (CobblerTemplate, its SNIPPET lookup, its post-filters),
    with a settings object carrying only the values the templar reads."""
    import types
    import warnings

    with warnings.catch_warnings():
        # No /etc/cobbler/cheetah_macros here: Cobbler then compiles an empty macros template
        # at import, and Cheetah warns about its empty source.
        warnings.simplefilter("ignore", UserWarning)
        from cobbler.templar import Templar

    settings = types.SimpleNamespace(
        cheetah_import_whitelist=["random", "re", "time", "netaddr"], default_template_type="cheetah", server="127.0.0.1", jinja2_includedir=""
    )
    templar = Templar(types.SimpleNamespace(settings=lambda: settings))
    # Cobbler's built-in snippets are stood in for, in its snippets directory, by what render() puts in their place.
    snippets = tmp_path / "snippets"
    shutil.copytree(COBBLER / "snippets", snippets)
    for name in BUILT_IN:
        (snippets / name).write_text(f"# (Cobbler built-in snippet {name})")
    for meta in (
        {},
        {"assetkit_server": "https://cmdb:8600", "assetkit_key_id": "ak_1", "assetkit_key_url": "http://127.0.0.1/k"},
        {"assetkit_server": "https://cmdb:8600", "assetkit_preenrol": "true"},
    ):
        namespace = cobbler_vars(autoinstall_snippets_dir=str(snippets), **meta)
        source = (COBBLER / "templates" / "sample_assetkit.ks").read_text()
        theirs = templar.render(source, dict(namespace), None, template_type="cheetah")
        assert templar.last_errors == []
        ours = render(source, namespace)
        assert post_section(theirs) == post_section(ours)


def test_rendered_post_installs_registers_and_hides_the_secret(tmp_path, receiver, http_server):
    www, http = http_server
    (www / "assetkit" / "key").write_text(receiver.agent_key[1] + "\n")
    root = tmp_path / "root"
    namespace = cobbler_vars(
        http_server=http,
        assetkit_server=receiver.url,
        assetkit_key_id=receiver.agent_key[0],
        assetkit_key_url=f"http://{http}/assetkit/key",
        assetkit_splay="0s",
        assetkit_root=str(root),
    )
    kickstart = render((COBBLER / "templates" / "sample_assetkit.ks").read_text(), namespace)
    assert receiver.agent_key[1] not in kickstart, "the key URL keeps the secret out of the kickstart"
    result = run_post(post_section(kickstart), tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert receiver.agent_key[1] not in output, "the secret reached the install log"
    etc = root / "etc" / "assetkit"
    assert (etc / "cert").read_text() == "web-new-01.dc1.example.com\n"
    config = (etc / "agent.toml").read_text()
    assert f'server    = "{receiver.url}"' in config and f'key_id    = "{receiver.agent_key[0]}"' in config
    assert stat.S_IMODE((etc / "key").stat().st_mode) == 0o600
    assert (etc / "key").read_text().strip() == receiver.agent_key[1]
    timer = root / "etc" / "systemd" / "system" / "assetkit-report.timer"
    assert "OnUnitActiveSec=1h" in timer.read_text()
    wants = root / "etc" / "systemd" / "system" / "timers.target.wants" / "assetkit-report.timer"
    assert os.readlink(wants) == "/etc/systemd/system/assetkit-report.timer"
    assert os.access(root / "usr" / "bin" / "assetkit", os.X_OK)
    assert "first report sent" in output
    # The first report enrolled the host with the fleet key; the agent keeps its credential.
    assert f'host_key_file = "{etc / "host.key"}"' in config
    credential(etc / "host.key")
    assert receiver.signers() == [receiver.agent_key[0]]
    # Registered under the name it was installed as, though the running hostname differs.
    running = open("/proc/sys/kernel/hostname").read().strip()
    assert running != "web-new-01.dc1.example.com"
    [asset] = receiver.assets()
    assert asset["hostname"] == "web-new-01.dc1.example.com"
    assert asset["reported_hostname"] == running


def test_rendered_post_is_shellcheck_clean(tmp_path):
    for meta in (
        {},
        {"assetkit_server": "https://cmdb:8600", "assetkit_key_id": "ak_1", "assetkit_key": "aks_x"},
        {"assetkit_server": "https://cmdb:8600", "assetkit_preenrol": "1"},
        {"assetkit_repo_url": "https://repo.example.com/assetkit", "assetkit_repo_key_url": "https://repo.example.com/k.gpg"},
    ):
        post = post_section(render((COBBLER / "templates" / "sample_assetkit.ks").read_text(), cobbler_vars(**meta)))
        path = tmp_path / "post.sh"
        path.write_text("#!/bin/bash\n" + post)
        out = subprocess.run(["shellcheck", "-s", "bash", str(path)], capture_output=True, text=True)
        assert out.returncode == 0, out.stdout
    for meta in ({}, {"assetkit_server": "https://cmdb:8600", "assetkit_preenrol": "1"}):
        script = render((COBBLER / "scripts" / "assetkit_post.sh").read_text(), cobbler_vars(**meta))
        path.write_text(script)
        out = subprocess.run(["shellcheck", str(path)], capture_output=True, text=True)
        assert out.returncode == 0, out.stdout


def test_missing_server_warns_and_never_breaks_the_install(tmp_path, http_server):
    _, http = http_server
    root = tmp_path / "root"
    kickstart = render((COBBLER / "templates" / "sample_assetkit.ks").read_text(), cobbler_vars(http_server=http, assetkit_root=str(root)))
    result = run_post(post_section(kickstart), tmp_path)
    assert result.returncode == 0
    assert "WARNING: assetkit_server or assetkit_key_id is not set in autoinstall_meta" in result.stdout
    assert "cobbler system edit" in result.stdout
    assert (root / "etc" / "assetkit" / "cert").read_text() == "web-new-01.dc1.example.com\n"
    assert not (root / "etc" / "assetkit" / "agent.toml").exists()
    # The %post continues after the snippet (its failures stay inside its subshell).
    follow = run_post(post_section(kickstart) + "\necho install-continues\n", tmp_path)
    assert follow.stdout.rstrip().endswith("install-continues")


def test_repository_install_configures_the_signed_repository(tmp_path, http_server):
    www, http = http_server
    key = b"\x99\x01\x8d\x04 the repository's public key"
    (www / "assetkit" / "assetkit-archive-keyring.gpg").write_bytes(key)
    root = tmp_path / "root"
    meta = {
        "assetkit_repo_url": "https://repo.example.com/assetkit/",
        "assetkit_repo_key_url": f"http://{http}/assetkit/assetkit-archive-keyring.gpg",
        "assetkit_server": "https://cmdb:8600",
        "assetkit_key_id": "ak_1",
    }
    kickstart = render((COBBLER / "templates" / "sample_assetkit.ks").read_text(), cobbler_vars(http_server=http, assetkit_root=str(root), **meta))
    result = run_post(post_section(kickstart), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    # This is a Debian machine: apt, with the repository's key as its signed-by keyring.
    assert (root / "etc/apt/keyrings/assetkit.gpg").read_bytes() == key
    assert (root / "etc/apt/sources.list.d/assetkit.list").read_text() == (
        "deb [signed-by=/etc/apt/keyrings/assetkit.gpg] https://repo.example.com/assetkit/apt stable main\n"
    )
    assert "repository https://repo.example.com/assetkit/apt configured" in result.stdout
    assert not (root / "usr/bin/assetkit").exists(), "the repository replaces the default package URL"
    # Without the key's URL nothing is installed unchecked.
    meta.pop("assetkit_repo_key_url")
    kickstart = render((COBBLER / "templates" / "sample_assetkit.ks").read_text(), cobbler_vars(http_server=http, assetkit_root=str(tmp_path / "r2"), **meta))
    result = run_post(post_section(kickstart), tmp_path)
    assert result.returncode == 0 and "assetkit_repo_key_url is not" in result.stdout
    assert not (tmp_path / "r2/etc/apt/sources.list.d/assetkit.list").exists()


TRIGGERS = COBBLER / "triggers" / "install"


def trigger_env(tmp_path: Path, receiver, systems: dict[str, dict], **settings) -> dict:
    """The environment of a trigger as Cobbler runs it. The Cobbler server cannot run here; its
    CLI is the one thing stubbed: `cobbler system dumpvars` prints what a real server prints for
    each of `systems`, and fails for any other."""
    stub = tmp_path / "bin" / "cobbler"
    stub.parent.mkdir()
    cases = "".join(
        f"  'system dumpvars --name={name}') printf '%s\\n' {' '.join(shlex.quote(f'{k} : {v}') for k, v in variables.items())} ;;\n"
        for name, variables in systems.items()
    )
    stub.write_text(f'#!/bin/sh\ncase "$1 $2 $3" in\n{cases}  *) echo "no such system: $3" >&2; exit 1 ;;\nesac\n')
    stub.chmod(0o755)
    key = tmp_path / "admin.key"
    key.write_text(receiver.admin_key[1])
    key.chmod(0o600)
    config = tmp_path / "trigger.toml"
    settings = {"server": receiver.url, "key_id": receiver.admin_key[0], "key_file": str(key), **settings}
    config.write_text("".join(f"{k} = {json.dumps(v)}\n" for k, v in settings.items()))
    return {**os.environ, "PATH": f"{stub.parent}:{os.environ['PATH']}", "ASSETKIT_TRIGGER_CONFIG": str(config)}


def test_install_trigger_registers_the_system(tmp_path, receiver):
    system = {"hostname": "web-new-02.dc1.example.com", "system_name": "web-new-02", "assetkit_idc": "dc1", "assetkit_rack": "R07"}
    env = trigger_env(tmp_path, receiver, {"web-new-02": system}, publish_dir=str(tmp_path / "hosts"))
    trigger = TRIGGERS / "post" / "assetkit_register"
    out = subprocess.run([str(trigger), "system", "web-new-02", "10.10.0.52"], capture_output=True, text=True, env=env)
    assert out.returncode == 0 and "registered web-new-02.dc1.example.com" in out.stderr, out.stderr
    [asset] = receiver.assets()
    assert (asset["hostname"], asset["idc"], asset["rack"]) == ("web-new-02.dc1.example.com", "dc1", "R07")
    # It is now pending: an SSH sweep will collect it.
    # (The pending list is for read and admin keys: the fleet key would learn what it could claim.)
    status, pending = signed_request(receiver.url, "GET", "/api/v1/hosts/pending", b"", *receiver.admin_key)
    assert pending["hosts"] == ["web-new-02.dc1.example.com"]
    assert asset["claim"] is None, "Cobbler, holding an admin key, vouched for the system: open to its first report"
    # Again: already registered, still exit 0.
    again = subprocess.run([str(trigger), "system", "web-new-02", "10.10.0.52"], capture_output=True, text=True, env=env)
    assert again.returncode == 0 and "already in the inventory" in again.stderr


def test_preenrolled_install_never_uses_the_fleet_key(tmp_path, receiver, http_server):
    """install/pre trigger -> published credential -> %post fetches it -> the first report is
    signed with the host's own credential -> install/post trigger withdraws it."""
    www, http = http_server
    publish_dir = www / "cblr" / "pub" / "assetkit" / "hosts"
    systems = {
        "web-new-04": {"hostname": "web-new-04.dc1.example.com", "system_name": "web-new-04", "assetkit_idc": "dc1"},
        "web_bad": {"hostname": "", "system_name": "web_bad"},
    }
    env = trigger_env(tmp_path, receiver, systems, publish_dir=str(publish_dir))

    def trigger(mode: str, name: str, system: str) -> subprocess.CompletedProcess:
        """The trigger as Cobbler runs it: `<trigger> system <name> <ip>`."""
        return subprocess.run([str(TRIGGERS / mode / name), "system", system, "10.10.0.54"], capture_output=True, text=True, env=env)

    pre = trigger("pre", "assetkit_preenrol", "web-new-04")
    assert pre.returncode == 0 and "pre-enrolled web-new-04.dc1.example.com" in pre.stderr, pre.stderr
    published = publish_dir / "web-new-04.json"
    assert stat.S_IMODE(published.stat().st_mode) == 0o640
    issued = json.loads(published.read_text())
    assert issued["key_id"].startswith("hk_") and issued["secret"]
    assert issued["secret"] not in pre.stdout + pre.stderr
    [asset] = receiver.assets()
    assert (asset["hostname"], asset["idc"]) == ("web-new-04.dc1.example.com", "dc1")
    # A name the receiver refuses (no underscores in host names): logged, nothing published,
    # and the install goes on.
    bad = trigger("pre", "assetkit_preenrol", "web_bad")
    assert bad.returncode == 0 and "receiver refused to pre-enrol web_bad: 422" in bad.stderr, bad.stderr
    assert sorted(p.name for p in publish_dir.iterdir()) == ["web-new-04.json"]

    # The install: no fleet key anywhere, only the system's pre-enrolment.
    root = tmp_path / "root"
    namespace = cobbler_vars(
        hostname="web-new-04.dc1.example.com",
        system_name="web-new-04",
        http_server=http,
        assetkit_server=receiver.url,
        assetkit_preenrol="1",
        assetkit_splay="0s",
        assetkit_root=str(root),
    )
    kickstart = render((COBBLER / "templates" / "sample_assetkit.ks").read_text(), namespace)
    assert issued["secret"] not in kickstart
    result = run_post(post_section(kickstart), tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert issued["secret"] not in output, "the secret reached the install log"
    assert "WARNING" not in output, output
    assert f"host credential {issued['key_id']} written" in output and "first report sent" in output
    etc = root / "etc" / "assetkit"
    assert credential(etc / "host.key") == issued["key_id"]
    assert json.loads((etc / "host.key").read_text()) == issued
    assert not (etc / "key").exists()
    config = (etc / "agent.toml").read_text()
    assert f'host_key_file = "{etc / "host.key"}"' in config and "key_id" not in config
    # The first report landed on the pre-enrolled asset, signed with its credential.
    assert receiver.signers() == [issued["key_id"]]
    [reported] = receiver.assets()
    assert reported["id"] == asset["id"] and reported["hostname"] == "web-new-04.dc1.example.com"
    assert reported["last_mode"] == "agent"

    # The install is over: the post trigger withdraws the published credential.
    post = trigger("post", "assetkit_register", "web-new-04")
    assert post.returncode == 0, post.stderr
    assert "withdrew the published credential of web-new-04" in post.stderr and "already in the inventory" in post.stderr
    assert not published.exists()
    assert not list(publish_dir.iterdir())
