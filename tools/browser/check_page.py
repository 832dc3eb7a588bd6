"""Drive convzoo's page in headless Chromium: upload an image, wait for the layer-by-layer answer.

Opens --url, waits until the page has loaded /api/runs (body data-state "ready"), sends --image
to the file input #file, waits up to --timeout seconds for data-state "done" and prints one JSON
line: {"top_class": ..., "fmaps": N, "layers": M, "title": ...}. Exit 1 with a message on stderr
on any failure: the page showing an error (its text is printed), a timeout, a feature map that
does not decode, no top class or no layer. Uses the given chromedriver (never selenium-manager,
so it runs offline).

    python tools/browser/check_page.py --url http://127.0.0.1:8765 --image shoe.png \
        --screenshot page.png
"""
import argparse
import json
import pathlib
import sys

from selenium import webdriver
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

WIDTH, HEIGHT = 1280, 1600

STATE = "return document.body ? document.body.dataset.state : null"
PAGE_ERROR = ("var e = document.getElementById('error'); "
              "return e && !e.hidden ? document.getElementById('error-text').textContent.trim() : ''")
FACTS = """
const fmaps = [...document.querySelectorAll('img.fmap')];
return {
  top_class: (document.getElementById('top-class') || {}).textContent || '',
  fmaps: fmaps.length,
  broken: fmaps.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.alt),
  layers: document.querySelectorAll('div.layer').length,
  title: document.title,
};
"""


class Failure(Exception):
    console = ()  # the browser console's errors, printed after the message


def wait_state(driver, wanted, timeout, doing):
    """Wait until data-state is one of `wanted` or "error"; fail on "error" or a timeout."""
    try:
        state = WebDriverWait(driver, timeout, poll_frequency=0.2).until(
            lambda d: (s := d.execute_script(STATE)) in (*wanted, "error") and s)
    except TimeoutException:
        raise Failure(f"{doing}: no data-state {'/'.join(wanted)} after {timeout} s "
                      f"(state {driver.execute_script(STATE)!r})") from None
    if state == "error":
        raise Failure(f"{doing}: the page shows an error: {driver.execute_script(PAGE_ERROR)}")


def screenshot(driver, out):
    """Grow the window to the page's height (capped) so every layer is in the picture."""
    page = int(driver.execute_script("return document.documentElement.scrollHeight"))
    target = min(max(HEIGHT, page), 12000)
    driver.set_window_size(WIDTH, target)
    # the window's height includes the browser's frame: grow it by what the viewport lacks
    inner = int(driver.execute_script("return window.innerHeight"))
    if inner < target:
        driver.set_window_size(WIDTH, target + target - inner)
    driver.execute_script("window.scrollTo(0, 0)")
    if not driver.save_screenshot(str(out)):
        raise Failure(f"could not write the screenshot {out}")


def check(args):
    image = pathlib.Path(args.image).resolve()
    if not image.is_file():
        raise Failure(f"no image file at {image}")
    for what, path in (("Chromium", args.chromium), ("chromedriver", args.driver)):
        if not pathlib.Path(path).is_file():
            raise Failure(f"no {what} at {path} (Debian: apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = args.chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 f"--window-size={WIDTH},{HEIGHT}", "--hide-scrollbars"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        driver = webdriver.Chrome(service=Service(executable_path=args.driver), options=options)
    except WebDriverException as e:
        raise Failure(f"cannot start Chromium ({args.chromium}) with {args.driver}: {e.msg}") from None
    try:
        try:
            driver.set_page_load_timeout(args.timeout)
            try:
                driver.get(args.url)
            except WebDriverException as e:
                raise Failure(f"cannot open {args.url}: {e.msg.splitlines()[0]}") from None
            if driver.execute_script(STATE) is None:
                raise Failure(f"{args.url} is not convzoo's page (no body data-state): "
                              f"is the server running? title {driver.title!r}")
            wait_state(driver, ("ready",), args.timeout, f"loading {args.url}")
            driver.find_element(By.ID, "file").send_keys(str(image))
            wait_state(driver, ("done",), args.timeout, f"predicting {image.name}")
            facts = driver.execute_script(FACTS)
            if args.screenshot:
                screenshot(driver, args.screenshot)
        except Failure as e:
            e.console = [x.get("message") for x in driver.get_log("browser") if x.get("level") == "SEVERE"]
            raise
    finally:
        driver.quit()
    if facts["broken"]:
        raise Failure(f"{len(facts['broken'])} feature map(s) do not decode: {', '.join(facts['broken'][:5])}")
    if not facts["top_class"].strip():
        raise Failure("the page shows no top class (#top-class is empty)")
    if not facts["layers"]:
        raise Failure("the page shows no layer (no div.layer)")
    return {k: facts[k] for k in ("top_class", "fmaps", "layers", "title")}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", required=True, help="the server, e.g. http://127.0.0.1:8765")
    p.add_argument("--image", required=True, help="image file to upload (PNG/JPEG/BMP/WebP)")
    p.add_argument("--screenshot", help="save a screenshot of the whole page here (PNG)")
    p.add_argument("--chromium", default="/usr/bin/chromium")
    p.add_argument("--driver", default="/usr/bin/chromedriver")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds per wait (default 60)")
    args = p.parse_args()
    try:
        result = check(args)
    except Failure as e:
        print(f"check_page: {e}", file=sys.stderr)
        for line in e.console:
            print(f"check_page: browser console: {line}", file=sys.stderr)
        return 1
    except WebDriverException as e:
        print(f"check_page: WebDriver failed: {e.msg}", file=sys.stderr)
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
