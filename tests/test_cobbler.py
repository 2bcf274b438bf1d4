"""Cobbler: the snippet rendered by Cheetah as Cobbler renders it, then executed under bash
against a real HTTP server and a real assetkitd; shellcheck on the rendered output; the
server-side trigger."""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import stat
import subprocess
import threading
from pathlib import Path

import pytest
from Cheetah.Template import Template

from conftest import REPO, binary

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
    # The test harness itself catches a typo'd variable, as Cobbler's error catcher would.
    with pytest.raises(Unresolved):
        render("echo $assetkit_sever\n", cobbler_vars())


def test_cobbler_templar_renders_the_same():
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
    for meta in ({}, {"assetkit_server": "https://cmdb:8600", "assetkit_key_id": "ak_1", "assetkit_key_url": "http://127.0.0.1/k"}):
        namespace = cobbler_vars(autoinstall_snippets_dir=str(COBBLER / "snippets"), **meta)
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
    # Registered under the name it was installed as, though the running hostname differs.
    running = open("/proc/sys/kernel/hostname").read().strip()
    assert running != "web-new-01.dc1.example.com"
    [asset] = receiver.assets()
    assert asset["hostname"] == "web-new-01.dc1.example.com"
    assert asset["reported_hostname"] == running


def test_rendered_post_is_shellcheck_clean(tmp_path):
    for meta in ({}, {"assetkit_server": "https://cmdb:8600", "assetkit_key_id": "ak_1", "assetkit_key": "aks_x"}):
        post = post_section(render((COBBLER / "templates" / "sample_assetkit.ks").read_text(), cobbler_vars(**meta)))
        path = tmp_path / "post.sh"
        path.write_text("#!/bin/bash\n" + post)
        out = subprocess.run(["shellcheck", "-s", "bash", str(path)], capture_output=True, text=True)
        assert out.returncode == 0, out.stdout
    script = render((COBBLER / "scripts" / "assetkit_post.sh").read_text(), cobbler_vars())
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


def test_install_trigger_registers_the_system(tmp_path, receiver):
    # The Cobbler server cannot run here; its CLI is the one thing stubbed: `cobbler system
    # dumpvars` prints what a real server prints for the system.
    stub = tmp_path / "bin" / "cobbler"
    stub.parent.mkdir()
    stub.write_text(
        "#!/bin/sh\n[ \"$1 $2 $3\" = 'system dumpvars --name=web-new-02' ] || exit 1\n"
        "printf 'hostname : web-new-02.dc1.example.com\\nsystem_name : web-new-02\\nassetkit_idc : dc1\\nassetkit_rack : R07\\n'\n"
    )
    stub.chmod(0o755)
    key = tmp_path / "admin.key"
    key.write_text(receiver.admin_key[1])
    key.chmod(0o600)
    config = tmp_path / "trigger.toml"
    config.write_text(f'server = "{receiver.url}"\nkey_id = "{receiver.admin_key[0]}"\nkey_file = "{key}"\n')
    env = {**os.environ, "PATH": f"{stub.parent}:{os.environ['PATH']}", "ASSETKIT_TRIGGER_CONFIG": str(config)}
    trigger = COBBLER / "triggers" / "install" / "post" / "assetkit_register"
    out = subprocess.run([str(trigger), "system", "web-new-02", "10.10.0.52"], capture_output=True, text=True, env=env)
    assert out.returncode == 0 and "registered web-new-02.dc1.example.com" in out.stderr, out.stderr
    [asset] = receiver.assets()
    assert (asset["hostname"], asset["idc"], asset["rack"]) == ("web-new-02.dc1.example.com", "dc1", "R07")
    # It is now pending: an SSH sweep will collect it.
    status, pending = __import__("conftest").signed_request(receiver.url, "GET", "/api/v1/hosts/pending", b"", *receiver.agent_key)
    assert pending["hosts"] == ["web-new-02.dc1.example.com"]
    # Again: already registered, still exit 0.
    again = subprocess.run([str(trigger), "system", "web-new-02", "10.10.0.52"], capture_output=True, text=True, env=env)
    assert again.returncode == 0 and "already in the inventory" in again.stderr
