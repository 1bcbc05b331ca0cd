"""Screenshot one LiteLLM trace in a running Arize Phoenix UI with headless Chromium.

Why this exists: ``docs/images/phoenix-trace.png`` shows readers what our spans look like in
Phoenix, and the Phoenix test tier uses the same script to check that the UI (not just the
REST API) renders a trace we sent. Phoenix's UI is a JavaScript app that loads its data after
the page itself, so the picture is taken only once the page's text contains every span name of
the trace and the selected span's details; if that never happens the script exits non-zero, so
a broken UI fails loudly instead of producing a blank PNG.

Chromium is driven with Selenium through Debian's ``chromium`` and ``chromium-driver``
(``apt-get install chromium chromium-driver``); nothing is downloaded at run time.

Usage (Phoenix running, a project with at least one ``agent.run`` trace)::

    python scripts/phoenix_screenshot.py --phoenix-url http://127.0.0.1:6006 \
        --project litellm-otel-http --out docs/images/phoenix-trace.png

The newest ``agent.run`` trace of the project is shown, with ``--span`` selected and its
``--tab`` open (Attributes, the default, narrowed by ``--filter``, default ``gen_ai.``, since
Phoenix lists its own ``llm.*`` copies first; or Info: messages and parameters).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "docs" / "images" / "phoenix-trace.png"
ROOT_SPAN = "agent.run"
DEFAULT_SPAN = "chat tool-model"
EXIT_NO_CHROMIUM = 2
EXIT_NO_TRACE = 3
EXIT_NOT_RENDERED = 4
# Flags that keep a headless Chromium from talking to anything but the page we open.
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
)


class ScreenshotError(RuntimeError):
    """A step failed; ``exit_code`` tells the caller which one."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


# --------------------------------------------------------------------------- Phoenix REST


def get_json(base_url: str, path: str, params: dict[str, Any] | None = None) -> Any:
    query = f"?{urllib.parse.urlencode(params, doseq=True)}" if params else ""
    with urllib.request.urlopen(f"{base_url}{path}{query}", timeout=30) as response:
        return json.load(response)


def find_trace_url(base_url: str, project: str, span_name: str) -> tuple[str, list[str]]:
    """The UI URL of the newest ``agent.run`` trace with ``span_name`` selected, and its span names.

    Phoenix's trace page is ``/projects/<project id>/traces/<OTel trace id>``; the span shown
    in the details pane is ``?selectedSpanNodeId=<span global id>`` (ids from the REST API).
    """
    projects = get_json(base_url, "/v1/projects", {"name_contains": project})["data"]
    matching = [p for p in projects if p["name"] == project]
    if not matching:
        raise ScreenshotError(f"no Phoenix project named {project!r}", EXIT_NO_TRACE)
    project_id = matching[0]["id"]
    spans_path = f"/v1/projects/{urllib.parse.quote(project_id)}/spans"
    roots = get_json(
        base_url,
        spans_path,
        {"name": ROOT_SPAN, "parent_id": "null", "sort": "start_time", "order": "desc"},
    )["data"]
    if not roots:
        raise ScreenshotError(f"no {ROOT_SPAN!r} trace in project {project!r}", EXIT_NO_TRACE)
    trace_id = roots[0]["context"]["trace_id"]
    trace_spans = get_json(base_url, spans_path, {"trace_id": trace_id, "limit": 1000})["data"]
    selected = [s for s in trace_spans if s["name"] == span_name]
    if not selected:
        raise ScreenshotError(f"trace {trace_id} has no span {span_name!r}", EXIT_NO_TRACE)
    query = urllib.parse.urlencode({"selectedSpanNodeId": selected[0]["id"]})
    url = f"{base_url}/projects/{urllib.parse.quote(project_id)}/traces/{trace_id}?{query}"
    return url, sorted({s["name"] for s in trace_spans})


# --------------------------------------------------------------------------- Chromium


def find_executable(explicit: str | None, env: str, names: Sequence[str]) -> str:
    candidate = explicit or os.environ.get(env)
    if candidate:
        return candidate
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    raise ScreenshotError(
        f"none of {', '.join(names)} found; on Debian/Ubuntu: apt-get install -y chromium "
        f"chromium-driver, or set {env}=/path",
        EXIT_NO_CHROMIUM,
    )


def wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    """Until ``check()`` is truthy (Phoenix renders its panes one by one)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.25)
    raise ScreenshotError(f"the page never showed {what} within {timeout:.0f} s", EXIT_NOT_RENDERED)


def take_screenshot(
    url: str,
    out: Path,
    *,
    chromium: str,
    chromedriver: str,
    must_show: Sequence[str],
    tab: str,
    attribute_filter: str,
    width: int,
    height: int,
    timeout: float,
) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (*CHROMIUM_FLAGS, f"--window-size={width},{height}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    try:
        # The picture is the viewport: give it the exact size (the window has chrome of its own).
        driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )
        driver.get(url)

        def text() -> str:
            return str(driver.execute_script("return document.body ? document.body.innerText : ''"))

        wait_for(lambda: all(name in text() for name in must_show), timeout, list(must_show))

        def open_tab() -> bool:
            for element in driver.find_elements(By.CSS_SELECTOR, '[role="tab"]'):
                if element.text.strip().startswith(tab):
                    element.click()
                    return True
            return False

        wait_for(open_tab, timeout, f"a {tab!r} tab")
        if tab == "Attributes":
            wait_for(lambda: "gen_ai.operation.name" in text(), timeout, "the span attributes")
            if attribute_filter:
                # Phoenix lists its own llm.* copies first; show the attributes we write.
                for opener in driver.find_elements(
                    By.CSS_SELECTOR, 'button[aria-label="Search JSON keys and values"]'
                ):
                    opener.click()
                box = wait_for(
                    lambda: driver.find_elements(
                        By.CSS_SELECTOR, 'input[placeholder="Search attributes"]'
                    ),
                    timeout,
                    "the attribute search box",
                )[0]
                box.send_keys(attribute_filter)
                wait_for(
                    lambda: "llm.token_count.prompt" not in text(),
                    timeout,
                    f"the attributes filtered by {attribute_filter!r}",
                )
        time.sleep(1.5)  # one more beat for fonts, icons and highlighted views to settle
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(driver.get_screenshot_as_png())
    finally:
        driver.quit()


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phoenix-url", required=True, help="e.g. http://127.0.0.1:6006")
    parser.add_argument("--project", required=True, help="Phoenix project holding the trace")
    parser.add_argument("--span", default=DEFAULT_SPAN, help=f"span to select ({DEFAULT_SPAN})")
    parser.add_argument(
        "--tab", choices=("Info", "Attributes"), default="Attributes", help="details tab to open"
    )
    parser.add_argument(
        "--filter",
        default="gen_ai.",
        help="text typed into the Attributes tab's search box ('' for none; default gen_ai.)",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="PNG to write")
    parser.add_argument("--chromium", help="Chromium executable (default: $CHROMIUM or PATH)")
    parser.add_argument(
        "--chromedriver", help="ChromeDriver executable (default: $CHROMEDRIVER or PATH)"
    )
    parser.add_argument("--width", type=int, default=1600)
    parser.add_argument("--height", type=int, default=1000)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the UI")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    base_url = args.phoenix_url.rstrip("/")
    try:
        chromium = find_executable(
            args.chromium, "CHROMIUM", ("chromium", "chromium-browser", "google-chrome")
        )
        chromedriver = find_executable(args.chromedriver, "CHROMEDRIVER", ("chromedriver",))
        url, span_names = find_trace_url(base_url, args.project, args.span)
        take_screenshot(
            url,
            args.out,
            chromium=chromium,
            chromedriver=chromedriver,
            must_show=span_names,
            tab=args.tab,
            attribute_filter=args.filter,
            width=args.width,
            height=args.height,
            timeout=args.timeout,
        )
    except ScreenshotError as error:
        sys.stderr.write(f"phoenix_screenshot: {error}\n")
        return error.exit_code
    sys.stdout.write(f"phoenix_screenshot: {url} -> {args.out} ({args.out.stat().st_size} bytes)\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
