"""Screenshot one LiteLLM trace in a running Arize Phoenix UI with headless Chromium.

Why this exists: ``docs/images/phoenix-trace.png`` shows readers what our spans look like in
Phoenix, and the Phoenix test tier uses the same script to check that the UI (not just the
REST API) renders a trace we sent. Phoenix's UI is a JavaScript app that loads its data over
GraphQL after the page itself, so ``chromium --screenshot`` alone may capture a spinner. This
script drives Chromium over the DevTools protocol instead and only takes the picture once the
page's text contains every span name of the trace and the selected span's details; if that
never happens it exits non-zero, so a broken UI fails loudly instead of producing a blank PNG.

The DevTools connection is ``--remote-debugging-pipe`` (JSON messages on file descriptors 3
and 4): standard library only, no port, nothing to install besides Chromium (Debian:
``apt-get install chromium``).

Usage (Phoenix running, a project with at least one ``agent.run`` trace)::

    python scripts/phoenix_screenshot.py --phoenix-url http://127.0.0.1:6006 \
        --project litellm-otel-http --out docs/images/phoenix-trace.png

The newest ``agent.run`` trace of the project is shown, with ``--span`` selected and its
``--tab`` open (Info: messages and parameters; Attributes, the default: the span's attributes,
narrowed by ``--filter``, default ``gen_ai.``, since Phoenix lists its own ``llm.*`` copies
first).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "docs" / "images" / "phoenix-trace.png"
ROOT_SPAN = "agent.run"
DEFAULT_SPAN = "chat tool-model"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
EXIT_NO_CHROMIUM = 2
EXIT_NO_TRACE = 3
EXIT_NOT_RENDERED = 4
# Flags that keep a headless Chromium from talking to anything but the page we open.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--mute-audio",
    "--remote-debugging-pipe",
)
# Opens and focuses the attribute search box of the span details (a button reveals it);
# returns whether the box has the focus.
FOCUS_SEARCH_JS = """
(() => {
  const box = document.querySelector('input[placeholder="Search attributes"]');
  if (!box) return false;
  if (document.activeElement === box) return true;
  const opener = document.querySelector('button[aria-label="Search JSON keys and values"]');
  if (opener) opener.click();
  box.focus();
  return document.activeElement === box;
})()
"""
# Clicks a tab of the span details by its label; returns whether one was found.
CLICK_TAB_JS = """
(() => {
  const tabs = [...document.querySelectorAll('[role="tab"]')];
  const tab = tabs.find((t) => t.textContent.trim().startsWith(%s));
  if (!tab) return false;
  tab.click();
  return true;
})()
"""


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


def find_chromium(explicit: str | None) -> str:
    candidate = explicit or os.environ.get("CHROMIUM")
    if candidate:
        return candidate
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    raise ScreenshotError(
        "no Chromium found (looked for "
        + ", ".join(CHROMIUM_NAMES)
        + "); on Debian/Ubuntu: apt-get install -y chromium, or set CHROMIUM=/path",
        EXIT_NO_CHROMIUM,
    )


class DevTools:
    """A headless Chromium and its DevTools pipe: ``call`` sends one command, waits for its answer.

    Chromium reads commands from its fd 3 and writes answers and events to its fd 4, each a
    JSON object ended by a NUL byte. ``sh`` puts our pipe ends on those numbers, which avoids
    ``preexec_fn`` (unsafe when the caller has threads, as a test session does).
    """

    def __init__(self, chromium: str, width: int, height: int) -> None:
        self._profile = tempfile.TemporaryDirectory(prefix="phoenix-shot-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        args = [
            *CHROMIUM_FLAGS,
            f"--user-data-dir={self._profile.name}",
            f"--window-size={width},{height}",
            "about:blank",
        ]
        self._process = subprocess.Popen(
            ["sh", "-c", f'exec "$0" "$@" 3<&{to_browser_r} 4>&{from_browser_w}', chromium, *args],
            pass_fds=(to_browser_r, from_browser_w),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self.session_id: str | None = None

    def call(self, method: str, timeout: float = 30.0, **params: Any) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if self.session_id is not None and not method.startswith(("Target.", "Browser.")):
            message["sessionId"] = self.session_id
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            answer = self._read_message(deadline)
            if answer.get("id") != self._next_id:
                continue  # an event, or the answer to an earlier command that timed out
            if "error" in answer:
                raise ScreenshotError(f"{method}: {answer['error']}", EXIT_NOT_RENDERED)
            result: dict[str, Any] = answer.get("result", {})
            return result

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ScreenshotError("Chromium did not answer in time", EXIT_NOT_RENDERED)
            ready, _, _ = select.select([self._from_browser], [], [], remaining)
            if ready:
                chunk = os.read(self._from_browser, 1 << 20)
                if not chunk:
                    raise ScreenshotError("Chromium exited", EXIT_NOT_RENDERED)
                self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        message: dict[str, Any] = json.loads(raw)
        return message

    def open_page(self, width: int, height: int) -> None:
        target = self.call("Target.createTarget", url="about:blank")
        attached = self.call("Target.attachToTarget", targetId=target["targetId"], flatten=True)
        self.session_id = attached["sessionId"]
        self.call("Page.enable")
        self.call(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    def wait_until(self, expression: str, timeout: float, what: str) -> None:
        """Until ``expression`` is truthy in the page (Phoenix renders panes one by one)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.evaluate(expression):
                return
            time.sleep(0.25)
        raise ScreenshotError(
            f"the page never showed {what} within {timeout:.0f} s", EXIT_NOT_RENDERED
        )

    def wait_for_text(self, needles: Sequence[str], timeout: float) -> None:
        """Until the page's visible text contains every needle (Phoenix renders late)."""
        deadline = time.monotonic() + timeout
        missing: list[str] = list(needles)
        while time.monotonic() < deadline:
            text = self.evaluate("document.body ? document.body.innerText : ''") or ""
            missing = [needle for needle in needles if needle not in text]
            if not missing:
                return
            time.sleep(0.25)
        raise ScreenshotError(
            f"the page never showed {missing} within {timeout:.0f} s", EXIT_NOT_RENDERED
        )

    def close(self) -> None:
        with contextlib.suppress(ScreenshotError, OSError):
            self.call("Browser.close", timeout=5)
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        os.close(self._to_browser)
        os.close(self._from_browser)
        self._profile.cleanup()


def take_screenshot(
    url: str,
    out: Path,
    *,
    chromium: str,
    must_show: Sequence[str],
    tab: str,
    tab_shows: str,
    attribute_filter: str,
    width: int,
    height: int,
    timeout: float,
) -> None:
    browser = DevTools(chromium, width, height)
    try:
        browser.open_page(width, height)
        browser.call("Page.navigate", url=url)
        browser.wait_for_text(must_show, timeout)
        # The details pane renders after the tree: retry the click until the tab exists.
        browser.wait_until(CLICK_TAB_JS % json.dumps(tab), timeout, f"a {tab!r} tab")
        if tab == "Attributes":
            browser.wait_for_text([tab_shows], timeout)
            if attribute_filter:
                # Phoenix lists its own llm.* copies first; show the attributes we write.
                browser.wait_until(FOCUS_SEARCH_JS, timeout, "the attribute search box")
                browser.call("Input.insertText", text=attribute_filter)
                browser.wait_until(
                    "!document.body.innerText.includes('llm.token_count.prompt')",
                    timeout,
                    f"the attributes filtered by {attribute_filter!r}",
                )
        # One more beat for fonts, icons and the syntax-highlighted views to settle.
        time.sleep(1.5)
        shot = browser.call("Page.captureScreenshot", format="png", captureBeyondViewport=False)
    finally:
        browser.close()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(base64.b64decode(shot["data"]))


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
    parser.add_argument("--width", type=int, default=1600)
    parser.add_argument("--height", type=int, default=1000)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the UI")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    base_url = args.phoenix_url.rstrip("/")
    try:
        chromium = find_chromium(args.chromium)
        url, span_names = find_trace_url(base_url, args.project, args.span)
        take_screenshot(
            url,
            args.out,
            chromium=chromium,
            must_show=span_names,
            tab=args.tab,
            tab_shows="gen_ai.operation.name",
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
