"""Screenshots of a finished campaign's explorer (two states) and report front page, as headless Chromium
renders them, for docs/figures/. Needs the test tools (selenium) and Debian's chromium and chromium-driver.

    .venv/bin/snakemake --report report.html
    .venv/bin/python scripts/screenshots.py results/explorer.html report.html docs/figures/
"""

import shutil
import sys
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import Select, WebDriverWait


def browser(width=1500, height=1000):
    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", f"--window-size={width},{height}"):
        options.add_argument(argument)
    options.binary_location = shutil.which("chromium")
    return webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)


def explorer_states(page: Path, out: Path) -> None:
    """The explorer as it opens (first model, largest N) and with the first kind's smallest N, the second
    kind and the H2 error against exact picked."""
    driver = browser()
    try:
        driver.get(page.resolve().as_uri())
        WebDriverWait(driver, 60).until(lambda d: d.execute_script("return !!document.getElementById('parity').data"))
        driver.save_screenshot(str(out / "explorer_opened.png"))
        Select(driver.find_element("id", "kind")).select_by_index(1)
        Select(driver.find_element("id", "size")).select_by_index(0)
        Select(driver.find_element("id", "target")).select_by_visible_text("H2 MAE against exact")
        time.sleep(1)
        driver.save_screenshot(str(out / "explorer_picked.png"))
    finally:
        driver.quit()


def report_front_page(report: Path, out: Path) -> None:
    driver = browser(1300, 900)
    try:
        driver.get(report.resolve().as_uri())
        time.sleep(3)  # the report is a JavaScript application that draws itself after loading
        driver.save_screenshot(str(out / "report_front_page.png"))
    finally:
        driver.quit()


if __name__ == "__main__":
    explorer, report, folder = (Path(argument) for argument in sys.argv[1:4])
    folder.mkdir(parents=True, exist_ok=True)
    explorer_states(explorer, folder)
    report_front_page(report, folder)
    print(f"wrote {folder}/explorer_opened.png, explorer_picked.png, report_front_page.png")
