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


class RobotServer:
    """Answers POSTs with ``answer`` (a JSON-able dict) and ``status``; records every request.
    ``hold`` (a threading.Event) makes the n-th request wait, answering nothing, until set."""

    def __init__(self):
        self.requests = []  # (path, query dict, body dict)
        self.acknowledged = []  # bodies answered with success
        self.answer = {"errcode": 0, "errmsg": "ok"}
        self.status = 200
        self.hold_at: int | None = None
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
                data = json.dumps(robot.answer).encode()
                self.send_response(robot.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                if robot.status == 200 and robot.answer.get("errcode", robot.answer.get("code", 0)) == 0:
                    robot.acknowledged.append(body)

            def log_message(self, *args):
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_port}"

    def __enter__(self):
        threading.Thread(target=self.http.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.http.shutdown()
        self.http.server_close()
