"""Real servers for the reminder tests: an SMTP server (aiosmtpd) and an HTTP server standing in
for a chat robot's endpoint. Both record what they accepted."""

import json
import socket
import threading
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MailHandler:
    def __init__(self):
        self.messages = []  # parsed email.message.EmailMessage objects, as accepted
        self.reply = "250 OK"  # set to "451 …" or "550 …" to refuse

    async def handle_DATA(self, server, session, envelope):
        if not self.reply.startswith("250"):
            return self.reply
        mail = message_from_bytes(envelope.content, policy=policy.default)
        mail.envelope_to = list(envelope.rcpt_tos)
        self.messages.append(mail)
        return "250 OK"


class SMTPServer:
    def __init__(self):
        self.handler = MailHandler()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    @property
    def messages(self):
        return self.handler.messages

    def config(self) -> dict:
        return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": self.port, "MAIL_SENDER": "tracker@example.gov.cn"}

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()


class LocalHTTP:
    """An HTTP server on a free local port, serving ``handler`` in threads while in a ``with``."""

    def _serve(self, handler: type, path: str = "") -> None:
        handler.log_message = lambda *args: None
        self.http = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.http.server_port}{path}"

    def __enter__(self):
        threading.Thread(target=self.http.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.http.shutdown()
        self.http.server_close()


class RobotServer(LocalHTTP):
    """Answers POSTs with ``answer`` (a JSON-able dict) and ``status``; records every request.
    ``hold`` (a threading.Event) makes the n-th request wait, answering nothing, until set."""

    def __init__(self):
        self.requests = []  # (path, query dict, body dict)
        self.acknowledged = []  # bodies answered with success
        self.answer = {"errcode": 0, "errmsg": "ok"}
        self.status = 200
        self.hold_at: int | None = None
        self.delay = 0.0  # seconds to wait before each answer
        self.holding = threading.Event()
        self.release = threading.Event()
        robot = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                parts = urlsplit(self.path)
                robot.requests.append((parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()}, body))
                if robot.hold_at is not None and len(robot.requests) == robot.hold_at:
                    robot.holding.set()
                    robot.release.wait(30)
                    return  # the client was killed meanwhile: nothing answered, nothing acknowledged
                if robot.delay:
                    robot.release.wait(robot.delay)
                data = json.dumps(robot.answer).encode()
                self.send_response(robot.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                if robot.status == 200 and robot.answer.get("errcode", robot.answer.get("code", 0)) == 0:
                    robot.acknowledged.append(body)

        self._serve(Handler)

    def __exit__(self, *exc):
        self.release.set()
        super().__exit__(*exc)


class HostileSMTP:
    """A mail server that misbehaves as a broken or hostile one does, on a real socket:

    - ``endless_greeting``: answers the connection with ``220-`` continuation lines for ever;
    - ``silent``: accepts the connection and never says a word;
    - ``stall_after_data``: talks normally, takes the message body, then never answers the final dot.

    ``bodies`` holds every message body received (so a test sees what was delivered, even if unanswered).
    """

    def __init__(self, mode: str):
        self.mode = mode
        self.bodies: list[bytes] = []
        self.connections = 0
        self._stop = threading.Event()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]

    def config(self) -> dict:
        return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": self.port, "MAIL_SENDER": "tracker@example.gov.cn"}

    def __enter__(self):
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self.sock.close()

    def _accept(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket):
        try:
            with conn:
                if self.mode == "silent":
                    self._stop.wait(600)
                    return
                if self.mode == "endless_greeting":
                    while not self._stop.is_set():
                        conn.sendall(b"220-mail.example.gov.cn ESMTP still greeting\r\n")
                        self._stop.wait(0.01)
                    return
                self._talk(conn)
        except OSError:
            return

    def _talk(self, conn: socket.socket):
        reader = conn.makefile("rb")
        conn.sendall(b"220 mail.example.gov.cn ESMTP\r\n")
        while not self._stop.is_set():
            line = reader.readline()
            if not line:
                return
            verb = line.strip().split(b" ")[0].upper()
            if verb in (b"EHLO", b"HELO"):
                conn.sendall(b"250 mail.example.gov.cn\r\n")
            elif verb == b"DATA":
                conn.sendall(b"354 go ahead\r\n")
                body = bytearray()
                while (part := reader.readline()) not in (b".\r\n", b""):
                    body += part
                self.bodies.append(bytes(body))
                self._stop.wait(600)  # the body is here; the answer never comes
                return
            elif verb == b"QUIT":
                conn.sendall(b"221 bye\r\n")
                return
            else:
                conn.sendall(b"250 OK\r\n")


class RedirectingRobot(LocalHTTP):
    """A robot address that answers every POST with a redirect to ``target`` (an internal service)."""

    def __init__(self, target: str, status: int = 307):
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                outer.requests += 1
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(status)
                self.send_header("Location", target)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._serve(Handler, "/cgi-bin/webhook/send?key=k")


class InternalService(LocalHTTP):
    """Stands for a service on the intranet that no robot should reach: it records each request
    and answers with a banner and error text that must not reach the send log."""

    BANNER = "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3 internal-db-01.corp: password required"

    def __init__(self):
        self.requests = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                outer.requests.append((self.command, self.path, self.rfile.read(int(self.headers.get("Content-Length") or 0))))
                data = json.dumps({"errcode": 500, "errmsg": outer.BANNER}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _answer

        self._serve(Handler, "/admin")
