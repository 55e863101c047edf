"""A real browser for the UI tests: Debian's Chromium, driven by Playwright from PyPI (never ``playwright install``).

Chromium runs headless with a fresh profile directory and the flags that keep it off the network by itself (no
background networking, component updates, sync or QUIC). :class:`Browser` starts it, and :meth:`Browser.close`
stops it and checks that neither Chromium (found by its profile directory) nor Playwright's driver is left.
Screenshots go to ``test-artifacts/`` at the repository root (git-ignored); their paths are printed.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from ._procs import wait_quietly

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "test-artifacts"
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser")
#: Chromium's flags. Playwright also adds ``--headless`` (``headless=True``) and ``--no-sandbox`` (no sandbox asked
#: for) by itself; a repeated flag is harmless.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def find_chromium() -> str | None:
    for candidate in CHROMIUM_CANDIDATES:
        path = candidate if os.path.isabs(candidate) else shutil.which(candidate)
        if path and os.access(path, os.X_OK):
            return path
    return None


def why_unavailable() -> str | None:
    """None when a browser can be driven here, else the reason (for a skip)."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the Python package playwright is not installed (it is in the test extra: pip install -e '.[test]')"
    if find_chromium() is None:
        return "no Chromium (/usr/bin/chromium): run `sudo scripts/system-deps.sh` (apt-get install chromium)"
    return None


def _cmdlines() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) of every live process."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                cmdline = fh.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{entry}/stat", encoding="utf-8", errors="replace") as fh:
                rest = fh.read().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        if rest[0] != "Z":
            found[int(entry)] = (int(rest[1]), cmdline)
    return found


class Browser:
    """One Chromium (persistent context with a fresh profile) and one page."""

    def __init__(self, profile_dir: Path, *, viewport: tuple[int, int] = (1400, 900)) -> None:
        from playwright.sync_api import sync_playwright

        self.profile_dir = profile_dir
        self.executable = find_chromium()
        if self.executable is None:
            raise RuntimeError(why_unavailable() or "no Chromium")
        children_before = self._own_children()
        self._playwright = sync_playwright().start()
        #: Playwright's driver (a node process): the child that appeared while Playwright started
        self.driver_pids = sorted(self._own_children() - children_before)
        try:
            self.context = self._playwright.chromium.launch_persistent_context(
                str(profile_dir),
                executable_path=self.executable,
                headless=True,
                args=CHROMIUM_FLAGS,
                viewport={"width": viewport[0], "height": viewport[1]},
                ignore_https_errors=False,
            )
        except BaseException:
            self._playwright.stop()
            raise
        self.context.set_default_timeout(30_000)
        self.page: Any = self.context.pages[0] if self.context.pages else self.context.new_page()
        self.shots: list[Path] = []
        browser_version = self.context.browser.version if self.context.browser else "?"
        print(f"[browser] {self.executable} {browser_version}, profile {profile_dir}", flush=True)

    @staticmethod
    def _own_children() -> set[int]:
        me = os.getpid()
        return {pid for pid, (ppid, _) in _cmdlines().items() if ppid == me}

    @staticmethod
    def _live(pids: list[int]) -> list[int]:
        alive = _cmdlines()
        return [pid for pid in pids if pid in alive]

    def chromium_pids(self) -> list[int]:
        marker = str(self.profile_dir)
        return [pid for pid, (_, cmdline) in _cmdlines().items() if marker in cmdline]

    def screenshot(self, name: str, *, locator: Any = None, secrets: tuple[str, ...] = ()) -> Path:
        """Save a screenshot under test-artifacts/ after checking that no secret is in the page's text or fields."""
        text = self.page.inner_text("body")
        values = self.page.eval_on_selector_all(
            "input:not([type=password]), textarea", "els => els.map(e => e.value).join('\\n')"
        )
        for secret in secrets:
            assert secret not in text, f"a secret is visible in the page text before screenshot {name!r}"
            assert secret not in values, f"a secret is in a visible (non-password) field before screenshot {name!r}"
        path = ARTIFACTS / "stack-ui" / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        (locator or self.page).screenshot(path=str(path))
        self.shots.append(path)
        print(f"[browser] screenshot: {path}", flush=True)
        return path

    def close(self) -> dict[str, Any]:
        """Close Chromium and Playwright's driver; report (and let the caller assert) that nothing is left."""
        try:
            self.context.close()
        finally:
            self._playwright.stop()
        chromium_gone = wait_quietly(lambda: not self.chromium_pids(), 15.0)
        drivers_gone = wait_quietly(lambda: not self._live(self.driver_pids), 15.0)
        report = {
            "driver_pids": self.driver_pids,
            "chromium_left": [] if chromium_gone else self.chromium_pids(),
            "driver_left": [] if drivers_gone else self._live(self.driver_pids),
        }
        print(f"[browser] closed: {report}", flush=True)
        return report
