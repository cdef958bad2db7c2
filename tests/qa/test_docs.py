"""The documentation: antsibull-docs lint clean, guides complete, and the built site (offline,
Sphinx warnings as errors) opens in headless Chromium with no broken internal link."""
import functools
import http.server
import re
import shutil
import threading
import time
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest
import yaml

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]
MAX_PAGES = 400
CRAWL_BUDGET_S = 240


def guide_names(repo_root):
    extra = yaml.safe_load((repo_root / "docs" / "docsite" / "extra-docs.yml").read_text())
    return [entry for section in extra["sections"] for entry in section["toctree"]]


def guide_text(repo_root, name):
    return (repo_root / "docs" / "docsite" / "rst" / f"{name}.rst").read_text()


def test_collection_docs_lint_clean(tool):
    ok, output = tool("build_docs").lint()
    assert ok, output[-8000:]


def test_guides_are_the_ones_users_need(repo_root):
    assert guide_names(repo_root) == ["getting_started", "lab", "awx_guide", "fleet_compliance", "eda", "troubleshooting"]


def test_troubleshooting_covers_every_cause_code_and_seed_error(repo_root):
    from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.errors import CAUSES

    text = guide_text(repo_root, "troubleshooting")
    contract = (repo_root / "docs" / "dev" / "interfaces.md").read_text()
    section = contract.split("## 3.", 1)[1].split("\n\n", 2)[1]
    codes = set(re.findall(r"\b[A-Z][A-Z_]+[A-Z]\b", section)) | set(CAUSES)
    entries = dict(re.findall(r"^``([A-Z_]+)``\n~+\n(.*?)(?=^\S[^\n]*\n[~-]+\n|\Z)", text, re.M | re.S))
    assert codes <= set(entries), f"cause codes without a troubleshooting entry: {sorted(codes - set(entries))}"
    for code in codes:
        for part in ("What it means", "What the collection does", "What you do"):
            assert f"\n{part}\n" in "\n" + entries[code], f"{code}: no '{part}'"
        fixable = "Fixable" in entries[code].split("What the collection does", 1)[1].split("What you do")[0]
        assert fixable == CAUSES[code].fixable, f"{code}: the guide and errors.CAUSES disagree on whether it is fixable"
    for error in (  # the reported failure's error lines (GUI, vmanage-server.log, SSM's nginx)
        "Failed to authenticate Smart Account credentials.: Failed to authenticate user",
        '{"error":"invalid_client","error_message":"Grant not found. Ensure that the given grant details are correct."}',
        "connect() failed (111: Connection refused) while connecting to upstream",
        "upstream server temporarily disabled while connecting to upstream",
        "Smart Account User Authentication failed.",
    ):
        assert error in " ".join(text.split()), f"seed error not explained: {error}"
    assert "verified only against the lab" in text.lower()


@pytest.fixture(scope="module")
def site(tmp_path_factory, tool):
    started = time.monotonic()
    ok, output, html = tool("build_docs").build(tmp_path_factory.mktemp("docsite"))
    assert ok, output[-10000:]
    print(f"docs site built in {time.monotonic() - started:.1f} s")
    return html


def test_site_has_pages_for_every_module_role_and_guide(site, repo_root):
    expected = [f"{p.stem}_module.html" for p in (repo_root / "plugins" / "modules").glob("*.py")]
    expected += [f"{p.parent.name}_role.html" for p in (repo_root / "roles").glob("*/tasks")]
    expected += [f"docsite/{name}.html" for name in guide_names(repo_root)]
    missing = [page for page in expected if not (site / page).is_file()]
    assert not missing, f"pages missing from the site: {missing}"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def served_site(site):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def test_site_opens_in_headless_chromium_without_broken_links(served_site, repo_root):
    if not shutil.which(CHROMIUM):
        pytest.fail("chromium is not installed; `make system-deps` installs it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    origin = urlsplit(served_site).netloc
    broken, failed_requests, visited, anchors_wanted = [], [], {}, []
    queue = [urljoin(served_site, "index.html")]
    deadline = time.monotonic() + CRAWL_BUDGET_S
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page()
        page.on("requestfailed", lambda request: failed_requests.append(request.url))
        page.on("response", lambda response: response.status >= 400 and failed_requests.append(response.url))
        while queue and len(visited) < MAX_PAGES and time.monotonic() < deadline:
            url = queue.pop(0)
            if url in visited:
                continue
            response = page.goto(url, wait_until="load")
            if response is None or response.status != 200:
                broken.append(f"{url}: HTTP {response.status if response else 'no response'}")
                visited[url] = set()
                continue
            visited[url] = set(page.eval_on_selector_all("[id], a[name]", "els => els.map(e => e.id || e.name)"))
            for href in page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)"):
                target, fragment = urldefrag(href)
                if urlsplit(target).netloc != origin or not target.startswith("http"):
                    continue
                if fragment:
                    anchors_wanted.append((url, target, fragment))
                if target.endswith(".html") or target.endswith("/"):
                    queue.append(target)
        page.goto(urljoin(served_site, "index.html"))
        title = page.title()
        browser.close()

    unvisited = sorted(set(queue) - set(visited))
    assert not unvisited, f"crawl stopped ({len(visited)} pages, budget {MAX_PAGES} pages / {CRAWL_BUDGET_S} s) before {unvisited[:5]}"
    assert len(visited) > 10, f"only {len(visited)} pages reached from the index"
    assert "sdwan_ops.license_sync" in title
    for source, target, fragment in anchors_wanted:
        if target in visited and fragment not in visited[target]:
            broken.append(f"{source} -> {target}#{fragment}: no such anchor")
    assert not broken, "\n".join(sorted(set(broken))[:50])
    assert not failed_requests, "failed requests: " + ", ".join(sorted(set(failed_requests))[:50])
    for name in guide_names(repo_root):
        assert urljoin(served_site, f"docsite/{name}.html") in visited, f"guide {name} not linked from the site"


def yaml_blocks(rst_text):
    """The YAML code blocks of an RST text, parsed."""
    blocks = re.findall(r"^\.\. code-block:: yaml(?:\+jinja)?\n\n((?:   .*\n|\n)+)", rst_text, re.M)
    return [yaml.safe_load("\n".join(line[3:] for line in block.splitlines())) for block in blocks]


def test_awx_guide_shows_the_shipped_credential_types_and_ee_pins(repo_root):
    blocks = yaml_blocks(guide_text(repo_root, "awx_guide"))
    for name in ("vmanage.yml", "ssm_onprem.yml"):
        shipped = yaml.safe_load((repo_root / "extensions" / "awx" / "credential_types" / name).read_text())
        assert shipped["inputs"] in blocks, f"the guide's input configuration differs from {name}"
        assert shipped["injectors"] in blocks, f"the guide's injector configuration differs from {name}"
    (guide_ee,) = [b for b in blocks if isinstance(b, dict) and b.get("version") == 3]
    shipped_ee = yaml.safe_load((repo_root / "extensions" / "ee" / "execution-environment.yml").read_text())
    assert guide_ee["images"] == shipped_ee["images"]
    for pin in ("python_interpreter", "ansible_core", "ansible_runner"):
        assert guide_ee["dependencies"][pin] == shipped_ee["dependencies"][pin], pin
    version = yaml.safe_load((repo_root / "galaxy.yml").read_text())["version"]
    assert guide_ee["dependencies"]["galaxy"]["collections"] == [{"name": "sdwan_ops.license_sync", "version": version}]
