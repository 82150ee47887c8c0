"""Fixtures of the browser tier: a sample warehouse, the report app on a free port in a real
uvicorn server thread, and headless Chromium driven by Selenium through Debian's chromedriver
(nothing is downloaded). Without chromium/chromedriver the tests skip with a message, or fail
under HUIJU_REQUIRE_SERVICES=1 (CI installs them: .ci/run)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
import uvicorn

from reports.app import create_app
from tests.browser import sample
from warehouse.engine import create_warehouse_engine
from warehouse.migrate import upgrade

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
SECRET = "test-secret-" + "s" * 40


@dataclass
class Served:
    url: str
    app: object
    engine: sa.Engine
    broken: tuple[str, str, str]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve(app, port: int) -> tuple[uvicorn.Server, threading.Thread]:
    """Run ``app`` in a uvicorn server thread on ``port``; returns once it accepts."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the report server did not start")
        time.sleep(0.05)
    return server, thread


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[Served]:
    """The sample warehouse (one batch of B broken) served by the app on a free port."""
    home = tmp_path_factory.mktemp("reports")
    engine = create_warehouse_engine(f"sqlite:///{home}/warehouse/huiju.db")
    upgrade(engine)
    sample.build(engine)
    broken = sample.break_batch(engine)
    app = create_app(engine, secret=SECRET)
    port = free_port()
    server, thread = serve(app, port)
    yield Served(f"http://127.0.0.1:{port}", app, engine, broken)
    server.should_exit = True
    thread.join(timeout=10)
    engine.dispose()


def _need_browser() -> None:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not shutil.which(p)]
    if missing:
        message = (f"{', '.join(missing)} missing: apt-get install chromium chromium-driver "
                   "(.ci/run does)")
        if os.environ.get("HUIJU_REQUIRE_SERVICES") == "1":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


@pytest.fixture
def downloads(tmp_path) -> Path:
    folder = tmp_path / "downloads"
    folder.mkdir()
    return folder


@pytest.fixture
def browser(downloads) -> Iterator:
    """A fresh headless Chromium (its own profile and download folder) per test."""
    _need_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--disable-gpu", "--window-size=1400,1000", "--lang=zh-CN"):
        options.add_argument(argument)
    options.add_experimental_option("prefs", {
        "download.default_directory": str(downloads), "download.prompt_for_download": False,
        "safebrowsing.enabled": False})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def log_in(driver, base: str, username: str, password: str = sample.PASSWORD) -> None:
    """Log in through the form, as a person would."""
    from selenium.webdriver.common.by import By

    driver.get(base + "/login")
    driver.find_element(By.ID, "username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys(password)
    follow(driver, driver.find_element(By.ID, "submit"))


def http_session(base: str, username: str, password: str = sample.PASSWORD
                 ) -> requests.Session:
    """A logged-in requests session (for routes a browser would download or POST to)."""
    session = requests.Session()
    form = session.get(base + "/login").text
    token = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    answer = session.post(base + "/login", data={"username": username, "password": password,
                                                 "csrf": token}, allow_redirects=False)
    assert answer.status_code == 303 and "failed" not in answer.headers["location"]
    return session


def wait_for_file(folder: Path, suffix: str, timeout: float = 30) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = [p for p in folder.iterdir() if p.name.endswith(suffix)]
        if done:
            return done[0]
        time.sleep(0.1)
    raise AssertionError(f"no {suffix} downloaded into {folder}")


def follow(driver, element) -> None:
    """Click ``element`` (a link or button) and wait for the next page to replace this one."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    page = driver.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(driver, 30).until(expected_conditions.staleness_of(page))


def page_html(driver, attempts: int = 5) -> str:
    """The current document's HTML once it has loaded.

    Chromium serialises the page node by node: a document replaced meanwhile (a redirect
    still under way) fails the read with "Node with given id does not belong to the
    document", so it is read again once the new document is complete.
    """
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    for attempt in range(attempts):
        try:
            WebDriverWait(driver, 30).until(
                lambda d: d.execute_script("return document.readyState") == "complete")
            return driver.page_source
        except WebDriverException:
            if attempt == attempts - 1:
                raise
            time.sleep(0.2)
    raise AssertionError("unreachable")
