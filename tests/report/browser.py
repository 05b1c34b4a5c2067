"""Debian's chromium under Playwright, with every request off the machine blocked and recorded.

Playwright cannot download its own browsers here, so the tests drive /usr/bin/chromium
(scripts/test.sh installs it). Blocking is done twice: chromium's own networking features are
switched off by flags, and every request the page makes goes through a route that aborts anything
that is not loopback or a local file, and records it so a test can assert that none was attempted.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGUMENTS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


@dataclass
class NetworkLog:
    """Requests the page made: those allowed (local) and those blocked (anything else)."""

    allowed: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)


def is_local(url: str) -> bool:
    parsed = urlparse(url)
    if parsed.scheme in ("file", "data", "blob", "about"):
        return True
    return parsed.scheme in ("http", "https", "ws") and parsed.hostname in LOCAL_HOSTS


def require_chromium() -> Path:
    if not CHROMIUM.exists():
        raise RuntimeError(
            f"{CHROMIUM} is missing: the browser tests need Debian's chromium. Install it with "
            "`apt-get install -y chromium` (scripts/test.sh does this) and run the tests again."
        )
    return CHROMIUM


@contextmanager
def offline_page(viewport: tuple[int, int] = (1280, 900)) -> Iterator[tuple[object, NetworkLog]]:
    """A chromium page whose non-local requests are aborted and logged."""
    from playwright.sync_api import Route, sync_playwright

    executable = require_chromium()
    log = NetworkLog()

    def route(route: Route) -> None:
        url = route.request.url
        if is_local(url):
            log.allowed.append(url)
            route.continue_()
        else:
            log.blocked.append(url)
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(executable), args=CHROMIUM_ARGUMENTS, headless=True
        )
        try:
            context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
            context.route("**/*", route)
            page = context.new_page()
            yield page, log
        finally:
            browser.close()
