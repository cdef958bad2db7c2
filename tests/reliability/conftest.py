"""Fixtures of the reliability suite: playbook runs with recorded results, the HTTPS
interceptor, raw lab access, leak search and the results behind docs/reliability.md.

The helpers live in tests/reliability/support/ and reach the tests through the `rel` fixture
(pytest runs with --import-mode=importlib: test modules import no siblings).
"""
import importlib.util
import sys
import types
from pathlib import Path

import pytest
import trustme

SUPPORT = Path(__file__).resolve().parent / "support"
SUPPORT_MODULES = ("interceptor", "runs", "leaks", "results", "labhttp", "outcomes")


def _load_support():
    namespace = types.SimpleNamespace()
    for name in SUPPORT_MODULES:
        module_name = f"reliability_support_{name}"
        if module_name not in sys.modules:
            spec = importlib.util.spec_from_file_location(module_name, SUPPORT / f"{name}.py")
            module = importlib.util.module_from_spec(spec)
            sys.modules[module_name] = module
            spec.loader.exec_module(module)
        setattr(namespace, name, sys.modules[module_name])
    return namespace


SUPPORT_NAMESPACE = _load_support()


@pytest.fixture(scope="session")
def rel():
    """The support modules: rel.interceptor, rel.runs, rel.leaks, rel.results, rel.labhttp, rel.outcomes."""
    return SUPPORT_NAMESPACE


@pytest.fixture
def ansible(tmp_path, collection_env, ansible_playbook_command):
    """Playbook runs with recorded results (rel.runs.Ansible) for one test."""
    return SUPPORT_NAMESPACE.runs.Ansible(tmp_path / "runs", collection_env, ansible_playbook_command)


@pytest.fixture
def interceptors(rel):
    """Factory of started Interceptors sharing one CA (``.ca``; ``.action`` is their Action class); all stopped at teardown."""
    started = []

    def make(**options):
        interceptor = rel.interceptor.Interceptor(make.ca, **options).start()
        started.append(interceptor)
        return interceptor

    make.ca = trustme.CA()
    make.action = rel.interceptor.Action
    yield make
    for interceptor in started:
        interceptor.stop()


def pytest_sessionfinish(session):
    del session
    if SUPPORT_NAMESPACE.results.OUTPUT.is_dir():
        SUPPORT_NAMESPACE.results.write_aggregates()
