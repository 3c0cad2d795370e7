"""Signing in, as a rule of the domain (as Warehouse has it): throttling per account and per client
address, the sign-in log, and server-side sessions that signing out, a password change or an
admin's reset end for good.

Throttling counts in the database (``SignInThrottle``), so that it holds across workers, machines
and restarts:

- from the 5th failure within 15 minutes, each further attempt must wait 1, 2, 4, 8, 16 seconds
  after the last one, and is refused (429) without the password being checked;
- the 10th failure locks the account for 15 minutes; an admin can lift the lock;
- an address with 100 failures in 15 minutes (any accounts: password spraying) is locked likewise,
  and one with 20 wrong API tokens is refused on the API for 15 minutes.

An account that does not exist is counted, delayed and locked exactly like one that does, and a
dummy password hash is checked for it, so neither the answers nor their timing tell which
usernames exist.

An attempt reserves its failure before the password is checked (committed at once), so that
parallel attempts each see the ones before them: fifty at once cannot all be checked. A right
password gives the reservation back. ``sign_in`` therefore commits itself, unlike other services.
"""

import hashlib
import ipaddress
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from tracker.errors import DomainError, Invalid
from tracker.extensions import db, insert_ignore
from tracker.org.models import SessionEnd, SignInEvent, SignInOutcome, SignInThrottle, User, UserSession
from tracker.storable import storable

WRONG = "用户名或密码不正确，或账号已停用。"
TOUCH_EVERY = timedelta(minutes=1)  # a session's last_seen_at is written at most this often


class TooManyAttempts(DomainError):
    status_code = 429


@dataclass(frozen=True)
class Policy:
    delay_after: int = 5
    lock_after: int = 10
    address_lock_after: int = 100
    token_lock_after: int = 20
    window: timedelta = timedelta(minutes=15)
    lock: timedelta = timedelta(minutes=15)
    idle: timedelta = timedelta(hours=2)
    lifetime: timedelta = timedelta(hours=12)

    @classmethod
    def from_config(cls, config) -> "Policy":
        return cls(
            delay_after=int(config.get("LOGIN_DELAY_AFTER", cls.delay_after)),
            lock_after=int(config.get("LOGIN_LOCK_AFTER", cls.lock_after)),
            address_lock_after=int(config.get("LOGIN_ADDRESS_LOCK_AFTER", cls.address_lock_after)),
            token_lock_after=int(config.get("TOKEN_ADDRESS_LOCK_AFTER", cls.token_lock_after)),
            window=timedelta(minutes=float(config.get("LOGIN_WINDOW_MINUTES", 15))),
            lock=timedelta(minutes=float(config.get("LOGIN_LOCK_MINUTES", 15))),
            idle=timedelta(minutes=float(config.get("SESSION_IDLE_MINUTES", 120))),
            lifetime=timedelta(hours=float(config.get("SESSION_LIFETIME_HOURS", 12))),
        )

    def wait_after(self, failures: int) -> timedelta:
        """How long an attempt must wait after the last failure, given the failures so far."""
        if failures < self.delay_after:
            return timedelta(0)
        return timedelta(seconds=2 ** min(failures - self.delay_after, 16))


@dataclass(frozen=True)
class Client:
    """Where an attempt comes from, as the door saw it."""

    address: str = ""
    user_agent: str = ""

    def clean(self) -> "Client":
        return Client(storable(self.address or "")[:45], storable(self.user_agent or "")[:200])


def account_key(username: str) -> str:
    return "user:" + (username or "").strip().lower()[:64]


def _client_block(address: str) -> str:
    """What one client can be told apart by: its IPv4 address, or its IPv6 /64 (a host with a
    /64 chooses any address in it)."""
    try:
        ip = ipaddress.ip_address((address or "").split("%")[0])
    except ValueError:
        return (address or "")[:45]
    if ip.version == 4:
        return str(ip)
    if ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ipaddress.ip_network(f"{ip}/64", strict=False))


def address_key(address: str) -> str:
    return "address:" + _client_block(address)


def token_key(address: str) -> str:
    return "token:" + _client_block(address)


# Signing in ------------------------------------------------------------------------------------

def sign_in(username: str, password: str, *, client: Client, now: datetime, policy: Policy, zone) -> User:
    """The active user with these credentials. Raises TooManyAttempts (429) when the account or
    the address must wait or is locked, Invalid (422) for wrong credentials. Commits the refusal,
    the reservation and the failure; a success is flushed, for the door to commit with its session."""
    client = client.clean()
    name = (username or "").strip()[:64]
    user = _attempt(name, password, lambda: db.session.scalar(
        select(User).where(User.username == name).options(joinedload(User.unit))
    ), client=client, now=now, policy=policy, zone=zone, wrong=WRONG, field="password")
    record(SignInOutcome.success, username=name, user=user, client=client, now=now)
    db.session.flush()  # the door commits, with the session it starts
    return user


def confirm_password(user: User, password: str, *, client: Client, now: datetime, policy: Policy, zone) -> None:
    """A signed-in user's current password, as asked before changing it: throttled and counted
    against the account exactly as signing in is, so that a stolen session cannot guess it. The
    guess that locks the account also ends every session of the user, the stolen one included."""
    client = client.clean()
    _attempt(user.username.lower(), password, lambda: user, client=client, now=now, policy=policy, zone=zone,
             wrong="当前密码不正确。", field="current")


def _attempt(name: str, password: str, find_user, *, client: Client, now: datetime, policy: Policy, zone,
             wrong: str, field: str) -> User:
    """Check ``password`` for the account ``name`` under the throttle; the user on success."""
    db.session.commit()  # end what the request read: the reservation must be the transaction's first write
    keys = [account_key(name), address_key(client.address)]
    rows = _load(keys, now, policy)
    refusal = _refusal(rows, now, policy, zone)
    if refusal is not None:
        for row in rows:
            row.refusals += 1
        db.session.commit()
        raise TooManyAttempts(refusal, field=field)
    for row in rows:  # reserve this attempt's failure
        row.failures += 1
        row.last_failure_at = now
    db.session.commit()

    account, address = rows
    user = find_user()
    if _password_matches(user, password or ""):
        db.session.delete(account)
        # The address gives back this attempt's reservation, counted in SQL: other attempts from
        # the same address may have reserved theirs since.
        db.session.execute(update(SignInThrottle).where(SignInThrottle.key == address.key, SignInThrottle.failures > 0)
                           .values(failures=SignInThrottle.failures - 1).execution_options(synchronize_session=False))
        return user

    record(SignInOutcome.failure, username=name, user=user, client=client, now=now,
           detail=("当前密码错误" if field == "current" else "密码错误") if user is not None and user.active
           else ("账号已停用" if user is not None else "用户名不存在"))
    message = wrong
    if account.failures >= policy.lock_after and account.locked_until is None:
        account.locked_until = now + policy.lock
        record(SignInOutcome.locked, username=name, user=user, client=client, now=now,
               detail=f"连续{account.failures}次密码错误，锁定至{_local(account.locked_until, zone)}")
        message = (f"{wrong.rstrip('。')}。连续失败次数过多，该账号已锁定至 {_local(account.locked_until, zone)}，"
                   "届时可再试，或联系管理员解锁。")
        if user is not None:
            end_sessions(user, reason=SessionEnd.locked, now=now)
    if address.failures >= policy.address_lock_after and address.locked_until is None:
        address.locked_until = now + policy.lock
        record(SignInOutcome.locked, username=name, client=client, now=now,
               detail=f"地址 {client.address} 在{_minutes(policy.window)}分钟内登录失败{address.failures}次，锁定至"
                      f"{_local(address.locked_until, zone)}")
    db.session.commit()
    raise Invalid(message, field=field)


def _load(keys: list[str], now: datetime, policy: Policy) -> list[SignInThrottle]:
    """The throttle rows of ``keys``, created if missing and locked for this transaction; a window
    (and a lock) that has passed starts afresh."""
    for key in keys:
        db.session.execute(insert_ignore(SignInThrottle).values(key=key, failures=0, refusals=0, window_start=now))
    rows = {row.key: row for row in db.session.scalars(
        select(SignInThrottle).where(SignInThrottle.key.in_(keys)).with_for_update().execution_options(populate_existing=True)
    )}
    for row in rows.values():
        if row.locked_until is not None and row.locked_until > now:
            continue  # locked: nothing starts afresh until the lock runs out
        if row.locked_until is not None or row.window_start <= now - policy.window:
            row.failures, row.refusals, row.window_start, row.locked_until = 0, 0, now, None
    return [rows[key] for key in keys]


def _refusal(rows: list[SignInThrottle], now: datetime, policy: Policy, zone) -> str | None:
    """Why this attempt may not be checked now, or None. The counts include the attempts under
    way (reserved, not yet judged), so a burst in parallel cannot pass the limits before the
    first of it sets the lock."""
    account, address = rows
    if account.locked_until is not None and account.locked_until > now or account.failures >= policy.lock_after:
        until = account.locked_until or now + policy.lock
        return f"该账号因连续登录失败已被锁定，请于 {_local(until, zone)} 后再试，或联系管理员解锁。"
    if address.locked_until is not None and address.locked_until > now or address.failures >= policy.address_lock_after:
        until = address.locked_until or now + policy.lock
        return f"您所在的地址登录失败次数过多，已暂停登录至 {_local(until, zone)}，请稍后再试或联系管理员。"
    wait = policy.wait_after(account.failures)
    if wait and account.last_failure_at is not None and now < account.last_failure_at + wait:
        seconds = max(1, int((account.last_failure_at + wait - now).total_seconds() + 0.999))
        return f"登录失败次数较多，请 {seconds} 秒后再试。"
    return None


_DUMMY: dict[str, str] = {}


def _password_matches(user: User | None, password: str) -> bool:
    """Check the password; for no user or an inactive one, check a dummy hash of the same method,
    so that every wrong answer costs the same time."""
    if user is not None and user.active and user.password_hash:
        return check_password_hash(user.password_hash, password)
    method = _hash_method()
    if method not in _DUMMY:
        _DUMMY[method] = generate_password_hash(secrets.token_hex(16), method=method)
    check_password_hash(_DUMMY[method], password)
    return False


def _hash_method() -> str:
    from flask import current_app

    return current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")


# API tokens ------------------------------------------------------------------------------------

def token_refusal(address: str, now: datetime, zone) -> str | None:
    """The refusal for an address that sent too many wrong API tokens, while its lock lasts."""
    row = db.session.get(SignInThrottle, token_key(address))
    if row is not None and row.locked_until is not None and row.locked_until > now:
        return f"访问令牌错误次数过多，请于 {_local(row.locked_until, zone)} 后再试。"
    return None


def token_failed(client: Client, now: datetime, policy: Policy, zone) -> None:
    """Count a wrong API token from this address; the ``token_lock_after``-th locks it. Flushes."""
    client = client.clean()
    (row,) = _load([token_key(client.address)], now, policy)
    row.failures += 1
    row.last_failure_at = now
    if row.failures <= policy.token_lock_after:
        record(SignInOutcome.token_refused, client=client, now=now, detail=f"地址 {client.address} 的第{row.failures}次")
    if row.failures >= policy.token_lock_after and row.locked_until is None:
        row.locked_until = now + policy.lock
        record(SignInOutcome.locked, client=client, now=now,
               detail=f"地址 {client.address} 的访问令牌错误{row.failures}次，锁定至{_local(row.locked_until, zone)}")
    db.session.flush()


# Locks -----------------------------------------------------------------------------------------

def current_locks(now: datetime) -> list[SignInThrottle]:
    return list(db.session.scalars(
        select(SignInThrottle).where(SignInThrottle.locked_until > now).order_by(SignInThrottle.locked_until.desc())
    ))


def unlock(key: str, *, actor: User, now: datetime) -> SignInThrottle | None:
    """Lift a lock (and forget the failures behind it). Flushes."""
    row = db.session.get(SignInThrottle, key)
    if row is None:
        return None
    user = db.session.scalar(select(User).where(User.username == row.subject)) if row.kind == "user" else None
    record(SignInOutcome.unlocked, username=row.subject if row.kind == "user" else "", user=user, actor=actor,
           now=now, client=Client(address=row.subject if row.kind != "user" else ""),
           detail=f"解除{'账号' if row.kind == 'user' else '地址'} {row.subject} 的锁定（此前失败{row.failures}次）")
    db.session.delete(row)
    db.session.flush()
    return row


def unlock_account(username: str, *, actor: User | None, now: datetime) -> bool:
    row = db.session.get(SignInThrottle, account_key(username))
    if row is None:
        return False
    record(SignInOutcome.unlocked, username=row.subject, actor=actor, now=now, detail="解除账号锁定")
    db.session.delete(row)
    db.session.flush()
    return True


# The log ---------------------------------------------------------------------------------------

def record(outcome: SignInOutcome, *, now: datetime, username: str = "", user: User | None = None,
           client: Client | None = None, detail: str = "", actor: User | None = None) -> SignInEvent:
    client = (client or Client()).clean()
    event = SignInEvent(
        at=now, username=storable(username or (user.username if user else "")).lower()[:64],
        user_id=user.id if user else None, address=client.address, user_agent=client.user_agent,
        outcome=outcome, detail=storable(detail)[:200], actor_id=actor.id if actor else None,
    )
    db.session.add(event)
    return event


def sign_in_log(*, username: str = "", before: int | None = None, limit: int = 100) -> tuple[list[SignInEvent], int | None]:
    """The newest log lines (of one account, when given), ``limit`` at a time below id ``before``:
    keyset pages, as cheap on the millionth line as on the first."""
    query = select(SignInEvent).options(joinedload(SignInEvent.actor)).order_by(SignInEvent.id.desc()).limit(limit + 1)
    if username:
        query = query.where(SignInEvent.username == username.strip().lower()[:64])
    if before is not None:
        query = query.where(SignInEvent.id < before)
    rows = list(db.session.scalars(query))
    return rows[:limit], (rows[limit - 1].id if len(rows) > limit else None)


def prune(now: datetime, *, keep_days: int) -> dict:
    """Forget log lines older than ``keep_days``, sessions ended a month ago, spent throttle rows."""
    logged = db.session.execute(delete(SignInEvent).where(SignInEvent.at < now - timedelta(days=keep_days))).rowcount
    sessions = db.session.execute(delete(UserSession).where(
        (UserSession.ended_at < now - timedelta(days=30)) | (UserSession.last_seen_at < now - timedelta(days=30))
    )).rowcount
    throttles = db.session.execute(delete(SignInThrottle).where(
        SignInThrottle.window_start < now - timedelta(days=1),
        (SignInThrottle.locked_until.is_(None)) | (SignInThrottle.locked_until < now),
    )).rowcount
    db.session.flush()
    return {"sign_in_events": logged, "sessions": sessions, "throttles": throttles}


# Sessions --------------------------------------------------------------------------------------

def fingerprint(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def start_session(user: User, *, client: Client, now: datetime) -> str:
    """A new session for ``user``; returns the secret the cookie carries (never stored). Flushes."""
    client = client.clean()
    secret = secrets.token_urlsafe(32)
    db.session.add(UserSession(token_hash=fingerprint(secret), user_id=user.id, created_at=now, last_seen_at=now,
                               address=client.address, user_agent=client.user_agent))
    db.session.flush()
    return secret


@dataclass
class Loaded:
    user: User | None
    expired: bool = False  # the session was ended just now for being idle or too old
    touch: bool = False  # last_seen_at is due to be written


def load_session(secret: str | None, user_id: str, *, now: datetime, policy: Policy) -> Loaded:
    """The user of a live session (the cookie's secret and user id must agree). A session idle or
    older than the policy allows is ended here (flushed; the caller commits)."""
    if not secret or not user_id.isdigit():
        return Loaded(None)
    row = db.session.scalar(
        select(UserSession).where(UserSession.token_hash == fingerprint(secret), UserSession.ended_at.is_(None))
        .options(joinedload(UserSession.user).joinedload(User.unit))
    )
    if row is None or row.user_id != int(user_id):
        return Loaded(None)
    if not row.user.active:
        row.ended_at, row.end_reason = now, SessionEnd.deactivated
        return Loaded(None, expired=True)
    if now - row.last_seen_at > policy.idle or now - row.created_at > policy.lifetime:
        row.ended_at = now
        row.end_reason = SessionEnd.idle if now - row.last_seen_at > policy.idle else SessionEnd.lifetime
        record(SignInOutcome.expired, user=row.user, now=now, client=Client(row.address, row.user_agent),
               detail=row.end_reason.title)
        return Loaded(None, expired=True)
    return Loaded(row.user, touch=now - row.last_seen_at >= TOUCH_EVERY)


def touch_statement(secret: str, now: datetime):
    """The UPDATE that marks a session as seen now (run after the request, in its own transaction)."""
    return (update(UserSession).where(UserSession.token_hash == fingerprint(secret), UserSession.ended_at.is_(None))
            .values(last_seen_at=now))


def end_session(secret: str | None, *, reason: SessionEnd, now: datetime) -> None:
    if secret:
        db.session.execute(update(UserSession).where(UserSession.token_hash == fingerprint(secret), UserSession.ended_at.is_(None))
                           .values(ended_at=now, end_reason=reason))


def end_sessions(user: User, *, reason: SessionEnd, now: datetime, keep: str | None = None) -> int:
    """End every live session of ``user`` but the one whose secret is ``keep``. Returns how many."""
    query = update(UserSession).where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
    if keep:
        query = query.where(UserSession.token_hash != fingerprint(keep))
    return db.session.execute(query.values(ended_at=now, end_reason=reason)).rowcount


def live_sessions(user: User) -> list[UserSession]:
    return list(db.session.scalars(
        select(UserSession).where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
        .order_by(UserSession.last_seen_at.desc()).limit(50)
    ))


def _local(moment: datetime, zone) -> str:
    return moment.astimezone(zone).strftime("%H:%M")


def _minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)
