"""Attacks on signing in: floods of passwords, usernames told apart by their answers or their
timing, sprays from one address, guessed API tokens, cookies replayed after signing out, sessions
that outlive a password change. And what admins see of it: the sign-in log and the locks."""

import statistics
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from tests.conftest import PASSWORD, Client, at_once
from tracker import create_app
from tracker.errors import Invalid
from tracker.extensions import db
from tracker.org import services, signin
from tracker.org.models import SessionEnd, SignInEvent, SignInOutcome, SignInThrottle, User, UserSession

ZONE = ZoneInfo("Asia/Shanghai")
T0 = datetime(2027, 3, 10, 1, 0, tzinfo=UTC)
POLICY = signin.Policy()


def attempt(username: str, password: str, at: datetime, address: str = "10.0.0.7"):
    """One sign-in through the service, as the page makes it: the user, or the refusal."""
    try:
        return signin.sign_in(username, password, client=signin.Client(address, "test"), now=at, policy=POLICY, zone=ZONE)
    except (signin.TooManyAttempts, Invalid) as refusal:
        return refusal


def codes(results) -> list:
    return [r.status_code if isinstance(r, Exception) else 200 for r in results]


def test_fifty_wrong_passwords_then_the_right_one_is_refused(org, client):
    """The attack as measured: 50 wrong passwords in 6 s were all answered, and the right one
    was accepted straight after."""
    client._refresh_token()
    answers = [client.post("/login", data={"username": "off_a", "password": f"guess-{n}"}).status_code for n in range(50)]
    assert answers[:5] == [422] * 5  # five are checked
    assert answers[5:] == [429] * 45  # the rest must wait, unchecked
    right = client.post("/login", data={"username": "off_a", "password": PASSWORD})
    assert right.status_code == 429
    assert "秒后再试" in right.get_data(as_text=True)
    assert db.session.scalar(select(func.count(UserSession.id))) == 0  # no session was opened


def test_delays_grow_then_the_account_locks_for_fifteen_minutes(org):
    at = T0
    for _ in range(5):
        assert codes([attempt("off_a", "wrong", at)]) == [422]
        at += timedelta(milliseconds=10)
    # From the fifth failure on: 1, 2, 4, 8 s to wait after each failure.
    for wait in (1, 2, 4, 8):
        early = attempt("off_a", PASSWORD, at + timedelta(seconds=wait) - timedelta(milliseconds=500))
        assert isinstance(early, signin.TooManyAttempts) and "秒后再试" in early.message
        at += timedelta(seconds=wait)
        assert codes([attempt("off_a", "wrong", at)]) == [422]
    # That was the ninth failure; the tenth locks the account.
    at += timedelta(seconds=16)
    locking = attempt("off_a", "wrong", at)
    assert locking.status_code == 422 and "已锁定至" in locking.message
    refused = attempt("off_a", PASSWORD, at + timedelta(minutes=14))
    assert refused.status_code == 429 and "已被锁定" in refused.message
    assert attempt("off_a", PASSWORD, at + timedelta(minutes=15, seconds=1)).username == "off_a"
    outcomes = [e.outcome for e in db.session.scalars(select(SignInEvent).order_by(SignInEvent.id))]
    assert outcomes.count(SignInOutcome.failure) == 10
    assert outcomes.count(SignInOutcome.locked) == 1 and outcomes[-1] is SignInOutcome.success


def test_unknown_accounts_answer_exactly_as_existing_ones(org):
    """Neither the answers nor the throttling tell which usernames exist."""
    def run(username):
        at, seen = T0, []
        for n in range(12):
            result = attempt(username, "wrong", at)
            seen.append((result.status_code, result.message.replace(username, "X")))
            at += timedelta(seconds=2 ** max(0, n - 4) + 0.001)
        return seen

    assert run("nobody_here") == run("off_a")


def test_an_unknown_username_costs_as_long_as_a_wrong_password(app, org, client):
    """4 ms for an unknown username against 175 ms for an existing one gave usernames away."""
    app.config["PASSWORD_HASH_METHOD"] = "pbkdf2:sha256:300000"  # a real hash's cost, for this test only
    services.reset_password(org.off_a, "slow-hash-pass-1", actor=None, now=T0)
    db.session.commit()

    def timed(username):
        start = time.perf_counter()
        attempt(username, "wrong", datetime.now(UTC), address=f"10.1.{len(username)}.{time.perf_counter_ns() % 250}")
        return time.perf_counter() - start

    known = statistics.median(timed("off_a") for _ in range(3))
    unknown = statistics.median(timed("nobody") for _ in range(3))
    assert unknown > known * 0.5, (unknown, known)


def test_a_password_spray_from_one_address_is_stopped(app, org):
    global POLICY
    app.config["LOGIN_ADDRESS_LOCK_AFTER"] = 6
    saved, POLICY = POLICY, signin.Policy.from_config(app.config)
    try:
        for n, name in enumerate(["off_a", "off_a2", "off_b", "sup_a", "sup_b", "city_sup"]):
            assert codes([attempt(name, "Summer2027!", T0 + timedelta(seconds=n))]) == [422]
        # The address is locked now: even the right password of another account waits.
        blocked = attempt("off_team", PASSWORD, T0 + timedelta(seconds=10))
        assert blocked.status_code == 429 and "地址" in blocked.message
        # Another address is not.
        assert attempt("off_team", PASSWORD, T0 + timedelta(seconds=11), address="10.9.9.9").username == "off_team"
    finally:
        POLICY = saved


def test_throttling_holds_across_workers_and_restarts(app, org, database_url, tmp_path):
    for n in range(5):
        attempt("off_a", "wrong", datetime.now(UTC) + timedelta(milliseconds=n))
    other = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "test", "TESTING": True,
                        "UPLOAD_DIR": str(tmp_path), "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
    c = Client(other)
    c._refresh_token()
    assert c.post("/login", data={"username": "off_a", "password": PASSWORD}).status_code == 429
    with other.app_context():
        db.engine.dispose()


def test_parallel_attempts_cannot_outrun_the_count(app, org):
    """Thirty guesses sent at once: each reserves its failure before its password is checked."""
    results, errors = at_once(app, 30, lambda: attempt("off_a", "wrong", datetime.now(UTC)))
    assert errors == []
    checked = codes(results).count(422)
    assert checked <= POLICY.delay_after + 1 and codes(results).count(429) >= 30 - POLICY.delay_after - 1


def test_wrong_api_tokens_lock_the_address_out(app, org, api):
    client = app.test_client()
    for n in range(20):
        assert client.get("/api/v1/items", headers={"Authorization": f"Bearer trk_guess{n}"}).status_code == 401
    refused = client.get("/api/v1/items", headers={"Authorization": "Bearer trk_guess-21"})
    assert refused.status_code == 429 and "访问令牌错误次数过多" in refused.get_json()["error"]
    # From this address no token gets through while the lock lasts, not even a right one.
    assert api(org.off_a).get("/items").status_code == 429
    # Calls without any token are not guesses: they are not counted.
    db.session.execute(update(SignInThrottle).values(locked_until=None, failures=0))
    db.session.commit()
    for _ in range(30):
        assert client.get("/api/v1/items").status_code == 401
    assert api(org.off_a).get("/items").status_code == 200
    logged = db.session.scalar(select(func.count(SignInEvent.id)).where(SignInEvent.outcome == SignInOutcome.token_refused))
    assert logged == 20


def test_admins_see_the_log_and_lift_a_lock(org, login):
    at = datetime.now(UTC) - timedelta(minutes=1)
    for n in range(10):
        attempt("off_b", "wrong", at + timedelta(seconds=2 ** n))
    attempt("nobody", "wrong", at)
    admin = login(org.admin)
    page = admin.get("/admin/sign-ins").get_data(as_text=True)
    assert "当前锁定" in page and "账号 <strong>off_b</strong>" in page
    assert "登录失败" in page and "用户名不存在" in page and "被锁定" in page
    assert "已锁定" in admin.get("/admin/users").get_data(as_text=True)
    assert login(org.sup_a).get("/admin/sign-ins").status_code == 403
    done = admin.post("/admin/sign-ins/unlock", data={"key": "user:off_b"})
    assert done.status_code == 302
    assert db.session.get(SignInThrottle, "user:off_b") is None
    unlocked = db.session.scalar(select(SignInEvent).where(SignInEvent.outcome == SignInOutcome.unlocked))
    assert unlocked.actor_id == org.admin.id and unlocked.username == "off_b"
    assert login(org.off_b).get("/my").status_code == 200  # signs in again at once


def test_the_log_pages_by_keyset(org, login):
    for n in range(150):
        signin.record(SignInOutcome.failure, username=f"u{n}", now=T0 + timedelta(seconds=n))
    db.session.commit()
    admin = login(org.admin)
    first = admin.get("/admin/sign-ins").get_data(as_text=True)
    assert "u149" in first and "u40<" not in first and "更早的记录" in first
    only = admin.get("/admin/sign-ins?username=U7").get_data(as_text=True)
    assert ">u7<" in only and "u149" not in only


# Sessions --------------------------------------------------------------------------------------

def _copy(app, c: Client) -> Client:
    """Another browser holding a copy of ``c``'s session cookie."""
    copy = Client(app)
    copy.c.set_cookie("session", c.c.get_cookie("session").value)
    copy.token, copy.signed_in = c.csrf, True
    return copy


def test_a_cookie_copied_before_signing_out_is_dead_after(app, org, login):
    c = login(org.off_a)
    stolen = _copy(app, c)
    assert stolen.get("/my").status_code == 200
    c.post("/logout")
    replay = stolen.get("/my")
    assert replay.status_code == 302 and replay.headers["Location"].startswith("/login")


def test_a_password_change_ends_the_other_sessions(app, org, login):
    phone, desk = login(org.off_a), login(org.off_a)
    changed = desk.post("/profile", data={"current": PASSWORD, "new": "a-new-passphrase-7", "confirm": "a-new-passphrase-7"})
    assert changed.status_code == 302
    assert "其他1处登录已退出" in desk.get("/profile").get_data(as_text=True)
    assert desk.get("/my").status_code == 200
    assert phone.get("/my").status_code == 302
    ends = db.session.scalars(select(UserSession.end_reason).where(UserSession.ended_at.is_not(None))).all()
    assert ends == [SessionEnd.password_changed]


def test_an_admin_reset_ends_every_session_and_asks_for_a_new_password(app, org, login, client):
    victim = login(org.off_a)
    admin = login(org.admin)
    saved = admin.post(f"/admin/users/{org.off_a.id}", data={
        "username": "off_a", "name": "张三", "role": "official", "unit": str(org.county_a.id), "email": "",
        "password": "temporary-pass-42", "active": "y"})
    assert saved.status_code == 302
    assert victim.get("/my").status_code == 302
    client.login("off_a", "temporary-pass-42")
    assert client.get("/items").headers["Location"] == "/profile"
    assert client.post("/profile", data={"current": "temporary-pass-42", "new": "temporary-pass-42",
                                         "confirm": "temporary-pass-42"}).status_code == 422
    assert client.post("/profile", data={"current": "temporary-pass-42", "new": "mine-alone-2027",
                                         "confirm": "mine-alone-2027"}).status_code == 302
    assert client.get("/items").status_code == 200
    assert db.session.get(User, org.off_a.id).must_change_password is False


def test_sign_out_everywhere(app, org, login):
    phone, desk = login(org.off_a), login(org.off_a)
    assert "退出所有设备" in desk.get("/profile").get_data(as_text=True)
    done = desk.post("/logout/everywhere")
    assert done.status_code == 302 and done.headers["Location"] == "/login"
    assert phone.get("/my").status_code == 302 and desk.get("/my").status_code == 302


@pytest.mark.parametrize("column,age,reason", [
    ("last_seen_at", timedelta(hours=2, minutes=1), SessionEnd.idle),
    ("created_at", timedelta(hours=12, minutes=1), SessionEnd.lifetime),
])
def test_idle_and_old_sessions_end(app, org, login, column, age, reason):
    c = login(org.off_a)
    db.session.execute(update(UserSession).values({column: datetime.now(UTC) - age}))
    db.session.commit()
    expired = c.get("/my")
    assert expired.status_code == 302
    assert "登录已超时" in c.get("/login").get_data(as_text=True)
    assert db.session.scalar(select(UserSession.end_reason)) is reason


def test_a_deactivated_user_is_signed_out(app, org, login):
    c = login(org.off_a)
    login(org.admin).post(f"/admin/users/{org.off_a.id}", data={
        "username": "off_a", "name": "张三", "role": "official", "unit": str(org.county_a.id), "email": ""})
    assert c.get("/my").status_code == 302


def test_a_session_is_touched_at_most_once_a_minute(app, org, login):
    c = login(org.off_a)
    first = db.session.scalar(select(UserSession.last_seen_at))
    c.get("/my")
    assert db.session.scalar(select(UserSession.last_seen_at)) == first
    db.session.execute(update(UserSession).values(last_seen_at=first - timedelta(minutes=5)))
    db.session.commit()
    c.get("/my")
    assert db.session.scalar(select(UserSession.last_seen_at)) > first


def test_the_profile_lists_the_signed_in_browsers(org, login):
    login(org.off_a)
    page = login(org.off_a).get("/profile").get_data(as_text=True)
    assert page.count("<tr><td class=\"text-nowrap\">") == 2 and "本设备" in page


# Passwords -------------------------------------------------------------------------------------

@pytest.mark.parametrize("password,message", [
    ("12345678", "太常见"), ("Password1", "太常见"), ("woaini1314", "太常见"), ("short", "密码应为8至128位"),
])
def test_common_passwords_and_the_username_are_refused(org, login, password, message):
    page = login(org.off_a).post("/profile", data={"current": PASSWORD, "new": password, "confirm": password})
    assert page.status_code == 422 and message in page.get_data(as_text=True)


def test_a_password_equal_to_the_username_is_refused(org):
    with pytest.raises(Invalid, match="不能与用户名相同"):
        services.create_user("zhangsan123", role=org.off_a.role, unit=org.county_a, password="ZhangSan123")


def test_command_line_unlock_and_reset(app, org):
    for n in range(10):
        attempt("off_a", "wrong", datetime.now(UTC) + timedelta(seconds=2 ** n))
    runner = app.test_cli_runner()
    assert "已解除" in runner.invoke(args=["tracker", "unlock", "off_a"]).output
    assert db.session.get(SignInThrottle, "user:off_a") is None
    result = runner.invoke(args=["tracker", "reset-password", "off_a", "--password-stdin"], input="from-the-operator-1\n")
    assert result.exit_code == 0, result.output
    user = db.session.get(User, org.off_a.id)
    assert user.must_change_password and user.check_password("from-the-operator-1")
    assert runner.invoke(args=["tracker", "reset-password", "off_a", "--password-stdin"], input="12345678\n").exit_code == 1


def test_behind_a_trusted_proxy_the_forwarded_address_counts(app, org, database_url, tmp_path):
    proxied = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "test", "TESTING": True, "TRUSTED_PROXIES": 1,
                          "UPLOAD_DIR": str(tmp_path), "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
    c = Client(proxied)
    c._refresh_token()
    c.post("/login", data={"username": "off_a", "password": "wrong"}, headers={"X-Forwarded-For": "172.16.5.9"})
    assert db.session.scalar(select(SignInEvent.address)) == "172.16.5.9"
    with proxied.app_context():
        db.engine.dispose()


def test_an_admin_reset_revokes_the_users_api_tokens(app, org, api):
    caller = api(org.off_a)
    assert caller.get("/items").status_code == 200
    services.reset_password(org.off_a, "given-by-admin-7", actor=org.admin, now=datetime.now(UTC))
    db.session.commit()
    assert caller.get("/items").status_code == 401  # the account may be in someone else's hands


def test_a_stolen_session_cannot_guess_the_current_password(app, org, login, monkeypatch):
    """Before: the 当前密码 box on 个人设置 could be tried without limit by whoever held a session."""
    thief = login(org.off_a)
    # The clock stands still: the first wait is one second, which a loaded machine can outlast.
    from tracker import clock

    frozen = clock.utcnow()
    monkeypatch.setattr(clock, "utcnow", lambda: frozen)
    answers = [thief.post("/profile", data={"current": f"guess-{n}-x", "new": "taken-over-2027", "confirm": "taken-over-2027"})
               for n in range(12)]
    codes = [a.status_code for a in answers]
    assert codes[:5] == [422] * 5 and set(codes[5:]) == {429}
    assert "秒后再试" in answers[5].get_data(as_text=True)
    assert db.session.get(User, org.off_a.id).check_password(PASSWORD)  # nothing was changed


def test_the_guess_that_locks_the_account_ends_its_sessions(app, org, login):
    thief, owner = login(org.off_a), login(org.off_a)
    at = datetime.now(UTC) - timedelta(minutes=10)
    for n in range(9):  # spaced as the waits ask
        with pytest.raises(Invalid):
            signin.confirm_password(org.off_a, "wrong-guess", client=signin.Client("10.0.0.9"), now=at + timedelta(seconds=2 ** n),
                                    policy=POLICY, zone=ZONE)
    locking = thief.post("/profile", data={"current": "wrong-again", "new": "taken-over-2027", "confirm": "taken-over-2027"})
    assert locking.status_code == 422 and "已锁定" in locking.get_data(as_text=True)
    assert thief.get("/my").status_code == 302 and owner.get("/my").status_code == 302
    assert set(db.session.scalars(select(UserSession.end_reason))) == {SessionEnd.locked}


def test_a_parallel_burst_from_one_address_cannot_pass_its_limit(app, org):
    global POLICY
    saved, POLICY = POLICY, signin.Policy(address_lock_after=5)
    try:
        names = iter(f"spray{n}" for n in range(30))
        results, errors = at_once(app, 30, lambda: attempt(next(names), "Summer2027!", datetime.now(UTC)))
    finally:
        POLICY = saved
    assert errors == []
    assert codes(results).count(422) <= 6  # each attempt counted before it is checked, not after


@pytest.mark.parametrize("one,other,same", [
    ("2001:db8:1:2::5", "2001:db8:1:2:ffff::9", True),  # one /64: one client
    ("2001:db8:1:2::5", "2001:db8:1:3::5", False),
    ("::ffff:10.1.2.3", "10.1.2.3", True),
    ("10.1.2.3", "10.1.2.4", False),
])
def test_addresses_are_counted_per_client(one, other, same):
    assert (signin.address_key(one) == signin.address_key(other)) is same
