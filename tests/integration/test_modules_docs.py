"""ansible-doc renders every module; the docs state every option, its environment variable and the REST paths."""
import json
import subprocess

import pytest
import yaml

from ansible_collections.sdwan_ops.license_sync.plugins.module_utils import argspec

from ..conftest import VENV_BIN, collection_environment

MODULES = {
    "vmanage_precheck": argspec.VMANAGE_PRECHECK,
    "ssm_grant": argspec.SSM_GRANT,
    "vmanage_license_auth": argspec.VMANAGE_LICENSE_AUTH,
    "vmanage_license_sync": argspec.VMANAGE_LICENSE_SYNC,
    "vmanage_license_info": argspec.VMANAGE_LICENSE_INFO,
}


def ansible_doc(*args):
    proc = subprocess.run([str(VENV_BIN / "ansible-doc"), *args], capture_output=True, text=True, env=collection_environment(),
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "WARNING" not in proc.stderr and "ERROR" not in proc.stderr, proc.stderr
    return proc.stdout


@pytest.fixture(scope="module")
def docs():
    names = ["sdwan_ops.license_sync.%s" % name for name in MODULES]
    return json.loads(ansible_doc("--json", *names))


@pytest.mark.parametrize("module", sorted(MODULES))
def test_ansible_doc_renders(module):
    text = ansible_doc("sdwan_ops.license_sync.%s" % module)

    assert ("sdwan_ops.license_sync.%s" % module) in text.splitlines()[0].lower()  # "> MODULE fqcn" (2.17+), "> FQCN" (2.16)
    assert "EXAMPLES:" in text and "RETURN VALUES:" in text


@pytest.mark.parametrize("module", sorted(MODULES))
def test_every_option_is_documented_with_its_environment_variable(docs, module):
    spec = MODULES[module]["argument_spec"]
    doc = docs["sdwan_ops.license_sync.%s" % module]["doc"]

    assert set(doc["options"]) == set(spec)
    for name, option in spec.items():
        documented = doc["options"][name]
        assert documented.get("required", False) == option.get("required", False), name
        assert documented.get("type") == option["type"], name
        if "fallback" in option:
            variable = option["fallback"][1][0]
            assert "E(%s)" % variable in " ".join(documented["description"]), (name, variable)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_notes_list_the_rest_paths_and_attributes_are_stated(docs, module):
    doc = docs["sdwan_ops.license_sync.%s" % module]["doc"]

    assert any("REST path" in note for note in doc["notes"])
    assert {"check_mode", "diff_mode", "idempotent", "action_group"} <= set(doc["attributes"])
    for attribute in ("check_mode", "diff_mode", "idempotent"):
        assert doc["attributes"][attribute]["support"] in ("full", "partial", "none")


def test_examples_that_return_a_secret_use_no_log(docs):
    examples = yaml.safe_load(docs["sdwan_ops.license_sync.ssm_grant"]["examples"])
    for task in examples:
        module_args = task.get("sdwan_ops.license_sync.ssm_grant")
        if module_args is not None and module_args.get("state", "present") == "present":
            assert task.get("no_log") is True, task["name"]
