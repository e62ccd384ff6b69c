"""The web page end to end in real headless Chromium: type an instruction, watch it written,
get the finished document. Needs the Debian packages chromium and chromium-driver (.ci/run
installs them); outside CI, a machine without them skips this file with a reason."""

from __future__ import annotations

import os
import shutil

import pytest

from helpers.servers import running
from longform.text import count_words

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
if not (CHROMIUM and DRIVER) and not os.environ.get("CI"):
    pytest.skip("chromium and chromium-driver are not installed (apt-get install chromium chromium-driver)",
                allow_module_level=True)


@pytest.fixture()
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1400"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def test_page_writes_a_document_live(tmp_path, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    with running(tmp_path / "jobs", "mock:lorem?delay=0.05", workers=2) as (url, manager):
        browser.get(url + "/")
        browser.find_element(By.ID, "instruction").send_keys("Write a history of lighthouses.")
        words = browser.find_element(By.ID, "words")
        words.clear()
        words.send_keys("900")
        browser.find_element(By.ID, "start").click()
        wait = WebDriverWait(browser, 90, poll_frequency=0.1)
        # while it runs: the plan is listed and the progress line counts sections
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#plan li"))
        wait.until(lambda d: "section" in d.find_element(By.ID, "progress").text)
        wait.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-finished") == "done")
        job = manager.list()[0]
        shown = "\n\n".join(s.text for s in browser.find_elements(By.CSS_SELECTOR, "#doc section"))
        assert count_words(shown) == count_words(job.document()) > 700
        progress = browser.find_element(By.ID, "progress").text
        plan = browser.find_elements(By.CSS_SELECTOR, "#plan li")
        assert f"/ 900 words, section {len(plan)} of {len(plan)}" in progress
        assert browser.find_element(By.ID, "status").text.startswith("done:")
        assert len(browser.find_elements(By.CSS_SELECTOR, "#chart rect.planned, #chart rect.written")) == 2 * len(plan)
        legend = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#chart text.legend")]
        ticks = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#chart text.tick")]
        assert legend == ["planned", "written"] and ticks[0] == "0" and len(ticks) == 3
        # markdown headings are headings, paragraphs are paragraphs: no "## " shown as text
        headings = browser.find_elements(By.CSS_SELECTOR, "#doc section h3")
        assert len(headings) == len(plan) and not any(h.text.startswith("#") for h in headings)
        assert browser.find_elements(By.CSS_SELECTOR, "#doc section p") and "## " not in shown
        assert browser.find_element(By.ID, "download").is_displayed()
        wait.until(lambda d: "lighthouses" in d.find_element(By.ID, "runs").text)
        browser.save_screenshot(str(tmp_path / "page.png"))
        if os.environ.get("LONGFORM_SCREENSHOT"):
            shutil.copy(tmp_path / "page.png", os.environ["LONGFORM_SCREENSHOT"])


def test_model_and_user_text_never_becomes_markup_and_the_runs_list_reads_well(tmp_path, browser):
    """The page builds elements and sets their text: an instruction holding HTML shows as text in
    the title, the runs list and the document, and no element it names is created."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    hostile = ("Write a story about <img src=x onerror=\"document.body.dataset.owned=1\"> and a very long list "
               "of lighthouses")
    with running(tmp_path / "jobs", "mock:lorem", workers=1) as (url, manager):
        browser.get(url + "/")
        browser.find_element(By.ID, "instruction").send_keys(hostile)
        words = browser.find_element(By.ID, "words")
        words.clear()
        words.send_keys("600")
        browser.find_element(By.ID, "start").click()
        wait = WebDriverWait(browser, 60, poll_frequency=0.1)
        wait.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-finished") == "done")
        wait.until(lambda d: "of 600 words" in d.find_element(By.ID, "runs").text)
        assert not browser.find_elements(By.CSS_SELECTOR, "img")
        assert browser.find_element(By.TAG_NAME, "body").get_attribute("data-owned") is None
        assert "<img src=x" in browser.find_element(By.ID, "title").text
        run = browser.find_element(By.CSS_SELECTOR, "#runs li b").text
        assert run.endswith("…") and len(run) <= 60 and run.startswith("Write a story about <img")
        written = manager.list()[0].words
        assert written > 0 and f"done, {written:,} of 600 words" in browser.find_element(By.ID, "runs").text
