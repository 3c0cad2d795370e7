"""Where the sender may connect: chat robots and webhooks at public addresses, and at the hosts
the operator lists in ``TRACKER_ROBOT_ALLOWED_HOSTS`` (names, addresses or networks such as
``10.20.0.0/16``: intranet robots are usually on private addresses).

Anything else (loopback, link-local such as 169.254.169.254, private, reserved, in any spelling:
``0x7f000001``, ``2130706433``, ``[::1]``, ``::ffff:127.0.0.1``) is refused twice: when an admin
saves the address (after resolving its name) and when a message is sent, on the address the
socket actually connected to, so a name that resolves differently later (DNS rebinding) gains
nothing. Redirects are never followed, and what reaches the send log of an error is a short
sentence of ours, never the other side's text.
"""

import concurrent.futures
import contextlib
import ipaddress
import socket
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from tracker.errors import Invalid

RESOLVE_TIMEOUT = 5  # seconds to resolve a robot's host name when it is saved
MAX_ANSWER_BYTES = 64 * 1024  # a robot answers a few dozen bytes of JSON
INTERNAL = ("机器人地址指向本机或内网（回环、链路本地、私有或保留地址），为防止被用来探测内网，默认不允许；"
            "如机器人确实部署在内网，请运维人员把该主机加入 TRACKER_ROBOT_ALLOWED_HOSTS。")


@dataclass(frozen=True)
class AllowList:
    hostnames: frozenset[str] = frozenset()
    networks: tuple = ()

    @classmethod
    def parse(cls, text: str | None) -> "AllowList":
        names, networks = set(), []
        for entry in (text or "").replace(";", ",").split(","):
            entry = entry.strip().lower().strip("[]")
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                names.add(entry.rstrip("."))
        return cls(frozenset(names), tuple(networks))

    @classmethod
    def from_config(cls, config) -> "AllowList":
        return cls.parse(config.get("ROBOT_ALLOWED_HOSTS"))

    def allows_name(self, host: str) -> bool:
        return (host or "").strip("[]").lower().rstrip(".") in self.hostnames

    def allows_address(self, address: str) -> bool:
        """A public address, or one inside a listed network. IPv6 addresses that carry an IPv4
        one (mapped, 6to4, Teredo, NAT64, IPv4-compatible) are judged by the IPv4 address, or
        refused where it cannot be told: a gateway could take them into the intranet."""
        try:
            ip = ipaddress.ip_address(address.split("%")[0])
        except ValueError:
            return False
        if any(ip in network for network in self.networks if network.version == ip.version):
            return True
        if ip.version == 6:
            embedded = _embedded_ipv4(ip)
            if embedded is False:
                return False
            if embedded is not None:
                return self.allows_address(str(embedded))
        return ip.is_global and not ip.is_multicast


# IPv6 ranges that stand for IPv4 addresses: True where the IPv4 address is the last 32 bits,
# False where it cannot be told (the local-use NAT64 prefix puts it where the operator chose).
_TRANSLATED = [
    (ipaddress.ip_network("64:ff9b::/96"), True),  # NAT64, well-known prefix
    (ipaddress.ip_network("64:ff9b:1::/48"), False),  # NAT64, local use
    (ipaddress.ip_network("::/96"), True),  # IPv4-compatible (deprecated)
    (ipaddress.ip_network("::ffff:0:0:0/96"), True),  # IPv4-translated (SIIT)
]


def _embedded_ipv4(ip: ipaddress.IPv6Address):
    """The IPv4 address inside an IPv6 one; None if there is none; False if it cannot be told."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]  # the client's address
    for network, last_32_bits in _TRANSLATED:
        if ip in network:
            if not last_32_bits:
                return False
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if int(ip) > 1 else None  # not :: or ::1
    return None


class RefusedAddress(Exception):
    """The socket reached an address the allow-list does not admit."""


def check_url(url: str, allow: AllowList) -> str:
    """A robot's webhook address as an admin saves it: http(s), and a host that is allowed or
    resolves to public addresses only. Raises Invalid with a plain sentence."""
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 1000:
        raise Invalid("请填写机器人的完整 Webhook 地址（以 http:// 或 https:// 开头）。", "url")
    if parts.username or parts.password:
        raise Invalid("Webhook 地址中不能包含用户名或密码。", "url")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise Invalid("Webhook 地址的端口无效。", "url") from None
    if allow.allows_name(parts.hostname):
        return url
    addresses = resolve(parts.hostname, port)
    if not addresses:
        raise Invalid(f"无法解析主机名“{parts.hostname}”，请检查 Webhook 地址。", "url")
    if not all(allow.allows_address(address) for address in addresses):
        raise Invalid(INTERNAL, "url")
    return url


def resolve(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to (numeric spellings included), or [] within RESOLVE_TIMEOUT."""
    pool = concurrent.futures.ThreadPoolExecutor(1)
    try:
        infos = pool.submit(socket.getaddrinfo, host, port, 0, socket.SOCK_STREAM).result(RESOLVE_TIMEOUT)
    except (OSError, UnicodeError, concurrent.futures.TimeoutError):
        return []
    finally:
        pool.shutdown(wait=False)
    return sorted({info[4][0] for info in infos})


_watched = threading.local()  # the sockets opened during the current ``post`` of this thread


def _guarded(base: type, allow: AllowList) -> type:
    """A urllib3 connection class that checks the address it connected to before sending a byte."""

    def _new_conn(self):
        sock = base._new_conn(self)
        peer = sock.getpeername()[0]
        if not allow.allows_name(self.host) and not allow.allows_address(peer):
            sock.close()
            raise RefusedAddress(peer)
        if getattr(_watched, "sockets", None) is not None:
            _watched.sockets.append(sock)
        return sock

    return type(f"Guarded{base.__name__}", (base,), {"_new_conn": _new_conn})


class GuardedAdapter(HTTPAdapter):
    def __init__(self, allow: AllowList):
        self.allow = allow
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        http = type("GuardedHTTPConnectionPool", (HTTPConnectionPool,), {"ConnectionCls": _guarded(HTTPConnection, self.allow)})
        https = type("GuardedHTTPSConnectionPool", (HTTPSConnectionPool,),
                     {"ConnectionCls": _guarded(HTTPSConnection, self.allow)})
        self.poolmanager.pool_classes_by_scheme = {"http": http, "https": https}


def session(allow: AllowList) -> requests.Session:
    """A requests session that connects only where ``allow`` admits, ignores the environment's
    proxies (a proxy would stand between the check and the robot), and follows no redirects."""
    s = requests.Session()
    s.trust_env = False
    adapter = GuardedAdapter(allow)
    s.mount("http://", adapter)
    s.mount("https://", adapter)
    return s


def post(s: requests.Session, url: str, body: dict, *, timeout, seconds: float) -> requests.Response:
    """POST ``body`` as JSON, without following redirects, reading at most MAX_ANSWER_BYTES, all
    within ``seconds``: ``timeout`` bounds each wait, and past ``seconds`` a watchdog shuts the
    socket, so a server that trickles a byte at a time cannot hold the sender. Each post has a
    connection of its own (Connection: close), the one the watchdog watches."""
    _watched.sockets = sockets = []

    def expire():
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    watchdog = threading.Timer(seconds, expire)
    watchdog.daemon = True
    watchdog.start()
    try:
        response = s.post(url, json=body, timeout=timeout, allow_redirects=False, stream=True,
                          headers={"Connection": "close"})
        try:
            response._content = response.raw.read(MAX_ANSWER_BYTES, decode_content=True) or b""
        except (urllib3.exceptions.HTTPError, OSError) as error:
            raise requests.ConnectionError(error) from error
        finally:
            response.close()
    finally:
        watchdog.cancel()
        _watched.sockets = None
    return response


def reason(error: BaseException) -> str:
    """A short sentence of ours for a failed connection: never the other side's text, which
    could tell a supervisor reading the send log what runs where."""
    chain = []
    while error is not None and len(chain) < 10:
        chain.append(error)
        error = error.__cause__ or error.__context__ or getattr(error, "reason", None)
        if not isinstance(error, BaseException):
            break
    names = " ".join(type(e).__name__ for e in chain)
    if any(isinstance(e, RefusedAddress) for e in chain):
        return INTERNAL
    if "NameResolution" in names or any(isinstance(e, socket.gaierror) for e in chain):
        return "无法解析主机名"
    if any(isinstance(e, requests.ConnectTimeout) for e in chain):
        return "连接超时"
    if any(isinstance(e, requests.ReadTimeout | TimeoutError | socket.timeout) for e in chain):
        return "等待应答超时"
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return "连接被拒绝"
    if any(isinstance(e, requests.exceptions.SSLError) for e in chain) or "SSL" in names:
        return "TLS 证书或握手失败"
    if any(isinstance(e, ConnectionResetError | BrokenPipeError) for e in chain):
        return "连接被对方中断"
    return "连接失败"


def printable(text, limit: int = 60) -> str:
    """Another side's words, when we keep any: printable characters only, and few of them."""
    text = "".join(ch for ch in str(text or "") if ch.isprintable())
    return text if len(text) <= limit else text[:limit] + "…"
