"""The web console in headless Chromium (Debian's chromium + chromium-driver, driven by Selenium)
against a real assetkitd. Every page visited is saved as a screenshot in target/screenshots/."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.error
import urllib.parse
import urllib.request

import pytest

import assetkit
from conftest import REPO, binary, signed_request, start_receiver, stop_receiver

SHOTS = REPO / "target" / "screenshots"
PASSWORD = "correct-horse-battery-staple"


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    # Webhook deliveries give up at the first failure here (24 h by default), so that the
    # dead-letter list can be shown without waiting a day.
    receiver = start_receiver(
        tmp_path_factory.mktemp("console"),
        *("--identity", "hostname", "--webhook-give-up", "0s", "--webhook-poll", "50ms", "--webhook-allow-network", "127.0.0.0/8"),
    )
    # Users created without --role are admins, as they were before roles existed.
    for name, role in (("ops", []), ("victim", []), ("watcher", ["--role", "viewer"])):
        subprocess.run(
            [binary("assetkitd"), "users", "create", name, "--db", str(receiver.db), *role],
            input=PASSWORD + "\n",
            text=True,
            check=True,
            capture_output=True,
        )
    yield receiver
    stop_receiver(receiver)


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium Manager reach the network
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver") or "/usr/lib/chromium/chromedriver"
    if not chromium or not os.path.exists(driver_path):
        pytest.fail("chromium and chromium-driver are needed (apt install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1366,900"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.implicitly_wait(5)
    SHOTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


def shot(driver, name: str) -> None:
    driver.save_screenshot(str(SHOTS / f"{name}.png"))


def by(selector: str):
    from selenium.webdriver.common.by import By

    return By.CSS_SELECTOR, selector


def navigate(driver, action) -> None:
    """Runs `action` (a click or a submit) and waits until the browser has loaded the next page:
    a marker set on the old page's window is gone and the new document is complete."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    driver.execute_script("window.__assetkitOldPage = true;")
    action()
    WebDriverWait(driver, 15, ignored_exceptions=(WebDriverException,)).until(
        lambda d: d.execute_script("return window.__assetkitOldPage !== true && document.readyState === 'complete';")
    )


def log_in(driver, console, user: str, password: str) -> None:
    driver.get(console.url + "/login")
    driver.find_element(*by("#username")).send_keys(user)
    driver.find_element(*by("#password")).send_keys(password)
    navigate(driver, driver.find_element(*by("button[type=submit]")).click)


def report_host(console, hostname: str, serial: str) -> dict:
    report = assetkit.collect(only=["os", "board", "cpu", "memory", "nic"])
    report["host"]["hostname"] = hostname
    report["facts"]["os"]["hostname"] = hostname
    report["facts"]["system"]["serial_number"] = serial
    status, answer = signed_request(console.url, "POST", "/api/v1/reports", json.dumps(report).encode(), *console.agent_key)
    assert status == 200, answer
    return answer


def test_operator_workflow(console, browser):
    answer = report_host(console, "console-web-01", "CONSOLE-SN-1")
    asset_id = answer["asset_id"]

    # The assets page is behind a login.
    browser.get(console.url + "/assets")
    assert "/login" in browser.current_url
    shot(browser, "01-login")
    log_in(browser, console, "ops", PASSWORD)
    assert browser.current_url == console.url + "/", "signing in lands on the dashboard"
    browser.get(console.url + "/assets")
    assert "console-web-01" in browser.find_element(*by("table")).text
    shot(browser, "02-assets")

    # Business units and IDCs come from Settings.
    browser.get(console.url + "/settings")
    for kind, name in (("business_unit", "payments"), ("idc", "dc1")):
        browser.find_element(*by(f"#new-{kind}")).send_keys(name)
        navigate(browser, browser.find_element(*by(f"#new-{kind}")).submit)
        assert "Added." in browser.page_source
    shot(browser, "03-settings")

    # A key created in Settings shows its secret once, and that secret signs reports.
    browser.find_element(*by("#key-name")).send_keys("agents-dc1")
    navigate(browser, browser.find_element(*by("#key-name")).submit)
    flash = browser.find_element(*by("[role=alert]")).text
    key_id = browser.find_element(*by("[role=alert] code")).text
    secret = browser.find_element(*by("#new-secret")).text
    assert key_id.startswith("ak_") and len(secret) >= 32, flash
    report = assetkit.collect(only=["os"])
    report["host"]["hostname"] = report["facts"]["os"]["hostname"] = "console-key-check"
    status, answer = signed_request(console.url, "POST", "/api/v1/reports", json.dumps(report).encode(), key_id, secret)
    assert (status, answer["action"]) == (200, "created"), answer
    browser.get(console.url + "/settings")
    assert key_id in browser.page_source and secret not in browser.page_source

    # The discovered queue shows the new host; assign it.
    browser.get(console.url + "/discovered")
    assert "console-web-01" in browser.page_source
    shot(browser, "04-discovered")
    from selenium.webdriver.support.ui import Select

    browser.find_element(*by(f"input[name=ids][value='{asset_id}']")).click()
    Select(browser.find_element(*by("#business_unit"))).select_by_visible_text("payments")
    Select(browser.find_element(*by("#idc"))).select_by_visible_text("dc1")
    browser.find_element(*by("#rack")).send_keys("R12")
    browser.find_element(*by("#position")).send_keys("U7")
    navigate(browser, browser.find_element(*by("fieldset button[type=submit]")).click)
    assert "Assigned 1 asset(s)" in browser.page_source
    assert "console-web-01" not in browser.find_element(*by("table")).text

    # Its detail page: placement, facts, and the change timeline newest first.
    browser.get(f"{console.url}/assets/{asset_id}")
    page = browser.page_source
    assert "CONSOLE-SN-1" in page
    timeline = [li.text for li in browser.find_elements(*by("ol.timeline li"))]
    assert any("status discovered → online by console:ops" in t for t in timeline), timeline
    assert any("business_unit set to payments by console:ops" in t for t in timeline), timeline
    assert "asset discovered: console-web-01" in timeline[-1]
    assert browser.find_element(*by("#rack")).get_attribute("value") == "R12"
    shot(browser, "05-asset-detail")

    # Manual entry of a host for the sweeps.
    browser.get(console.url + "/assets/new")
    browser.find_element(*by("#hostname")).send_keys("sweep-target-01")
    browser.find_element(*by("#idc")).send_keys("dc1")
    navigate(browser, browser.find_element(*by("form[action='/assets/new'] button")).click)
    assert "Host entered" in browser.page_source
    shot(browser, "06-manual-entry")
    status, pending = signed_request(console.url, "GET", "/api/v1/hosts/pending", b"", *console.admin_key)
    assert pending["hosts"] == ["sweep-target-01"]


def test_import_preview_shows_row_errors_then_applies(console, browser, tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["SN", "Vendor", "Model", "Memory", "IDC", "Rack", "Position", "Purchase date", "Warranty end"])
    sheet.append(["XLSX-1", "Dell", "PowerEdge R650", "512GB", "dc1", "R20", "U3", "2025-01-10", "2030-01-10"])
    sheet.append(["XLSX-1", "Dell", "PowerEdge R650", "512GB", "dc1", "R20", "U5", "2025-01-10", "2030-01-10"])
    sheet.append([None] * 9)
    sheet.append(["XLSX-3", "Dell", "PowerEdge R650", "512GB", "dc1", "R20", "U7", "2025-02-30", None])
    path = tmp_path / "purchase.xlsx"
    book.save(path)

    log_in(browser, console, "ops", PASSWORD)
    browser.get(console.url + "/import")
    browser.find_element(*by("#file")).send_keys(str(path))
    navigate(browser, browser.find_element(*by("form[action='/import'] button")).click)
    summary = browser.find_element(*by("#import-summary")).text
    assert summary == "1 row(s) will be imported, 2 row(s) have errors, 1 empty row(s) skipped.", summary
    rows = browser.find_element(*by("#preview")).text
    assert "serial number XLSX-1 also on line 2" in rows
    assert 'purchase date "2025-02-30" is not a date' in rows
    shot(browser, "07-import-preview")
    navigate(browser, browser.find_element(*by("form[action='/import/apply'] button")).click)
    assert "Imported: 1 asset(s) created in stock, 2 row(s) skipped." in browser.page_source
    shot(browser, "08-import-applied")
    in_stock = console.get("/api/v1/assets?status=in_stock")["assets"]
    assert [a["serial_number"] for a in in_stock] == ["XLSX-1"]
    assert in_stock[0]["rack"] == "R20"


def _session_cookie(browser) -> str:
    return next(c["value"] for c in browser.get_cookies() if c["name"] == "assetkit_session")


def test_post_without_csrf_token_is_refused(console, browser):
    log_in(browser, console, "ops", PASSWORD)
    cookie = _session_cookie(browser)
    before = len(console.assets())
    for body in ({"hostname": "csrf-victim"}, {"hostname": "csrf-victim", "csrf": "0" * 32}):
        request = urllib.request.Request(
            console.url + "/assets/new",
            data=urllib.parse.urlencode(body).encode(),
            headers={"Cookie": f"assetkit_session={cookie}", "Content-Type": "application/x-www-form-urlencoded"},
            method="POST",
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 403
    assert len(console.assets()) == before


def test_wrong_passwords_are_rate_limited(console, browser):
    browser.delete_all_cookies()
    for _ in range(5):
        log_in(browser, console, "victim", "not-the-password")
        assert "Wrong user name or password." in browser.page_source
    # The sixth attempt is refused even with the right password.
    log_in(browser, console, "victim", PASSWORD)
    assert "Too many failed logins" in browser.page_source
    assert "/login" in browser.current_url
    shot(browser, "09-login-rate-limited")
    # Another user is not locked out by it (the address allows more failures, for offices behind NAT).
    log_in(browser, console, "ops", PASSWORD)
    assert browser.current_url == console.url + "/", "signing in lands on the dashboard"


def test_export_buttons_download_the_filtered_list(console, browser, tmp_path):
    from openpyxl import load_workbook
    from selenium.webdriver.support.ui import WebDriverWait

    report_host(console, "export-web-01", "EXPORT-SN-1")
    report_host(console, "export-web-02", "EXPORT-SN-2")
    log_in(browser, console, "ops", PASSWORD)
    browser.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)})
    browser.get(console.url + "/assets?q=export-web-02")
    shot(browser, "10-assets-filtered-export")

    def downloaded(suffix: str):
        done = [p for p in tmp_path.iterdir() if p.suffix == suffix]
        return done[0] if done and not any(p.suffix == ".crdownload" for p in tmp_path.iterdir()) else None

    browser.find_element(*by("#export-csv")).click()
    csv_file = WebDriverWait(browser, 30).until(lambda _: downloaded(".csv"))
    lines = csv_file.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].startswith("id,hostname,serial_number,"), lines[0]
    assert [line.split(",")[1] for line in lines[1:]] == ["export-web-02"], lines
    browser.find_element(*by("#export-xlsx")).click()
    xlsx_file = WebDriverWait(browser, 30).until(lambda _: downloaded(".xlsx"))
    rows = list(load_workbook(xlsx_file, read_only=True)["Assets"].iter_rows(values_only=True))
    assert [r[2] for r in rows[1:]] == ["EXPORT-SN-2"], rows
    # Without a session the export is a login redirect, not the data.
    request = urllib.request.Request(console.url + "/assets/export.csv")
    opener = urllib.request.build_opener(NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as refused:
        opener.open(request)
    assert refused.value.code in (302, 303) and "/login" in refused.value.headers["Location"]


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_a_viewer_sees_no_edit_controls_and_a_forged_edit_is_refused(console, browser):
    answer = report_host(console, "console-view-01", "CONSOLE-SN-V1")
    asset_id = answer["asset_id"]
    browser.delete_all_cookies()
    log_in(browser, console, "watcher", PASSWORD)
    assert browser.find_element(*by("#role")).text == "viewer"
    links = [a.get_attribute("href") for a in browser.find_elements(*by("header nav a"))]
    assert links and not any(h.endswith(("/settings", "/import", "/assets/new")) for h in links), links

    # The asset reads, with its placement as text and no form, and no credential buttons.
    browser.get(f"{console.url}/assets/{asset_id}")
    assert "CONSOLE-SN-V1" in browser.page_source
    assert browser.find_element(*by("#placement-facts")).is_displayed()
    for control in (f"form[action='/assets/{asset_id}']", "#reenrol", "#revoke", "#hostname", "button[type=submit]:not(.secondary)"):
        assert not browser.find_elements(*by(control)), f"a viewer sees {control}"
    shot(browser, "11-viewer-asset")
    browser.get(console.url + "/discovered")
    assert "console-view-01" in browser.page_source
    assert not browser.find_elements(*by("input[name=ids]")) and not browser.find_elements(*by("fieldset"))

    # The edit form posted anyway, with the session's valid CSRF token: the 403 page, nothing saved.
    browser.get(f"{console.url}/assets/{asset_id}")
    csrf = browser.find_element(*by("input[name=csrf]")).get_attribute("value")
    navigate(
        browser,
        lambda: browser.execute_script(
            """
            const form = document.createElement("form");
            form.method = "post";
            form.action = arguments[0];
            for (const [name, value] of Object.entries(arguments[1])) {
                const input = document.createElement("input");
                input.type = "hidden"; input.name = name; input.value = value;
                form.appendChild(input);
            }
            document.body.appendChild(form);
            form.submit();
            """,
            f"/assets/{asset_id}",
            {"csrf": csrf, "hostname": "renamed-by-viewer", "rack": "R99"},
        ),
    )
    assert "Not allowed" in browser.page_source and "Your role, viewer" in browser.page_source
    shot(browser, "12-viewer-refused")
    # The same over plain HTTP: 403, and the asset is as it was.
    request = urllib.request.Request(
        f"{console.url}/assets/{asset_id}",
        data=urllib.parse.urlencode({"csrf": csrf, "hostname": "renamed-by-viewer", "rack": "R99"}).encode(),
        headers={"Cookie": f"assetkit_session={_session_cookie(browser)}", "Content-Type": "application/x-www-form-urlencoded"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 403
    asset = console.get(f"/api/v1/assets/{asset_id}")
    assert (asset["hostname"], asset["rack"]) == ("console-view-01", None), asset
    # Settings are admin-only: the 403 page, no keys.
    browser.get(console.url + "/settings")
    assert "Not allowed" in browser.page_source and "API keys" not in browser.page_source


def test_dashboard_is_the_home_page_and_its_bars_open_the_list(console, browser):
    report_host(console, "dash-web-01", "DASH-SN-1")
    report_host(console, "dash-web-02", "DASH-SN-2")
    browser.delete_all_cookies()
    log_in(browser, console, "ops", PASSWORD)
    assert browser.current_url == console.url + "/", "signing in lands on the dashboard"
    charts = browser.find_elements(*by("svg.chart"))
    assert len(charts) == 7, [c.get_attribute("aria-label") for c in charts]
    # The browser drew every chart: each has a laid-out box (no CSP refusal, no parse error).
    assert all(c.size["width"] > 200 and c.size["height"] > 50 for c in charts)
    browser.set_window_size(1366, 1900)  # the whole page in one picture
    shot(browser, "11-dashboard")
    browser.set_window_size(1366, 900)

    # The "discovered" bar says how many, and opens the list of exactly those.
    bar = browser.find_element(*by("svg[aria-label='Assets by status'] a[href='/assets?status=discovered']"))
    shown = int(bar.get_attribute("aria-label").rsplit(": ", 1)[1])
    assert shown >= 2
    navigate(browser, bar.click)
    assert browser.current_url == console.url + "/assets?status=discovered"
    assert f"{shown} asset(s)" in browser.page_source
    assert "dash-web-02" in browser.find_element(*by("table")).text
    shot(browser, "12-dashboard-bar-to-list")


class _Endpoint:
    """A local webhook endpoint: records every POST, answers `status`."""

    def __init__(self):
        import http.server
        import threading

        endpoint = self
        self.status = 500
        self.received: list[tuple[dict, bytes]] = []
        self.arrived = threading.Condition()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with endpoint.arrived:
                    endpoint.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                    endpoint.arrived.notify_all()
                self.send_response(endpoint.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/console"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, n: int) -> list[tuple[dict, bytes]]:
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.received) >= n, timeout=30), self.received
            return list(self.received)

    def close(self):
        self.server.shutdown()


def test_an_admin_adds_a_webhook_and_redelivers_a_dead_delivery(console, browser):
    import hashlib
    import hmac

    from selenium.webdriver.support.ui import Select, WebDriverWait

    endpoint = _Endpoint()
    try:
        log_in(browser, console, "ops", PASSWORD)
        browser.get(console.url + "/settings")
        browser.find_element(*by("#hook-url")).send_keys(endpoint.url)
        Select(browser.find_element(*by("#hook-events"))).select_by_value("asset.discovered")
        navigate(browser, browser.find_element(*by("#hook-url")).submit)
        # A generated secret is shown once, like an API key's.
        hook_id = browser.find_element(*by("[role=alert] code")).text
        secret = browser.find_element(*by("#new-secret")).text
        assert hook_id.isdigit() and len(secret) >= 32
        # Shown as scheme, host and port: a path can be a credential.
        shown = endpoint.url.split("/hooks/")[0] + "/…"
        assert shown in browser.find_element(*by("#webhook-list")).text
        assert "/hooks" not in browser.find_element(*by("#webhook-list")).text
        assert endpoint.url not in browser.page_source, "the full URL is shown"
        browser.execute_script("document.getElementById('webhooks').scrollIntoView()")
        shot(browser, "30-webhook-added")

        # The endpoint fails: with --webhook-give-up 0s the first failure is final.
        report_host(console, "console-hook-01", "CONSOLE-HOOK-1")
        first = endpoint.wait_for(1)
        WebDriverWait(browser, 30).until(lambda d: d.get(console.url + "/settings") or "dead-list" in d.page_source)
        dead = browser.find_element(*by("#dead-list")).text
        assert "asset.discovered" in dead and "HTTP 500" in dead, dead
        browser.execute_script("document.getElementById('dead-letters').scrollIntoView()")
        shot(browser, "31-webhook-dead")

        endpoint.status = 204
        navigate(browser, browser.find_element(*by("#dead-list button")).click)
        assert "queued again" in browser.page_source
        headers, body = endpoint.wait_for(2)[1]
        assert headers["x-assetkit-event-id"] == first[0][0]["x-assetkit-event-id"]
        signed = headers["x-assetkit-timestamp"].encode() + b"." + body
        expected = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(expected, headers["x-assetkit-signature"])
        event = json.loads(body)
        assert (event["type"], event["asset"]["hostname"]) == ("asset.discovered", "console-hook-01")
        WebDriverWait(browser, 30).until(lambda d: d.get(console.url + "/settings") or "no-dead" in d.page_source)

        # Removed, it receives nothing more.
        browser.execute_script("window.confirm = () => true;")  # answer the page's "Remove webhook ...?"
        navigate(browser, browser.find_element(*by("#webhook-list button.danger")).click)
        assert f"Webhook {hook_id} removed" in browser.page_source
    finally:
        endpoint.close()



def test_a_claim_on_a_hand_entered_host_waits_for_an_admin(console, browser):
    log_in(browser, console, "ops", PASSWORD)
    browser.get(console.url + "/assets/new")
    browser.find_element(*by("#hostname")).send_keys("claimed-by-hand-01")
    navigate(browser, browser.find_element(*by("form[action='/assets/new'] button")).click)
    assert "Host entered" in browser.page_source

    # A fleet-key report naming it is refused until an admin approves the claim.
    report = assetkit.collect(only=["os", "board"])
    report["host"]["hostname"] = report["facts"]["os"]["hostname"] = "claimed-by-hand-01"
    report["facts"]["system"]["serial_number"] = "CLAIM-SN-1"
    body = json.dumps(report).encode()
    status, answer = signed_request(console.url, "POST", "/api/v1/reports", body, *console.agent_key)
    assert (status, answer["error"]["code"]) == (403, "approval_required"), answer

    browser.get(console.url + "/discovered")
    waiting = browser.find_element(*by("#claims")).text
    assert "claimed-by-hand-01" in waiting and "CLAIM-SN-1" in waiting, waiting
    shot(browser, "40-claims-waiting")
    link = browser.find_element(*by("#claims td a"))
    asset_id = int(link.get_attribute("href").rsplit("/", 1)[1])
    navigate(browser, link.click)
    assert "A claim waits" in browser.find_element(*by("#claim")).text
    navigate(browser, browser.find_element(*by("#approve")).click)
    assert "Claim approved" in browser.find_element(*by("[role=status]")).text
    shot(browser, "41-claim-approved")

    status, answer = signed_request(console.url, "POST", "/api/v1/reports", body, *console.agent_key)
    assert (status, answer["asset_id"]) == (200, asset_id), answer
    browser.get(f"{console.url}/assets/{asset_id}")
    assert browser.find_elements(*by("#approve")) == []



def _report_with_packages(console, hostname: str, serial: str, packages: list[tuple[str, str]]) -> int:
    report = assetkit.collect(only=["os", "board"])
    report["host"]["hostname"] = report["facts"]["os"]["hostname"] = hostname
    report["facts"]["system"]["serial_number"] = serial
    report["facts"]["packages"] = [
        {"manager": "deb", "name": name, "version": version, "arch": "amd64"} for name, version in packages
    ]
    status, answer = signed_request(console.url, "POST", "/api/v1/reports", json.dumps(report).encode(), *console.agent_key)
    assert status == 200, answer
    return answer["asset_id"]


def test_the_software_page_counts_lead_to_exactly_those_hosts(console, browser):
    base = [("libc6", "2.36-9+deb12u3"), ("libstdc++6", "12.2.0-14")]
    ids = {
        _report_with_packages(console, "sw-old-01", "SW-OLD-1", base + [("openssl", "3.0.9-1")]),
        _report_with_packages(console, "sw-old-02", "SW-OLD-2", base + [("openssl", "3.0.11-1~deb12u1")]),
    }
    new_id = _report_with_packages(console, "sw-new-01", "SW-NEW-1", base + [("openssl", "3.0.13-1~deb12u1")])

    log_in(browser, console, "watcher", PASSWORD)  # a viewer may look
    browser.get(console.url + "/software")
    browser.find_element(*by("#q")).send_keys("openssl")
    navigate(browser, browser.find_element(*by("form[action='/software'] button")).click)
    row = browser.find_element(*by("#software tbody tr"))
    assert "openssl" in row.text and "3.0.13-1~deb12u1" in row.text, row.text
    shot(browser, "50-software")
    # The name's count, then one version's count, each opens exactly its hosts.
    navigate(browser, row.find_element(*by("td.num a.count")).click)
    listed = browser.find_element(*by("table")).text
    assert all(h in listed for h in ("sw-old-01", "sw-old-02", "sw-new-01")), listed
    assert "Hosts with openssl (deb)" in browser.find_element(*by("#package-filter")).text
    browser.back()
    version_link = browser.find_element(*by("#software ul.versions li a.count"))
    assert version_link.text == "1"
    navigate(browser, version_link.click)
    rows = browser.find_elements(*by("table tbody tr"))
    assert len(rows) == 1 and "sw-new-01" in rows[0].text, [r.text for r in rows]
    shot(browser, "51-software-version-hosts")

    # The API's version filters in dpkg order: 3.0.9 is older than 3.0.13 (string order says
    # otherwise), and 3.0.13-1~deb12u1 is newer than 3.0.13 but older than 3.0.13-1 (a tilde
    # sorts before the end).
    status, page = signed_request(console.url, "GET", "/api/v1/assets?package=openssl&version_lt=3.0.13", b"", *console.admin_key)
    assert status == 200 and {a["id"] for a in page["assets"]} == ids, page
    status, page = signed_request(console.url, "GET", "/api/v1/assets?package=openssl&version_lt=3.0.13-1", b"", *console.admin_key)
    assert status == 200 and {a["id"] for a in page["assets"]} == ids | {new_id}, page

    # The asset page's Packages tab: the list (a name with '+' links right) and the history.
    browser.get(f"{console.url}/assets/{new_id}")
    assert browser.find_element(*by("nav.tabs a[href='#packages']")).text == "Packages (3)"
    browser.find_element(*by("#package-list summary")).click()
    table = browser.find_element(*by("#package-list table")).text
    assert "libstdc++6" in table and "3.0.13-1~deb12u1" in table, table
    href = browser.find_element(*by("#package-list a[href*='libstdc']")).get_attribute("href")
    assert "package=libstdc%2B%2B6" in href, href
    history = browser.find_element(*by("#package-history")).text
    assert "package inventory taken: 3 packages (deb)" in history, history
    shot(browser, "52-asset-packages")


def test_a_signed_in_browser_gets_console_pages_for_404_and_405_and_api_clients_keep_json(console, browser):
    log_in(browser, console, "ops", PASSWORD)
    for path, title in (("/settings/webhooks", "Not a page"), ("/no-such-page", "Not found")):
        browser.get(console.url + path)
        assert browser.find_element(*by("h1")).text == title, browser.page_source
        nav = browser.find_element(*by("nav[aria-label=Main]")).text
        assert "Settings" in nav and "Assets" in nav, nav
        assert "method_not_allowed" not in browser.page_source and "not_found" not in browser.page_source
        shot(browser, f"50-{title.lower().replace(' ', '-')}")
    # An API client (a path under /api/, or Accept: application/json) keeps the JSON error.
    cookie = _session_cookie(browser)
    for path, accept, status, code in (
        ("/settings/webhooks", "application/json", 405, "method_not_allowed"),
        ("/api/v1/nope", "text/html", 404, "not_found"),
    ):
        request = urllib.request.Request(console.url + path, headers={"Accept": accept, "Cookie": f"assetkit_session={cookie}"})
        with pytest.raises(urllib.error.HTTPError) as answer:
            urllib.request.urlopen(request, timeout=10)
        assert answer.value.code == status
        assert json.loads(answer.value.read())["error"]["code"] == code


def test_an_admin_manages_users_in_settings_and_each_change_is_audited(console, browser):
    from selenium.webdriver.support.ui import Select

    log_in(browser, console, "ops", PASSWORD)
    browser.get(console.url + "/settings")
    browser.find_element(*by("#user-name")).send_keys("newbie")
    Select(browser.find_element(*by("#user-role"))).select_by_value("operator")
    navigate(browser, browser.find_element(*by("#user-add button")).click)
    # A generated password is shown once.
    assert browser.find_element(*by("[role=alert] code")).text == "newbie"
    password = browser.find_element(*by("#new-secret")).text
    assert len(password) >= 16
    shot(browser, "51-user-created")

    log_in(browser, console, "newbie", password)
    assert browser.find_element(*by("#role")).text == "operator"

    log_in(browser, console, "ops", PASSWORD)
    browser.get(console.url + "/settings")
    Select(browser.find_element(*by("#role-newbie"))).select_by_value("viewer")
    navigate(browser, browser.find_element(*by("#role-newbie + button")).click)
    assert "newbie is now viewer (was operator)" in browser.page_source
    browser.execute_script("window.confirm = () => true;")  # answer "Disable newbie? ..."
    row = [r for r in browser.find_elements(*by("#users tbody tr")) if r.text.startswith("newbie")][0]
    navigate(browser, row.find_element(*by("form[action='/settings/users/disable'] button")).click)
    assert "User newbie disabled" in browser.page_source
    audit = browser.find_element(*by("main")).text
    for action in ("user.create", "user.role", "user.disable"):
        assert action in audit, audit
    assert "console:ops" in audit
    shot(browser, "52-user-disabled")

    # Disabled: the password no longer signs in.
    browser.get(console.url + "/login")
    browser.find_element(*by("#username")).send_keys("newbie")
    browser.find_element(*by("#password")).send_keys(password)
    navigate(browser, browser.find_element(*by("button[type=submit]")).click)
    assert "/login" in browser.current_url


def _report_machine(console, hostname: str, serial: str, uuid: str, guests: list | None = None) -> int:
    report = assetkit.collect(only=["os", "board"])
    report["host"]["hostname"] = report["facts"]["os"]["hostname"] = hostname
    report["facts"]["system"]["serial_number"] = serial
    report["facts"]["system"]["uuid"] = uuid
    if guests is not None:
        report["facts"]["guests"] = guests
    status, answer = signed_request(console.url, "POST", "/api/v1/reports", json.dumps(report).encode(), *console.agent_key)
    assert status == 200, answer
    return answer["asset_id"]


def test_a_hypervisors_guests_a_vms_host_and_an_operator_editing_ownership(console, browser):
    status, answer = signed_request(
        console.url, "POST", "/api/v1/fields", json.dumps({"name": "cost_centre", "type": "integer"}).encode(), *console.admin_key
    )
    assert status == 201, answer
    vm_uuid, silent_uuid = "6f1c2b9e-0000-4000-8000-00000000c0de", "6f1c2b9e-0000-4000-8000-00000000beef"
    guest = lambda name, uuid: {  # noqa: E731
        "name": name, "uuid": uuid, "kind": "vm", "source": "libvirt", "id": None, "vcpus": 2, "memory_bytes": 4 << 30, "state": "running"
    }
    hv = _report_machine(
        console, "hv-console-01", "HV-CON-1", "6f1c2b9e-0000-4000-8000-000000000001",
        [guest("vm-console-01", vm_uuid), guest("no-agent-vm", silent_uuid)],
    )
    vm = _report_machine(console, "vm-console-01", "VM-CON-1", vm_uuid)

    log_in(browser, console, "ops", PASSWORD)
    browser.get(f"{console.url}/assets/{hv}")
    rows = {r.find_element(*by("td")).text: r for r in browser.find_elements(*by("table[aria-labelledby='guests'] tbody tr"))}
    assert set(rows) == {"vm-console-01", "no-agent-vm"}, list(rows)
    assert "not reporting" in rows["no-agent-vm"].text and silent_uuid in rows["no-agent-vm"].text
    shot(browser, "60-hypervisor-guests")
    navigate(browser, rows["vm-console-01"].find_element(*by("a")).click)
    assert browser.current_url.endswith(f"/assets/{vm}")
    host_link = browser.find_element(*by("#hypervisor a"))
    assert host_link.text == "hv-console-01" and host_link.get_attribute("href").endswith(f"/assets/{hv}")

    # The operator sets owner, tags and a custom field; a value not of the field's type is refused whole.
    form = browser.find_element(*by("#ownership-form"))
    form.find_element(*by("#owner_name")).send_keys("Payments SRE")
    form.find_element(*by("#tags")).send_keys("web, pci")
    form.find_element(*by("#cf_cost_centre")).send_keys("4711")
    navigate(browser, form.find_element(*by("button[type=submit]")).click)
    assert "Saved" in browser.find_element(*by("body")).text
    shot(browser, "61-ownership-saved")
    status, detail = signed_request(console.url, "GET", f"/api/v1/assets/{vm}", b"", *console.admin_key)
    assert status == 200 and detail["owner"]["name"] == "Payments SRE", detail
    assert detail["tags"] == ["pci", "web"] and detail["fields"] == {"cost_centre": 4711}, detail
    # The tag filter from the list finds it.
    browser.get(console.url + "/assets?tag=pci")
    listed = browser.find_elements(*by("table tbody tr"))
    assert [r.find_element(*by("td")).text for r in listed] == ["vm-console-01"]
    assert "tag = pci" in browser.find_element(*by("#narrowing")).text
