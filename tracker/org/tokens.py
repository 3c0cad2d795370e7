"""Creating, checking and revoking API tokens. Services flush, never commit."""

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from tracker.errors import Forbidden, Invalid
from tracker.extensions import db
from tracker.org import permissions
from tracker.org.models import ApiToken, User

PREFIX = "trk_"
NAME_MAX = 100
# last_used_at is written at most this often, so that a busy script does not write on every call.
TOUCH_EVERY = timedelta(minutes=1)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(user: User, *, name: str, now: datetime) -> tuple[ApiToken, str]:
    """A new token for ``user``: the stored record and the token itself, which is never stored."""
    name = (name or "").strip()
    if len(name) > NAME_MAX:
        raise Invalid(f"名称不能超过{NAME_MAX}字。", field="name")
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user=user, name=name, token_hash=_digest(secret), prefix=secret[:10], created_at=now)
    db.session.add(token)
    db.session.flush()
    return token, secret


def user_for_token(secret: str, *, now: datetime) -> User | None:
    """The active user a valid, unrevoked token belongs to; records when it was last used."""
    if not secret or not secret.startswith(PREFIX) or len(secret) > 100:
        return None
    token = db.session.scalar(
        select(ApiToken).where(ApiToken.token_hash == _digest(secret)).options(joinedload(ApiToken.user))
    )
    if token is None or token.revoked_at is not None or not token.user.active:
        return None
    if token.last_used_at is None or now - token.last_used_at >= TOUCH_EVERY:
        token.last_used_at = now
    return token.user


def user_tokens(user: User) -> list[ApiToken]:
    return list(db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
    ))


def revoke_token(token: ApiToken, actor: User, *, now: datetime) -> None:
    if not permissions.can_revoke_token(actor, token):
        raise Forbidden("只能撤销自己的访问令牌。")
    if token.revoked_at is None:
        token.revoked_at = now
        db.session.flush()
