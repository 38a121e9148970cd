"""Headless Chromium (Debian's ``/usr/bin/chromium``) driven by Playwright, for the portal's
tests and its benchmark: Playwright cannot download its own browsers here, so it is pointed
at Debian's; the host resolver maps every name but 127.0.0.1 to nothing, so no request can
leave the machine whatever a page asks for (``localhost`` stays resolvable: the SAMP Web
Profile's hub is at http://localhost:21012/, SAMP 1.3 sec. 5.2)."""

from __future__ import annotations

import shutil
from contextlib import contextmanager
from dataclasses import dataclass, field

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SAMP_HUB = "http://localhost:21012/"
#: WebGL2 (Aladin Lite) on the CPU: SwiftShader through ANGLE
ARGS = ["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
        "--no-sandbox",
        "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--disable-gpu-sandbox"]


@dataclass
class PageLog:
    """What a page did: its console errors, uncaught exceptions, requested URLs and the
    responses that failed."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def foreign(self, base: str) -> list[str]:
        """Requests for anything but ``base`` and the local SAMP hub (blob: and data: URLs
        are the page's own)."""
        return [u for u in self.requests if u != base and not u.startswith(
            (base + "/", "blob:", "data:", SAMP_HUB))]


@contextmanager
def chromium():
    """A Playwright Chromium browser (Debian's executable)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def logged_page(browser, width: int = 1200, height: int = 900):
    """A new page in a fresh context (no cache shared with other pages) and its log."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    log = PageLog()
    page.on("console", lambda m: log.console_errors.append(m.text) if m.type == "error"
            else None)
    page.on("pageerror", lambda exc: log.page_errors.append(str(exc)))
    context.on("request", lambda r: log.requests.append(r.url))
    context.on("response", lambda r: log.failed.append(f"{r.status} {r.url}")
               if r.status >= 400 else None)
    return page, log
