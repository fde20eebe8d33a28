"""Takedown cases, exports and pictures end to end in Chromium (Selenium through chromedriver).

Same rules as test_console_browser: required with CI=true, skipped with the reason elsewhere when
Chromium or chromedriver is missing; screenshots go to the test's tmp dir, never the repository.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

from tests.leakmon.commands.seed import Seeded, seed
from tests.leakmon.web.console import add_users, audit_rows
from tests.leakmon.web.test_console_browser import (  # noqa: F401 (fixtures)
    _shot,
    _sign_in,
    _submit,
    _wait_for_file,
    browser,
    db_url,
    served,
)
from tests.leakmon.workflows.world import SECRET_VALUES, Db


def _download(driver: Any, link: Any) -> Path:
    for old in driver.downloads.iterdir():
        old.unlink()
    link.click()
    return _wait_for_file(driver.downloads)


def _no_secrets(data: bytes) -> None:
    """Search a download (and every member when it is a ZIP, as XLSX is) for a protected value."""
    texts = [data.decode("utf-8", "replace")]
    if data.startswith(b"PK"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            texts += [archive.read(name).decode("utf-8", "replace") for name in archive.namelist()]
    for text in texts:
        for secret in SECRET_VALUES:
            assert secret not in text


def test_takedown_exports_pictures_in_chromium(cli_db: Db, served: str, browser: Any, tmp_path: Path) -> None:  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    s: Seeded = seed(cli_db)
    add_users(cli_db)
    shots = tmp_path / "screenshots"

    # A responder opens a case from the incident's post, moves it, reads a draft, downloads the bundle.
    _sign_in(browser, served, "responder")
    browser.get(f"{served}/takedown")
    browser.find_element(By.ID, "open-incident").send_keys(str(s.incident))
    _submit(browser, browser.find_element(By.CSS_SELECTOR, "#open-from button"))
    _shot(browser, shots, "takedown-open")
    row = f'tr[data-post="{s.leak_post}"]'
    _submit(browser, browser.find_element(By.CSS_SELECTOR, f"{row} button.open-case"))
    case_id = int(browser.current_url.rsplit("/", 1)[1])
    assert browser.find_element(By.ID, "case-state").text == "열림"
    Select(browser.find_element(By.ID, "move-state")).select_by_value("requested")
    browser.find_element(By.ID, "move-note").send_keys("abuse@telegram.org")
    _submit(browser, browser.find_element(By.ID, "move"))
    assert browser.current_url == f"{served}/takedown/{case_id}"
    assert browser.find_element(By.ID, "case-state").text == "요청함"
    _shot(browser, shots, "takedown-case")
    _submit(browser, browser.find_element(By.ID, "draft-kisa"))
    assert "jebo@pirst.kr" in browser.find_element(By.ID, "draft").text
    _shot(browser, shots, "takedown-draft")
    browser.get(f"{served}/takedown/{case_id}")
    bundle = _download(browser, browser.find_element(By.ID, "bundle"))
    assert bundle.name == f"takedown-case-{case_id}-evidence.zip"
    _no_secrets(bundle.read_bytes())
    assert ("responder", "takedown_state", f"case {case_id}") in audit_rows(cli_db)
    assert ("responder", "takedown_bundle", f"case {case_id}") in audit_rows(cli_db)

    # Exports: the XLSX of affected subjects and the STIX bundle, each audited with the user.
    browser.get(f"{served}/exports")
    _shot(browser, shots, "exports")
    export_row = f'tr[data-incident="{s.incident}"]'
    xlsx = _download(browser, browser.find_element(By.CSS_SELECTOR, f"{export_row} a.export-xlsx"))
    assert xlsx.name == f"affected-incident-{s.incident}.xlsx"
    _no_secrets(xlsx.read_bytes())
    stix = _download(browser, browser.find_element(By.CSS_SELECTOR, f"{export_row} a.export-stix"))
    _no_secrets(stix.read_bytes())
    exports = [r for r in audit_rows(cli_db) if r[1].startswith("export_")]
    assert exports == [
        ("responder", "export_affected", f"incident {s.incident}"),
        ("responder", "export_incident", f"incident {s.incident}"),
    ]
    browser.get(f"{served}/charts")
    assert len(browser.find_elements(By.CSS_SELECTOR, "figure.chart svg")) == 5
    _shot(browser, shots, "charts")
    browser.get(f"{served}/sources")
    _shot(browser, shots, "sources-page")

    # A viewer sees the pictures but is refused every export: no file, no audit entry.
    for old in browser.downloads.iterdir():
        old.unlink()
    _sign_in(browser, served, "viewer")
    for path in ("/exports", f"/incidents/{s.incident}/affected.xlsx", f"/incidents/{s.incident}/misp.json"):
        browser.get(f"{served}{path}")
        assert "권한이 없습니다." in browser.find_element(By.ID, "message").text
    _shot(browser, shots, "viewer-refused-export")
    assert not list(browser.downloads.iterdir())
    assert not [r for r in audit_rows(cli_db) if r[0] == "viewer" and r[1].startswith("export_")]
    print(f"screenshots: {shots}")
