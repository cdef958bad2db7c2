"""Lint the collection docs and build the documentation site, offline, warnings as errors.

1. `antsibull-docs lint-collection-docs --plugin-docs --check-extra-docs-refs .`
2. `antsibull-docs sphinx-init` for this collection (the module, role and playbook pages plus the
   guides of docs/docsite/extra-docs.yml), with intersphinx off: its inventories live on the Internet.
3. The two steps of the generated build.sh: antsibull-docs writes the RST, `sphinx-build -W --keep-going`
   the HTML; in between, a page with the labels of the Ansible documentation that module pages refer to
   (intersphinx would resolve them online).

`make docs` runs this; tests/qa/test_docs.py runs it and opens the site in headless Chromium.

Usage: python tools/build_docs.py OUT_DIR      -> OUT_DIR/build/html/index.html
"""
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
# A checkout at .../ansible_collections/sdwan_ops/license_sync is a collection path of its own; any
# other checkout is reached through the link `make venv` keeps in .build/collections.
COLLECTIONS_ROOT = REPO.parents[2] if REPO.parent.parent.name == "ansible_collections" else REPO / ".build" / "collections"
COLLECTION = "sdwan_ops.license_sync"


def docs_environment():
    env = dict(os.environ)
    env.update(
        ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS_ROOT),
        ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
        PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
    )
    env.pop("ANSIBLE_CONFIG", None)
    return env


def run(command, cwd):
    proc = subprocess.run(command, cwd=cwd, env=docs_environment(), check=False, capture_output=True, text=True, timeout=900)
    return proc.returncode, proc.stdout + proc.stderr


def lint():
    """Returns (ok, output) of antsibull-docs' collection linter."""
    code, output = run(
        [str(VENV_BIN / "antsibull-docs"), "lint-collection-docs", "--plugin-docs", "--check-extra-docs-refs", "."], REPO
    )
    return code == 0, output


ANSIBLE_DOCS_LABELS = """\
:orphan:

Ansible documentation
=====================

Pages of the Ansible documentation that the module pages refer to.

.. _ansible_configuration_settings:

Ansible configuration settings
------------------------------

https://docs.ansible.com/projects/ansible/latest/reference_appendices/config.html

.. _action_plugins:

Action plugins
--------------

https://docs.ansible.com/projects/ansible/latest/plugins/action.html

.. _common_return_values:

Return values
-------------

https://docs.ansible.com/projects/ansible/latest/reference_appendices/common_return_values.html
"""


def offline_conf(conf_py):
    text = conf_py.read_text()
    offline, count = re.subn(r"^intersphinx_mapping = \{.*?^\}$", "intersphinx_mapping = {}", text, flags=re.S | re.M)
    if count != 1:
        raise RuntimeError(f"no intersphinx_mapping block in {conf_py}: antsibull-docs changed its template")
    conf_py.write_text(offline)


def build(out_dir):
    """Returns (ok, output, html_dir)."""
    out_dir = Path(out_dir).absolute()
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    out_dir.chmod(0o755)  # antsibull-docs refuses a destination others can write to
    code, output = run(
        [str(VENV_BIN / "antsibull-docs"), "sphinx-init", "--use-current", "--squash-hierarchy", "--fail-on-error",
         "--no-add-antsibull-docs-version", "--project", COLLECTION, "--copyright", "sdwan_ops maintainers",
         "--title", COLLECTION, "--dest-dir", str(out_dir), COLLECTION],
        out_dir,
    )
    if code != 0:
        return False, output, None
    offline_conf(out_dir / "conf.py")
    code, rst_output = run(
        [str(VENV_BIN / "antsibull-docs"), "--config-file", "antsibull-docs.cfg", "collection", "--cleanup", "everything",
         "--fail-on-error", "--use-current", "--squash-hierarchy", "--dest-dir", "rst", COLLECTION],
        out_dir,
    )
    output += rst_output
    if code != 0:
        return False, output, None
    (out_dir / "rst" / "ansible_docs_labels.rst").write_text(ANSIBLE_DOCS_LABELS)
    code, html_output = run(
        [str(VENV_BIN / "sphinx-build"), "-M", "html", "rst", "build", "-c", ".", "-W", "--keep-going", "-q"], out_dir
    )
    return code == 0, output + html_output, out_dir / "build" / "html"


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    started = time.monotonic()
    ok, output = lint()
    linted = time.monotonic()
    if not ok:
        print(output)
        print(f"docs: lint-collection-docs FAILED ({linted - started:.1f} s)")
        return 1
    ok, output, html = build(sys.argv[1])
    built = time.monotonic()
    if not ok:
        print(output)
        print(f"docs: site build FAILED ({built - linted:.1f} s)")
        return 1
    print(f"docs: lint {linted - started:.1f} s, site {built - linted:.1f} s -> {html / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
