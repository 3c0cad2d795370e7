"""Chat robots of units: added, changed and removed by admins."""

from tracker.errors import Invalid
from tracker.extensions import db
from tracker.org.models import Unit
from tracker.reminders.models import ROBOT_CHANNELS, Channel, ChatRobot
from tracker.reminders.outbound import AllowList, check_url


def _check(kind: str, url: str, secret: str, allow: AllowList) -> tuple[Channel, str, str]:
    try:
        channel = Channel(kind)
    except ValueError:
        channel = None
    if channel not in ROBOT_CHANNELS:
        raise Invalid("请选择机器人类型：企业微信、钉钉、飞书或通用 Webhook。", "kind")
    url = check_url(url, allow)
    secret = (secret or "").strip()
    if len(secret) > 200:
        raise Invalid("加签密钥不能超过200个字符。", "secret")
    return channel, url, secret


def save_robot(robot: ChatRobot | None, *, unit: Unit | None, kind: str, name: str, url: str, secret: str,
               allow: AllowList, active: bool = True) -> ChatRobot:
    """Create a robot (``robot`` None) or change one. Everything is checked before anything is
    written; the address must be public, or allowed by ``allow`` (TRACKER_ROBOT_ALLOWED_HOSTS)."""
    if unit is None:
        raise Invalid("请选择机器人所属单位。", "unit")
    channel, url, secret = _check(kind, url, secret, allow)
    robot = robot or ChatRobot()
    robot.unit_id, robot.kind, robot.name, robot.url = unit.id, channel, (name or "").strip()[:100], url
    robot.secret, robot.active = secret, bool(active)
    db.session.add(robot)
    db.session.flush()
    return robot


def remove_robot(robot: ChatRobot) -> None:
    db.session.delete(robot)
    db.session.flush()
