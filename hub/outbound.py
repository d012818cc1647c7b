"""The one HTTP client for user-supplied URLs (action targets, Slack webhooks, push endpoints).

A URL typed by a user must not reach the hub's own network: the address is checked after DNS resolution, at
connect time, and the connection goes to the very address that was checked (no second lookup an attacker's DNS
could answer differently). Private, loopback, link-local, multicast and reserved addresses are refused unless
`[outbound] allow` names the host or a network holding the address. Redirects are never followed, every
request has a timeout, and a response body is read only up to `max_response_bytes`.

It speaks HTTP/1.1 itself over asyncio streams, with a small keep-alive pool per origin: the outbox sends
thousands of small POSTs, and a general-purpose client's per-request machinery cost about 25 times the CPU of
the exchange itself (measured on loopback: 466 against 12,900 requests per CPU-second). Errors are httpx's
exception classes (`httpx.TimeoutException`, `httpx.ConnectError`...), so callers classify them as before.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
import time
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import httpx
import msgspec

# Origins whose pools are kept open at once; idle ones are closed beyond this.
MAX_HOSTS = 256
# Idle keep-alive connections are closed after this many seconds (servers often drop theirs at 60).
KEEPALIVE_SECONDS = 30.0
MAX_HEAD_BYTES = 64 * 1024
NO_BODY = frozenset({204, 304})
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class BlockedAddress(Exception):
    """The URL's host is, or resolves to, an address the outbound policy refuses."""


class ResponseHead(NamedTuple):
    """The status and headers of a response whose body was not (completely) read."""

    status_code: int
    headers: dict[str, str]


class ResponseTooLarge(Exception):
    """The response body went past the size cap; the body read so far is kept on `partial`."""

    def __init__(self, limit: int, partial: bytes, response: ResponseHead) -> None:
        super().__init__(f"response body larger than {limit} bytes")
        self.partial = partial
        self.response = response


class OutboundResponse(msgspec.Struct):
    """A finished response: status, headers, the (capped) body and how long it took."""

    status: int
    headers: dict[str, str]
    body: bytes
    latency_ms: float

    def json(self) -> Any:
        return msgspec.json.decode(self.body)


def _is_public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )


class AddressPolicy:
    """Which addresses outbound requests may connect to: public ones, plus what the allowlist opens."""

    def __init__(self, allow: Iterable[str] = ()) -> None:
        self.hosts: set[str] = set()
        self.networks: list[IPNetwork] = []
        for entry in allow:
            try:
                self.networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                self.hosts.add(entry.lower().rstrip("."))

    def permits(self, host: str, address: IPAddress) -> bool:
        if host.lower().rstrip(".") in self.hosts:
            return True
        if any(address in network for network in self.networks):
            return True
        return _is_public(address)


Resolver = Any  # async (host, port) -> list[str]; replaceable in tests to stand in for DNS


async def system_resolve(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class _Connection:
    __slots__ = ("idle_since", "reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.idle_since = 0.0

    def usable(self, now: float) -> bool:
        """Still open, nothing unread (a server that closed an idle connection shows EOF), not idle too long."""
        return (
            not self.writer.is_closing()
            and not self.reader.at_eof()
            and not self.reader._buffer  # stray bytes: the server is out of step
            and now - self.idle_since < KEEPALIVE_SECONDS
        )

    def close(self) -> None:
        if not self.writer.is_closing():
            self.writer.close()


class _Pool:
    """One origin's keep-alive connections, and a semaphore so at most `size` requests use it at once."""

    __slots__ = ("busy", "idle", "slots")

    def __init__(self, size: int) -> None:
        self.slots = asyncio.Semaphore(size)
        self.idle: deque[_Connection] = deque()
        self.busy = 0

    def close(self) -> None:
        while self.idle:
            self.idle.pop().close()


class _Url(NamedTuple):
    scheme: str
    host: str
    port: int
    target: str
    host_header: str
    origin: str


def _parse(url: str) -> _Url:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise BlockedAddress(f"not a valid URL: {url!r}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BlockedAddress(f"only http and https URLs with a host can be called, not {url!r}")
    default = 443 if parts.scheme == "https" else 80
    port = port or default
    host = parts.hostname
    shown = f"[{host}]" if ":" in host else host
    host_header = shown if port == default else f"{shown}:{port}"
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if any(c in target for c in " \r\n"):
        raise httpx.LocalProtocolError(f"the URL's path holds a space or line break: {url!r}")
    return _Url(parts.scheme, host, port, target, host_header, f"{parts.scheme}://{host_header}")


class OutboundClient:
    """Guarded requests; one instance per hub process, shared by actions and notifier plugins.

    Each origin gets its own small pool of keep-alive connections (`max_connections_per_host`); at most
    `max_connections` requests are in flight in all.
    """

    def __init__(
        self,
        *,
        allow: Iterable[str] = (),
        timeout: float = 10.0,
        max_response_bytes: int = 64 * 1024,
        max_connections: int = 100,
        max_connections_per_host: int = 4,
        user_agent: str = "hub",
        resolver: Resolver = system_resolve,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        """`ssl_context`: how https servers are verified (default: the system's trust store, hostnames checked)."""
        self.policy = AddressPolicy(allow)
        self.max_response_bytes = max_response_bytes
        self.per_host = max_connections_per_host
        self.timeout = timeout
        self.user_agent = user_agent
        self._resolver = resolver
        self._total = asyncio.Semaphore(max_connections)
        self._pools: dict[str, _Pool] = {}
        self._ssl: ssl.SSLContext | None = ssl_context

    def _pool(self, origin: str) -> _Pool:
        pool = self._pools.get(origin)
        if pool is None:
            if len(self._pools) >= MAX_HOSTS:
                for name in [n for n, p in self._pools.items() if p.busy == 0][: len(self._pools) - MAX_HOSTS + 1]:
                    self._pools.pop(name).close()
            pool = self._pools[origin] = _Pool(self.per_host)
        return pool

    async def request(
        self,
        method: str,
        url: str,
        *,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout_seconds: float | None = None,
    ) -> OutboundResponse:
        """Send one request. Raises BlockedAddress, ResponseTooLarge, or httpx.HTTPError (timeouts included).

        Only http and https URLs are accepted; a 3xx answer is returned as it is, never followed.
        """
        parsed = _parse(url)
        head = self._head(method, parsed, content, headers)
        timeout = self.timeout if timeout_seconds is None else timeout_seconds
        pool = self._pool(parsed.origin)
        pool.busy += 1
        try:
            async with self._total, pool.slots:
                return await self._exchange(pool, parsed, head, content or b"", timeout, method == "HEAD")
        finally:
            pool.busy -= 1

    def _head(self, method: str, url: _Url, content: bytes | None, headers: Mapping[str, str] | None) -> bytes:
        lines = [f"{method} {url.target} HTTP/1.1", f"Host: {url.host_header}"]
        given = {k.lower() for k in headers or {}}
        if "user-agent" not in given:
            lines.append(f"User-Agent: {self.user_agent}")
        if "accept" not in given:
            lines.append("Accept: */*")
        if content is not None or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(content or b'')}")
        for name, value in (headers or {}).items():
            if name.lower() in ("content-length", "host", "transfer-encoding", "connection"):
                continue
            if any(c in name for c in ":\r\n ") or any(c in value for c in "\r\n"):
                raise httpx.LocalProtocolError(f"header {name!r} holds a line break or is not a valid name")
            lines.append(f"{name}: {value}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")

    async def _connect(self, url: _Url, seconds: float) -> _Connection:
        try:
            addresses = [ipaddress.ip_address(url.host)]
        except ValueError:
            try:
                async with asyncio.timeout(seconds):
                    found = await self._resolver(url.host, url.port)
                addresses = [ipaddress.ip_address(a.split("%")[0]) for a in found]
            except TimeoutError:
                raise httpx.ConnectTimeout(f"resolving {url.host} timed out") from None
            except OSError as exc:
                raise httpx.ConnectError(f"cannot resolve {url.host}: {exc}") from exc
        if not addresses:
            raise httpx.ConnectError(f"{url.host} has no address")
        refused = [a for a in addresses if not self.policy.permits(url.host, a)]
        if refused:
            # One refused address refuses the host: a name resolving to both kinds must not win by round-robin.
            raise BlockedAddress(
                f"{url.host} resolves to {refused[0]}, a private, loopback, link-local or reserved address "
                "(allow it with [outbound] allow)"
            )
        tls: dict[str, Any] = {}
        if url.scheme == "https":
            if self._ssl is None:
                self._ssl = ssl.create_default_context()
            tls = {"ssl": self._ssl, "server_hostname": url.host}
        try:
            async with asyncio.timeout(seconds):
                # The very address that was checked: no second lookup.
                reader, writer = await asyncio.open_connection(str(addresses[0]), url.port, limit=MAX_HEAD_BYTES, **tls)
        except TimeoutError:
            raise httpx.ConnectTimeout(f"connecting to {url.host}:{url.port} timed out") from None
        except (OSError, ssl.SSLError) as exc:
            raise httpx.ConnectError(f"cannot connect to {url.host}:{url.port}: {exc}") from exc
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return _Connection(reader, writer)

    async def _exchange(
        self, pool: _Pool, url: _Url, head: bytes, content: bytes, seconds: float, is_head: bool
    ) -> OutboundResponse:
        started = time.perf_counter()
        now = time.monotonic()
        while pool.idle:
            conn = pool.idle.pop()
            if conn.usable(now):
                break
            conn.close()
        else:
            conn = None
        reused = conn is not None
        if conn is None:
            conn = await self._connect(url, seconds)
        try:
            try:
                async with asyncio.timeout(seconds):
                    response, keep = await self._send(conn, head, content, is_head)
            except (ConnectionError, asyncio.IncompleteReadError) as exc:
                # A pooled connection the server had just closed: once more on a fresh one (nothing was answered).
                if not reused or (isinstance(exc, asyncio.IncompleteReadError) and exc.partial):
                    raise
                conn.close()
                conn = await self._connect(url, seconds)
                async with asyncio.timeout(seconds):
                    response, keep = await self._send(conn, head, content, is_head)
        except TimeoutError:
            conn.close()
            raise httpx.ReadTimeout(f"{url.origin} did not answer within {seconds:g} s") from None
        except asyncio.IncompleteReadError as exc:
            conn.close()
            raise httpx.RemoteProtocolError(f"{url.origin} closed the connection mid-response") from exc
        except asyncio.LimitOverrunError as exc:
            conn.close()
            raise httpx.RemoteProtocolError(f"{url.origin} sent a response head over {MAX_HEAD_BYTES} bytes") from exc
        except (ConnectionError, OSError) as exc:
            conn.close()
            raise httpx.ReadError(f"{url.origin}: {exc}") from exc
        except BaseException:
            conn.close()
            raise
        if keep:
            conn.idle_since = time.monotonic()
            pool.idle.append(conn)
        else:
            conn.close()
        response.latency_ms = round((time.perf_counter() - started) * 1000, 2)
        return response

    async def _send(
        self, conn: _Connection, head: bytes, content: bytes, is_head: bool
    ) -> tuple[OutboundResponse, bool]:
        conn.writer.write(head + content if len(content) < 65536 else head)
        if len(content) >= 65536:
            conn.writer.write(content)
        await conn.writer.drain()
        reader = conn.reader
        while True:
            raw = await reader.readuntil(b"\r\n\r\n")
            status_line, *header_lines = raw[:-4].decode("latin-1").split("\r\n")
            version, _, rest = status_line.partition(" ")
            try:
                status = int(rest[:3])
            except ValueError:
                raise httpx.RemoteProtocolError(f"not an HTTP status line: {status_line[:100]!r}") from None
            if not version.startswith("HTTP/1.") or not 100 <= status <= 599:
                raise httpx.RemoteProtocolError(f"not an HTTP/1.x status line: {status_line[:100]!r}")
            if status >= 200 or status == 101:
                break  # 1xx interim answers (100 Continue) are skipped
        headers: dict[str, str] = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            key = name.strip().lower()
            headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
        keep = version == "HTTP/1.1" and "close" not in headers.get("connection", "").lower()
        cap = self.max_response_bytes
        if is_head or status in NO_BODY or status < 200:
            return OutboundResponse(status, headers, b"", 0.0), keep
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = await self._chunked(reader, cap, status, headers)
        elif "content-length" in headers:
            try:
                length = int(headers["content-length"])
            except ValueError:
                raise httpx.RemoteProtocolError("the Content-Length header is not a number") from None
            if length > cap:
                raise ResponseTooLarge(cap, await reader.read(cap), ResponseHead(status, headers))
            body = await reader.readexactly(length)
        else:
            keep = False  # the body ends when the server closes the connection
            body = await reader.read(cap + 1)
            while len(body) <= cap and (more := await reader.read(cap + 1 - len(body))):
                body += more
            if len(body) > cap:
                raise ResponseTooLarge(cap, body[:cap], ResponseHead(status, headers))
        return OutboundResponse(status, headers, body, 0.0), keep

    async def _chunked(self, reader: asyncio.StreamReader, cap: int, status: int, headers: dict[str, str]) -> bytes:
        body = bytearray()
        while True:
            size_line = await reader.readuntil(b"\r\n")
            try:
                size = int(size_line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise httpx.RemoteProtocolError("a malformed chunk size") from None
            if size == 0:
                while await reader.readuntil(b"\r\n") != b"\r\n":
                    pass  # trailers
                return bytes(body)
            if len(body) + size > cap:
                body += await reader.read(cap - len(body))
                raise ResponseTooLarge(cap, bytes(body), ResponseHead(status, headers))
            body += await reader.readexactly(size)
            await reader.readexactly(2)

    async def post(
        self,
        url: str,
        *,
        content: bytes,
        headers: Mapping[str, str] | None = None,
        timeout_seconds: float | None = None,
    ) -> OutboundResponse:
        return await self.request("POST", url, content=content, headers=headers, timeout_seconds=timeout_seconds)

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.close()
