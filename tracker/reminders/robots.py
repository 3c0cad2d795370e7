"""Chat robots of units: added, changed and removed by admins."""

from urllib.parse import urlsplit

from tracker.auth.models import Unit
from tracker.errors import Invalid
from tracker.extensions import db
from tracker.reminders.models import ROBOT_CHANNELS, Channel, ChatRobot


def _check(kind: str, url: str, secret: str) -> tuple[Channel, str, str]:
    try:
        channel = Channel(kind)
    except ValueError:
        channel = None
    if channel not in ROBOT_CHANNELS:
        raise Invalid("请选择机器人类型：企业微信、钉钉、飞书或通用 Webhook。", "kind")
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > 1000:
        raise Invalid("请填写机器人的完整 Webhook 地址（以 http:// 或 https:// 开头）。", "url")
    secret = (secret or "").strip()
    if len(secret) > 200:
        raise Invalid("加签密钥不能超过200个字符。", "secret")
    return channel, url, secret


def save_robot(robot: ChatRobot | None, *, unit: Unit | None, kind: str, name: str, url: str, secret: str,
               active: bool = True) -> ChatRobot:
    """Create a robot (``robot`` None) or change one. Everything is checked before anything is written."""
    if unit is None:
        raise Invalid("请选择机器人所属单位。", "unit")
    channel, url, secret = _check(kind, url, secret)
    robot = robot or ChatRobot()
    robot.unit_id, robot.kind, robot.name, robot.url = unit.id, channel, (name or "").strip()[:100], url
    robot.secret, robot.active = secret, bool(active)
    db.session.add(robot)
    db.session.flush()
    return robot


def remove_robot(robot: ChatRobot) -> None:
    db.session.delete(robot)
    db.session.flush()
