"""Delivering one outbox message on its channel: the bell (a row in the same transaction), email
over SMTP, and the work-chat robots (企业微信, 钉钉 with signing, 飞书, a generic JSON webhook).

Each delivery ends in an ``Outcome``: sent; retry (a passing fault: the server is down, busy or
rate-limited); failed (it will not work by trying again: the robot said errcode 93000, the mail
server refused the address); skipped (nothing to send it with: no SMTP configured, no email
address, no robot for the unit); deferred (the robot's per-minute limit is used up, or its server
was unreachable earlier in this drain: not an attempt, just later); or unknown (the mail server
took the message body and then said nothing: it may have the mail, so it is not sent again soon).

No server can hold the sender: every SMTP session runs under a deadline (a watchdog closes the
socket when it passes, which also ends a server that greets with endless ``220-`` lines), robots
are reached through ``tracker.reminders.outbound`` (public or allowed addresses, no redirects,
short answers), and a server that failed once is not tried again in the same drain.
"""

import base64
import contextlib
import hashlib
import hmac
import logging
import re
import smtplib
import socket
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from urllib.parse import quote_plus

import requests
from sqlalchemy import select

from tracker.extensions import db
from tracker.org.models import User
from tracker.reminders import digest, outbound
from tracker.reminders.models import AttemptOutcome, Channel, ChatRobot, DeliveryAttempt, Notification, OutboxMessage
from tracker.web.params import is_on

log = logging.getLogger(__name__)

HTTP_TIMEOUT = (5, 10)  # seconds to connect, and to wait for each read
RETRY_SOON = timedelta(minutes=1)
# Messages a robot takes per minute: WeCom and DingTalk group robots allow 20; Feishu 100.
ROBOT_PER_MINUTE = {Channel.wecom: 20, Channel.dingtalk: 20, Channel.feishu: 100, Channel.webhook: 60}
# Robot error codes that mean "busy, try later" rather than "this will never work".
ROBOT_BUSY_CODES = {
    Channel.wecom: {-1, 45009},  # system busy; over the rate limit
    Channel.dingtalk: {-1, 130101},  # system busy; sending too fast
    Channel.feishu: {11232},  # frequency limited
}


@dataclass
class Outcome:
    status: AttemptOutcome
    detail: str = ""
    robot_id: int | None = None
    not_before: datetime | None = None


class SessionExpired(smtplib.SMTPServerDisconnected):
    """The SMTP session did not open within its deadline."""


class DeadlineSMTP(smtplib.SMTP):
    """smtplib's client under a deadline: past it, a watchdog shuts the socket, so that whatever
    the server does (endless greeting lines, silence, a byte a minute) the call returns. It also
    knows whether the message body was sent, to tell "not delivered" from "delivered, unanswered"."""

    def __init__(self, *, timeout: float):
        super().__init__(timeout=timeout)
        self.body_sent = False
        self.expired = False
        self._watchdog: threading.Timer | None = None

    @contextlib.contextmanager
    def deadline(self, seconds: float):
        self._watchdog = threading.Timer(seconds, self._expire)
        self._watchdog.daemon = True
        self._watchdog.start()
        try:
            yield
        finally:
            self._watchdog.cancel()

    def _expire(self) -> None:
        self.expired = True
        sock = getattr(self, "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def data(self, msg):
        """smtplib's DATA, marking the moment the body has gone: a silence after it is "unknown"."""
        self.putcmd("data")
        code, reply = self.getreply()
        if code != 354:
            raise smtplib.SMTPDataError(code, reply)
        body = re.sub(rb"(?m)^\.", b"..", msg)  # a line starting with a dot gets another (RFC 5321)
        if body[-2:] != b"\r\n":
            body += b"\r\n"
        self.send(body + b".\r\n")
        self.body_sent = True
        return self.getreply()


class DeadlineSMTP_SSL(DeadlineSMTP, smtplib.SMTP_SSL):  # noqa: N801 - named as smtplib names it
    def __init__(self, *, timeout: float):
        smtplib.SMTP_SSL.__init__(self, timeout=timeout)
        self.body_sent = False
        self.expired = False
        self._watchdog = None


class Deliverer:
    """Delivers messages for one drain: keeps one SMTP connection, the robots and their rate
    windows for the length of the drain."""

    def __init__(self, config, now: datetime):
        self.config = config
        self.base_url = config["BASE_URL"]
        self.smtp: smtplib.SMTP | None = None
        robots = db.session.scalars(select(ChatRobot).where(ChatRobot.active).order_by(ChatRobot.id))
        self.robots: dict[tuple[int, Channel], ChatRobot] = {}
        for robot in robots:
            self.robots.setdefault((robot.unit_id, robot.kind), robot)
        self.recent: dict[int, deque[datetime]] = {}
        self.now = now
        self.http = outbound.session(outbound.AllowList.from_config(config))
        # Seconds: any one SMTP read or write; connecting, greeting, TLS and login together; one message.
        self.smtp_timeout = float(config.get("MAIL_TIMEOUT_SECONDS", 10))
        self.smtp_session_seconds = float(config.get("MAIL_SESSION_SECONDS", 30))
        self.smtp_message_seconds = float(config.get("MAIL_MESSAGE_SECONDS", 60))
        self.robot_seconds = float(config.get("ROBOT_REQUEST_SECONDS", 20))  # one robot message, whole
        self.unreachable_robots: set[int] = set()  # failed to connect earlier in this drain
        self.smtp_unreachable = False

    def close(self) -> None:
        if self.smtp is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError), self.smtp.deadline(self.smtp_timeout):
                self.smtp.quit()
            self.smtp = None
        self.http.close()

    def settle_locally(self, message: OutboxMessage, now: datetime) -> Outcome | None:
        """The outcome when no server need be asked: the bell (a row), or nothing to send with.
        None when the message must go out over the network."""
        self.now = now
        if message.channel is Channel.inapp:
            return self._inapp(message)
        if message.channel is Channel.email:
            if not self.config.get("MAIL_SERVER"):
                return Outcome(AttemptOutcome.skipped, "未配置邮件服务器（TRACKER_MAIL_SERVER），邮件提醒未发送")
            if not (message.recipient.email or "").strip():
                return Outcome(AttemptOutcome.skipped, "收件人没有登记邮箱")
            return None
        if self.robot_for(message.recipient, message.channel) is None:
            return Outcome(AttemptOutcome.skipped, f"本单位及上级单位均未配置{message.channel.title}机器人")
        return None

    def deliver(self, message: OutboxMessage, now: datetime, joined: Sequence[OutboxMessage] = ()) -> Outcome:
        """Send one message over the network (after ``settle_locally`` said it must); a robot
        message with the ``joined`` ones of the same minute and group, as one post."""
        self.now = now
        if message.channel is Channel.email:
            return self._email(message)
        subject, payload = digest.together([message, *joined])
        return self._robot(message, subject, payload)

    # The bell ---------------------------------------------------------------------------------

    def _inapp(self, message: OutboxMessage) -> Outcome:
        # Written in the transaction that marks the message sent: once, or not at all.
        db.session.add(Notification(
            user_id=message.recipient_id, message_id=message.id, title=message.subject,
            body=digest.text(message.payload, message.subject, self.base_url),
            payload=message.payload, created_at=self.now,
        ))
        return Outcome(AttemptOutcome.sent, "已写入站内通知")

    # Email ------------------------------------------------------------------------------------

    def _email(self, message: OutboxMessage) -> Outcome:
        config = self.config
        server = f"{config['MAIL_SERVER']}:{config.get('MAIL_PORT') or 25}"
        if self.smtp_unreachable:
            return Outcome(AttemptOutcome.deferred, f"邮件服务器 {server} 本轮无法连接，稍后再试", not_before=self.now + RETRY_SOON)
        address = message.recipient.email.strip()
        email = self._compose(message, address)
        try:
            smtp = self._connect()
        except (smtplib.SMTPException, OSError) as error:
            expired = isinstance(error, SessionExpired)
            self.smtp_unreachable = True
            if isinstance(error, smtplib.SMTPResponseException):
                return self._smtp_reply(error.smtp_code, error.smtp_error, "邮件服务器拒绝")
            why = f"{self.smtp_session_seconds:g}秒内未完成连接和问候" if expired else outbound.reason(error)
            return Outcome(AttemptOutcome.retry, f"无法连接邮件服务器 {server}：{why}")
        smtp.body_sent = False
        try:
            with smtp.deadline(self.smtp_message_seconds):
                refused = smtp.send_message(email)
        except smtplib.SMTPRecipientsRefused as error:
            code, reason = next(iter(error.recipients.values()))
            return self._smtp_reply(code, reason, "收件地址被拒绝")
        except (smtplib.SMTPException, OSError) as error:
            body_sent, expired = smtp.body_sent, smtp.expired
            self.close()
            if body_sent and not isinstance(error, smtplib.SMTPResponseException):
                return Outcome(AttemptOutcome.unknown, f"邮件正文已交给邮件服务器 {server}，但未收到确认（可能已送达）；"
                                          f"为免重复，{UNKNOWN_WAIT_HOURS}小时后才以同一 Message-ID 重发")
            if isinstance(error, smtplib.SMTPResponseException):
                return self._smtp_reply(error.smtp_code, error.smtp_error, "邮件服务器拒绝")
            why = f"{self.smtp_message_seconds:g}秒内未发完" if expired else outbound.reason(error)
            return Outcome(AttemptOutcome.retry, f"发送到邮件服务器 {server} 时中断：{why}")
        if refused:
            return Outcome(AttemptOutcome.failed, f"收件地址被拒绝：{outbound.printable(', '.join(refused), 100)}")
        return Outcome(AttemptOutcome.sent, f"邮件已投递至 {address}")

    @staticmethod
    def _smtp_reply(code: int, reason, what: str) -> Outcome:
        text = reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)
        # 4xx is a passing refusal (greylisting, a full queue); 5xx is final.
        status = AttemptOutcome.retry if 400 <= code < 500 else AttemptOutcome.failed
        return Outcome(status, f"{what}（{code} {outbound.printable(text, 100)}）")

    def _compose(self, message: OutboxMessage, address: str) -> EmailMessage:
        config = self.config
        sender = config.get("MAIL_SENDER") or config.get("MAIL_USERNAME") or f"tracker@{socket.getfqdn()}"
        email = EmailMessage()  # the default policy encodes Chinese headers (RFC 2047) and bodies
        email["Subject"] = message.subject
        email["From"] = _address("整改跟踪系统", sender)
        email["To"] = _address(message.recipient.display_name, address)
        email["Date"] = format_datetime(self.now)
        # One id per outbox message, the same at every attempt: a mail client shows a message
        # re-sent after a crash or an unanswered DATA once.
        email["Message-ID"] = message_id(message, sender, config.get("SECRET_KEY") or "")
        email.set_content(digest.text(message.payload, message.subject, self.base_url))
        email.add_alternative(digest.html(message.payload, message.subject, self.base_url), subtype="html")
        return email

    def _connect(self) -> DeadlineSMTP:
        """The drain's SMTP session, opened (connect, greeting, TLS, login) within its deadline."""
        if self.smtp is not None:
            return self.smtp
        config = self.config
        host, port = config["MAIL_SERVER"], int(config.get("MAIL_PORT") or 25)
        kind = DeadlineSMTP_SSL if is_on(config.get("MAIL_USE_SSL")) else DeadlineSMTP
        smtp = kind(timeout=self.smtp_timeout)
        try:
            with smtp.deadline(self.smtp_session_seconds):
                smtp.connect(host, port)
                if is_on(config.get("MAIL_USE_TLS")) and not is_on(config.get("MAIL_USE_SSL")):
                    smtp.starttls()
                if config.get("MAIL_USERNAME"):
                    smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
        except (smtplib.SMTPException, OSError) as error:
            with contextlib.suppress(OSError):
                smtp.close()
            if smtp.expired:
                raise SessionExpired() from error
            raise
        self.smtp = smtp
        return smtp

    # Robots -----------------------------------------------------------------------------------

    def robot_for(self, user: User, channel: Channel) -> ChatRobot | None:
        """The robot of the user's unit, or of the nearest unit above it that has one."""
        for unit_id in reversed(user.unit.lineage):
            robot = self.robots.get((unit_id, channel))
            if robot is not None:
                return robot
        return None

    def _robot(self, message: OutboxMessage, subject: str, payload: dict) -> Outcome:
        robot = self.robot_for(message.recipient, message.channel)
        title = message.channel.title
        if robot.id in self.unreachable_robots:
            return Outcome(AttemptOutcome.deferred, f"{title}机器人本轮无法连接，稍后再试", robot.id, self.now + RETRY_SOON)
        wait_until = self._take_slot(robot)
        if wait_until is not None:
            return Outcome(AttemptOutcome.deferred, f"{robot.name or title}每分钟限发{ROBOT_PER_MINUTE[robot.kind]}条",
                           robot.id, wait_until)
        url, body = self._robot_request(robot, message, subject, payload)
        try:
            response = outbound.post(self.http, url, body, timeout=HTTP_TIMEOUT, seconds=self.robot_seconds)
        except outbound.RefusedAddress:
            return Outcome(AttemptOutcome.failed, f"{title}机器人未发送：{outbound.INTERNAL}", robot.id)
        except requests.RequestException as error:
            self.unreachable_robots.add(robot.id)
            return Outcome(AttemptOutcome.retry, f"无法连接{title}机器人：{outbound.reason(error)}", robot.id)
        status = response.status_code
        if 300 <= status < 400:
            return Outcome(AttemptOutcome.failed, f"{title}机器人地址返回了重定向（HTTP {status}），为安全起见不跟随，"
                                     "请填写机器人的最终地址", robot.id)
        if status >= 500 or status == 429:
            return Outcome(AttemptOutcome.retry, f"{title}机器人暂时不可用（HTTP {status}）", robot.id)
        if status >= 400:
            return Outcome(AttemptOutcome.failed, f"{title}机器人拒绝了请求（HTTP {status}）", robot.id)
        return self._robot_answer(robot, response)

    def _take_slot(self, robot: ChatRobot) -> datetime | None:
        """Count this send against the robot's per-minute limit; or say when a slot frees up.
        The window starts from the attempts already recorded, so two drains in a row respect it."""
        window = self.recent.get(robot.id)
        minute_ago = self.now - timedelta(minutes=1)
        if window is None:
            window = self.recent[robot.id] = deque(db.session.scalars(
                select(DeliveryAttempt.at)
                .where(DeliveryAttempt.robot_id == robot.id, DeliveryAttempt.at > minute_ago)
                .order_by(DeliveryAttempt.at)
            ))
        while window and window[0] <= minute_ago:
            window.popleft()
        if len(window) >= ROBOT_PER_MINUTE[robot.kind]:
            return window[0] + timedelta(minutes=1, seconds=1)
        window.append(self.now)
        return None

    def _robot_request(self, robot: ChatRobot, message: OutboxMessage, subject: str, payload: dict) -> tuple[str, dict]:
        base = self.base_url
        if robot.kind is Channel.wecom:
            return robot.url, {"msgtype": "markdown", "markdown": {"content": digest.markdown(payload, subject, base)}}
        if robot.kind is Channel.dingtalk:
            url = robot.url
            if robot.secret:
                stamp = str(round(time.time() * 1000))
                signed = hmac.new(robot.secret.encode(), f"{stamp}\n{robot.secret}".encode(), hashlib.sha256).digest()
                url += ("&" if "?" in url else "?") + f"timestamp={stamp}&sign={quote_plus(base64.b64encode(signed))}"
            md = digest.markdown(payload, subject, base)
            return url, {"msgtype": "markdown", "markdown": {"title": subject, "text": md}}
        if robot.kind is Channel.feishu:
            body: dict = {"msg_type": "text", "content": {"text": digest.text(payload, subject, base)}}
            if robot.secret:
                stamp = str(int(time.time()))
                signed = hmac.new(f"{stamp}\n{robot.secret}".encode(), b"", hashlib.sha256).digest()
                body |= {"timestamp": stamp, "sign": base64.b64encode(signed).decode()}
            return robot.url, body
        return robot.url, {
            "event": "tracker.reminder", "day": message.day.isoformat(), "subject": subject,
            "recipient": {"username": message.recipient.username, "name": message.recipient.display_name,
                          "email": message.recipient.email},
            "text": digest.text(payload, subject, base), "sections": payload["sections"],
        }

    def _robot_answer(self, robot: ChatRobot, response: requests.Response) -> Outcome:
        """The robot's JSON answer decides, not only the HTTP status: WeCom and DingTalk answer
        200 with {"errcode": 93000, ...} for a wrong key; Feishu with {"code": 19021, ...}."""
        title = robot.kind.title
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            if robot.kind is Channel.webhook:
                return Outcome(AttemptOutcome.sent, f"HTTP {response.status_code}", robot.id)
            return Outcome(AttemptOutcome.failed, f"{title}机器人的应答不是 JSON（HTTP {response.status_code}）", robot.id)
        code = answer.get("errcode", answer.get("code", answer.get("StatusCode", 0)))
        why = outbound.printable(answer.get("errmsg") or answer.get("msg") or answer.get("StatusMessage") or "")
        if not isinstance(code, int | str) or isinstance(code, bool):
            code = outbound.printable(code, 20)
        if code in (0, None, "0"):
            return Outcome(AttemptOutcome.sent, f"{title}机器人已接收", robot.id)
        status = AttemptOutcome.retry if code in ROBOT_BUSY_CODES.get(robot.kind, ()) else AttemptOutcome.failed
        return Outcome(status, f"{title}机器人返回错误 {code}：{why}", robot.id)


def _address(name: str, address: str) -> Address | str:
    user, _, domain = address.partition("@")
    try:
        return Address(display_name=name, username=user, domain=domain)
    except (ValueError, IndexError):
        return address


UNKNOWN_WAIT_HOURS = 6


def message_id(message: OutboxMessage, sender: str, secret: str) -> str:
    """The same Message-ID for every attempt at one outbox message, unguessable across deployments."""
    domain = sender.rpartition("@")[2].strip(">") or "tracker.invalid"
    tag = hmac.new(secret.encode(), f"outbox-{message.id}".encode(), hashlib.sha256).hexdigest()[:16]
    return f"<tracker.{message.id}.{tag}@{domain}>"
