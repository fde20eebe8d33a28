"""The console end to end in a real browser: Debian's Chromium driven by Selenium through chromedriver.

Required with CI=true (.ci/run installs chromium and chromium-driver); skipped elsewhere when they are
missing. Screenshots of the main pages go to the test's tmp dir (never the repository).
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from leakmon.app import App
from leakmon.web.app import create_app
from leakmon.workflows.takedown import open_case
from tests.conftest import IN_CI
from tests.leakmon.commands.seed import Seeded, seed
from tests.leakmon.web.console import PASSWORD, add_users, audit_rows
from tests.leakmon.workflows.world import SECRET_VALUES, Db

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1000",
)


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """The browser leg runs on SQLite (the HTTP tests cover PostgreSQL)."""
    return f"sqlite:///{tmp_path / 'leakmon.db'}"


@pytest.fixture
def browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        reason = "Chromium and chromedriver are missing (apt-get install chromium chromium-driver)"
        if IN_CI:
            pytest.fail(f"CI=true: {reason}")
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    monkeypatch.setenv("SE_OFFLINE", "true")  # Selenium Manager must never fetch a driver
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options.add_experimental_option(
        "prefs", {"download.default_directory": str(downloads), "download.prompt_for_download": False}
    )
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    driver.downloads = downloads
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def served(cli_db: Db) -> Iterator[str]:
    """The console on a free loopback port, as `leakmon web` serves it (Secure cookies on loopback)."""
    import uvicorn

    app = App()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(app, secure_cookies=True), log_level="warning"))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        app.close()


def _sign_in(driver: Any, base: str, name: str) -> None:
    from selenium.webdriver.common.by import By

    driver.delete_all_cookies()
    driver.get(f"{base}/login")
    driver.find_element(By.ID, "name").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    _submit(driver, driver.find_element(By.ID, "sign-in"))
    assert driver.current_url == f"{base}/incidents", driver.page_source


def _submit(driver: Any, button: Any) -> None:
    """Click a form's button and wait until the next page replaced this one."""
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    button.click()
    WebDriverWait(driver, 20).until(expected_conditions.staleness_of(button))


def _subjects(driver: Any, base: str, incident: int) -> int:
    from selenium.webdriver.common.by import By

    driver.get(f"{base}/incidents")
    row = driver.find_element(By.CSS_SELECTOR, f'tr[data-incident="{incident}"] td.subjects')
    return int(row.text)


def _shot(driver: Any, folder: Path, name: str) -> None:
    folder.mkdir(exist_ok=True)
    driver.save_screenshot(str(folder / f"{name}.png"))
    for secret in SECRET_VALUES:
        assert secret not in driver.page_source


def _wait_for_file(folder: Path) -> Path:
    for _ in range(200):
        done = [p for p in folder.iterdir() if not p.name.endswith(".crdownload")]
        if done:
            return done[0]
        time.sleep(0.05)
    raise AssertionError(f"no download in {folder}")


def test_triage_takedown_export_in_chromium(
    cli_db: Db, served: str, browser: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    s: Seeded = seed(cli_db)
    add_users(cli_db)
    with cli_db.sessions.begin() as session:
        case_id = open_case(session, s.leak_post, actor="tester")[0].id
    with cli_db.engine.connect() as connection:
        hit_ids = [
            int(row[0])
            for row in connection.execute(
                text("SELECT h.id FROM hits h JOIN subjects s ON s.id = h.subject_id WHERE s.subject_ref = 'cust-004'")
            )
        ]
    shots = tmp_path / "screenshots"

    # An analyst labels one subject's hits as test data: the incident's subject count drops by one.
    _sign_in(browser, served, "analyst")
    before = _subjects(browser, served, s.incident)
    _shot(browser, shots, "incidents")
    browser.get(f"{served}/hits?incident={s.incident}")
    _shot(browser, shots, "hits")
    for hit_id in hit_ids:
        browser.find_element(By.ID, f"hit-{hit_id}").click()
    Select(browser.find_element(By.ID, "label")).select_by_value("test_data")
    browser.find_element(By.ID, "note").send_keys("synthetic")
    _submit(browser, browser.find_element(By.ID, "apply-label"))
    labels = browser.find_elements(By.CSS_SELECTOR, f'tr[data-hit="{hit_ids[0]}"] td.label')
    assert labels[0].text == "테스트 데이터"
    assert _subjects(browser, served, s.incident) == before - 1
    browser.get(f"{served}/incidents/{s.incident}")
    _shot(browser, shots, "incident")

    # A responder moves the takedown case and downloads the affected-subject export.
    _sign_in(browser, served, "responder")
    browser.get(f"{served}/takedown")
    row = f'tr[data-case="{case_id}"]'
    Select(browser.find_element(By.CSS_SELECTOR, f"{row} select")).select_by_value("requested")
    _submit(browser, browser.find_element(By.CSS_SELECTOR, f"{row} button"))
    assert browser.find_element(By.CSS_SELECTOR, f"{row} td.state").text == "요청함"
    _shot(browser, shots, "takedown")
    browser.get(f"{served}/incidents/{s.incident}")
    browser.find_element(By.ID, "export").click()
    exported = _wait_for_file(browser.downloads)
    body = exported.read_text(encoding="utf-8-sig")
    assert "cust-001" in body
    assert "cust-004" not in body  # labelled test data: not an affected subject
    for secret in SECRET_VALUES:
        assert secret not in body
    assert ("responder", "export_affected", f"incident {s.incident}") in audit_rows(cli_db)
    browser.get(f"{served}/sources")
    _shot(browser, shots, "sources")

    # A viewer is refused the export, and nothing is downloaded or audited for them.
    exported.unlink()
    _sign_in(browser, served, "viewer")
    browser.get(f"{served}/incidents/{s.incident}")
    assert not browser.find_elements(By.ID, "export")
    browser.get(f"{served}/incidents/{s.incident}/affected.csv")
    assert "권한이 없습니다." in browser.find_element(By.ID, "message").text
    _shot(browser, shots, "viewer-refused")
    assert not list(browser.downloads.iterdir())
    assert not [r for r in audit_rows(cli_db) if r[0] == "viewer" and r[1] == "export_affected"]
    assert ("analyst", "label_hit", f"hit {hit_ids[0]}") in audit_rows(cli_db)
    print(f"screenshots: {shots}")


def _incident_subjects(driver: Any, base: str, incident: int) -> int:
    from selenium.webdriver.common.by import By

    driver.get(f"{base}/incidents/{incident}")
    return int(driver.find_element(By.ID, "subjects").text)


def test_label_then_undo_and_flag_an_incident_in_chromium(
    cli_db: Db, served: str, browser: Any, tmp_path: Path
) -> None:
    """An analyst labels a subject's hits from the incident's hit list and undoes it (the incident's
    count drops and comes back); a responder sets the intrusion flag from the incident page."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    s: Seeded = seed(cli_db)
    add_users(cli_db)
    with cli_db.engine.connect() as connection:
        hit_ids = [
            int(row[0])
            for row in connection.execute(
                text("SELECT h.id FROM hits h JOIN subjects s ON s.id = h.subject_id WHERE s.subject_ref = 'cust-004'")
            )
        ]
    shots = tmp_path / "screenshots"

    def pick(label: str | None = None) -> None:
        """From the incident page to its hits, the subject's hits ticked (and a label chosen)."""
        browser.get(f"{served}/incidents/{s.incident}")
        browser.find_element(By.ID, "incident-hits").click()
        for hit_id in hit_ids:
            browser.find_element(By.ID, f"hit-{hit_id}").click()
        if label is not None:
            Select(browser.find_element(By.ID, "label")).select_by_value(label)

    _sign_in(browser, served, "analyst")
    before = _incident_subjects(browser, served, s.incident)
    pick("confirmed")
    _submit(browser, browser.find_element(By.ID, "apply-label"))
    assert _incident_subjects(browser, served, s.incident) == before
    pick()
    _submit(browser, browser.find_element(By.ID, "undo-label"))
    pick("false_positive")
    _submit(browser, browser.find_element(By.ID, "apply-label"))
    assert _incident_subjects(browser, served, s.incident) == before - 1
    _shot(browser, shots, "incident-after-label")
    browser.get(f"{served}/hits/rules")
    assert len(browser.find_elements(By.CSS_SELECTOR, "tr[data-rule]")) == len(hit_ids)
    _shot(browser, shots, "rules")
    pick()
    _submit(browser, browser.find_element(By.ID, "undo-label"))
    label = browser.find_element(By.CSS_SELECTOR, f'tr[data-hit="{hit_ids[0]}"] td.label').text
    assert label == "미분류"
    assert _incident_subjects(browser, served, s.incident) == before
    browser.get(f"{served}/hits/rules")
    assert not browser.find_elements(By.CSS_SELECTOR, "tr[data-rule]")  # the undone false positives took them
    browser.get(f"{served}/hits/{hit_ids[0]}")
    _shot(browser, shots, "hit")

    _sign_in(browser, served, "responder")
    browser.get(f"{served}/incidents/{s.incident}")
    _submit(browser, browser.find_element(By.ID, "set-intrusion"))
    assert browser.find_element(By.ID, "intrusion").text == "예"
    assert "침해사고" in browser.find_element(By.ID, "report").text
    _shot(browser, shots, "incident-intrusion")
    actions = [(r[0], r[1]) for r in audit_rows(cli_db)]
    assert actions.count(("analyst", "label_hit")) == 2 * len(hit_ids)
    assert actions.count(("analyst", "unlabel_hit")) == 2 * len(hit_ids)
    assert ("responder", "set_incident") in actions
    print(f"screenshots: {shots}")
