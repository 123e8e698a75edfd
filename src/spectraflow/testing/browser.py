"""A real headless Chromium (Debian's ``chromium`` package) opening a local page with the network shut:
what the page requested, and a screenshot of each of its images as the browser rendered it."""

from __future__ import annotations

import io
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["CHROMIUM_FLAGS", "chromium_path", "Rendered", "render_offline"]

#: Flags that keep Chromium from any background traffic (updates, sync, safe browsing, QUIC probes).
CHROMIUM_FLAGS = ("--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-default-apps", "--disable-extensions")


def chromium_path() -> str | None:
    return os.environ.get("SPECTRAFLOW_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass(frozen=True)
class Rendered:
    requests: list[str]            # every URL the browser requested for the page, in order
    images: list[np.ndarray]       # each <img> as rendered, RGB uint8
    natural_widths: list[int]      # 0 where an image failed to decode
    title: str
    text: str


def render_offline(page_path: Path, executable: str, width: int = 1280) -> Rendered:
    """Open ``page_path`` (file://) in headless Chromium with a fresh profile; any request that is not the
    page itself is recorded and aborted, so nothing can leave the machine."""
    from PIL import Image
    from playwright.sync_api import sync_playwright

    url = page_path.resolve().as_uri()
    requests: list[str] = []

    def route(r: object) -> None:
        if r.request.url == url:  # type: ignore[attr-defined]
            r.continue_()  # type: ignore[attr-defined]
        else:
            r.abort()  # type: ignore[attr-defined]

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=list(CHROMIUM_FLAGS))
        try:
            context = browser.new_context(viewport={"width": width, "height": 900}, offline=True)
            context.on("request", lambda request: requests.append(request.url))
            context.route("**/*", route)
            page = context.new_page()
            page.goto(url, wait_until="load")
            widths = page.evaluate("Array.from(document.images).map(i => i.complete ? i.naturalWidth : 0)")
            images = []
            for element in page.query_selector_all("img"):
                element.scroll_into_view_if_needed()
                shot = Image.open(io.BytesIO(element.screenshot(type="png"))).convert("RGB")
                images.append(np.asarray(shot))
            title, text = page.title(), page.inner_text("body")
        finally:
            browser.close()
    return Rendered(requests, images, [int(w) for w in widths], title, text)
