"""Fixtures for transport-level tests of the module_utils clients (see harness.py).

A trustme CA per session; a scripted HTTPS server per test; HttpClient factories whose warnings
and debug lines are recorded.
"""
import socket

import pytest
import trustme

from ansible_collections.sdwan_ops.license_sync.plugins.module_utils import http_client as http_module
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.http_client import HttpClient
from ansible_collections.sdwan_ops.license_sync.plugins.module_utils.redact import Redactor
from ansible_collections.sdwan_ops.license_sync.tests.unit.plugins.module_utils.harness import Channels, ScriptedServer


@pytest.fixture(scope="session")
def ca():
    return trustme.CA()


@pytest.fixture(scope="session")
def other_ca():
    return trustme.CA()


@pytest.fixture(scope="session")
def ca_file(ca, tmp_path_factory):
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture(scope="session")
def other_ca_file(other_ca, tmp_path_factory):
    path = tmp_path_factory.mktemp("other-ca") / "other-ca.pem"
    other_ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture
def server(ca):
    scripted = ScriptedServer(ca.issue_cert("127.0.0.1", "localhost"))
    yield scripted
    scripted.close()


@pytest.fixture
def second_server(ca):
    scripted = ScriptedServer(ca.issue_cert("127.0.0.1", "localhost"))
    yield scripted
    scripted.close()


@pytest.fixture
def channels():
    return Channels()


@pytest.fixture
def sleeps(monkeypatch):
    """Retry pauses, recorded instead of slept."""
    recorded = []
    monkeypatch.setattr(http_module.time, "sleep", recorded.append)
    return recorded


@pytest.fixture
def make_http(server, ca_file, channels):
    """HttpClient factory aimed at the scripted server, trusting its CA, with recorded output channels."""
    clients = []

    def factory(product="vmanage", base_url=None, **options):
        options.setdefault("ca_path", ca_file)
        options.setdefault("timeout", 5)
        options.setdefault("retries", 3)
        options.setdefault("redactor", Redactor())
        client = HttpClient(base_url or server.url, product=product, warn=channels.warnings.append,
                            debug=channels.debug.append, **options)
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.close()


@pytest.fixture
def closed_port():
    """A local port nothing listens on."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port
