"""vManage's outbound network: its resolver, its HTTPS client to SSM and nping's TCP connect.

Only 127.0.0.0/8 is ever contacted: other addresses behave as filtered (connect timed out) without a
packet being sent, and the only name that resolves is `localhost`, and only while vManage has DNS.
[I] Errors carry the texts of vManage's Java stack (Apache HttpClient 4.5 on Java 11), as its log and
GUI would show them, and vManage verifies SSM's certificate (the lab CA is its trust store).
"""

import asyncio
import ipaddress
import time
from dataclasses import dataclass

import aiohttp
import yarl

from .pki import WRONG_HOST_NAME

USER_AGENT = "Apache-HttpClient/4.5.11 (Java/11.0.7)"
REQUEST_TIMEOUT_S = 20
# [I] Real timeouts are tens of seconds; the lab shortens the simulated "connect timed out".
FILTERED_CONNECT_DELAY_S = 0.2
NPING_CONNECT_TIMEOUT_S = 1.0
# OpenSSL verify codes of a certificate that is valid but names another host.
X509_HOSTNAME_MISMATCH = 62
X509_IP_ADDRESS_MISMATCH = 64
PKIX_FAILURE = (
    "javax.net.ssl.SSLHandshakeException: PKIX path building failed: "
    "sun.security.provider.certpath.SunCertPathBuilderException: "
    "unable to find valid certification path to requested target"
)


class OutboundError(Exception):
    """A failed call, worded as the Java exception vManage would log."""


@dataclass(frozen=True)
class Vantage:
    """The conditions of one vManage: DNS configured, SSM ports filtered, HTTP proxy."""

    dns_configured: bool
    filtered_ports: frozenset
    proxy: tuple | None = None


def is_loopback(address):
    try:
        return ipaddress.ip_address(address) in ipaddress.ip_network("127.0.0.0/8")
    except ValueError:
        return False


def resolve(host, vantage):
    """The address vManage connects to for `host` (None: an address outside the lab, filtered)."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if host == "localhost" and vantage.dns_configured:
            return "127.0.0.1"
        raise OutboundError(f"java.net.UnknownHostException: {host}: Name or service not known") from None
    return host if is_loopback(host) else None


def connect_timed_out(host, port, address=None):
    """What vManage's HTTP client says when its connection to host:port is filtered."""
    return (f"org.apache.http.conn.ConnectTimeoutException: Connect to {host}:{port} "
            f"[/{address or host}] failed: connect timed out")


class Network:
    def __init__(self, client_ssl_context):
        self._ssl = client_ssl_context
        self._session = None

    async def start(self):
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(force_close=True, limit=200, ssl=self._ssl),
            timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S),
            skip_auto_headers=("User-Agent", "Content-Type"),
        )

    async def close(self):
        if self._session:
            await self._session.close()

    async def post(self, url, vantage, headers=None, json_body=None):
        """POST `url` (already encoded) the way vManage's RestAPIClient does; returns (status, text)."""
        target = yarl.URL(url, encoded=True)
        address = await self._reachable_address(target.host, target.port, vantage)
        proxy = None
        if vantage.proxy:
            proxy_host, proxy_port = vantage.proxy
            proxy_address = await self._reachable_address(proxy_host, proxy_port, vantage)
            proxy = f"http://{proxy_address}:{proxy_port}"
        request_headers = {
            "User-Agent": USER_AGENT,
            "Host": f"{target.host}:{target.port}",
            "Accept-Encoding": "gzip,deflate",
            **(headers or {}),
        }
        try:
            async with self._session.post(
                target.with_host(address),
                headers=request_headers,
                json=json_body,
                proxy=proxy,
                server_hostname=target.host if address != target.host else None,
                allow_redirects=False,
            ) as response:
                return response.status, await response.text()
        except aiohttp.ClientConnectorCertificateError as error:
            raise OutboundError(self._certificate_failure(error, target.host)) from None
        except aiohttp.ClientSSLError:
            raise OutboundError("javax.net.ssl.SSLHandshakeException: Remote host terminated the handshake") from None
        except aiohttp.ClientConnectorError as error:
            if isinstance(error.os_error, ConnectionRefusedError):
                raise OutboundError(
                    f"org.apache.http.conn.HttpHostConnectException: Connect to {target.host}:{target.port} "
                    f"[/{address}] failed: Connection refused (Connection refused)") from None
            raise OutboundError(f"java.net.SocketException: {error.os_error}") from None
        except aiohttp.ServerDisconnectedError:
            raise OutboundError(
                f"org.apache.http.NoHttpResponseException: {target.host}:{target.port} failed to respond") from None
        except (asyncio.TimeoutError, aiohttp.ServerTimeoutError):
            raise OutboundError("java.net.SocketTimeoutException: Read timed out") from None
        except aiohttp.ClientError as error:
            raise OutboundError(f"java.net.SocketException: {error}") from None

    @staticmethod
    def _certificate_failure(error, host):
        if getattr(error.certificate_error, "verify_code", None) in (
                X509_HOSTNAME_MISMATCH, X509_IP_ADDRESS_MISMATCH):
            return (f"javax.net.ssl.SSLPeerUnverifiedException: Certificate for <{host}> doesn't match any "
                    f"of the subject alternative names: [{WRONG_HOST_NAME}]")
        return PKIX_FAILURE

    async def _reachable_address(self, host, port, vantage):
        address = resolve(host, vantage)
        if address is None or port in vantage.filtered_ports:
            await asyncio.sleep(FILTERED_CONNECT_DELAY_S)
            raise OutboundError(connect_timed_out(host, port, address))
        return address

    async def tcp_probe(self, address, port, vantage):
        """One nping TCP-connect probe to a resolved `address` (None: outside the lab).

        Returns (outcome, rtt_ms) with outcome connected, refused or timeout.
        """
        if address is None or port in vantage.filtered_ports:
            await asyncio.sleep(FILTERED_CONNECT_DELAY_S)
            return "timeout", None
        started = time.monotonic()
        try:
            writer = (await asyncio.wait_for(asyncio.open_connection(address, port), NPING_CONNECT_TIMEOUT_S))[1]
        except ConnectionRefusedError:
            return "refused", (time.monotonic() - started) * 1000
        except (asyncio.TimeoutError, OSError):
            return "timeout", None
        rtt_ms = (time.monotonic() - started) * 1000
        writer.close()
        return "connected", rtt_ms
