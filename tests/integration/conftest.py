"""Fixtures shared by the integration tests: headless Chromium for the HTML report, bench/sliced.py's AWX model."""
import importlib.util

import pytest

from ..conftest import REPO

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium (tools/system-deps.sh installs it), driven by Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def sliced():
    """bench/sliced.py: AWX's slicing and artefact merge, shared with the benchmark."""
    spec = importlib.util.spec_from_file_location("sdwan_bench_sliced", REPO / "bench" / "sliced.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
