"""Reminder pages (bell, send log, settings, calendar, robots, channel choice), the ``remind``
command, and the scheduler: its lock (one per database, across processes) and its jobs."""

import json
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import func, select

from tests.servers import free_port
from tracker import clock
from tracker.extensions import db
from tracker.reminders import jobs
from tracker.reminders.models import CalendarDay, ChatRobot, Notification, OutboxMessage, ReminderPass
from tracker.scheduler import jobs as job_ids
from tracker.scheduler.lock import SchedulerLock
from tracker.scheduler.runner import JOB_DEFAULTS, configure, should_start_in_process

D = date(2027, 3, 10)
ROOT = Path(__file__).resolve().parent.parent


def _due_today(make, org, title="执法案卷不规范"):
    return make.item(org.county_a, org.off_a, deadline_days=(D - make.today).days, title=title)


def test_the_bell_counts_unread_reminders_and_lists_them(app, make, org, login):
    _due_today(make, org)
    page = login(org.off_a)
    page.post("/notifications/read")  # the item's own notice (assigned at creation), read
    jobs.remind(D)
    home = page.get("/my").get_data(as_text=True)
    assert 'id="bell-count">1<' in home
    listing = page.get("/notifications").get_data(as_text=True)
    assert "执法案卷不规范" in listing and "今天到期" in listing and "未读" in listing
    assert page.post("/notifications/read").status_code == 302
    assert 'id="bell-count"' not in page.get("/my").get_data(as_text=True)
    assert db.session.scalar(select(func.count(Notification.id)).where(Notification.read_at.is_(None))) == 0
    other = login(org.off_a2).get("/notifications").get_data(as_text=True)
    assert "执法案卷不规范" not in other  # one's notifications are one's own


def test_users_choose_their_channels_on_the_profile(app, org, login):
    page = login(org.off_a)
    assert 'id="channel-email" checked' in page.get("/profile").get_data(as_text=True)
    response = page.post("/profile/channels", {"channel": ["inapp", "wecom", "nonsense"]})
    assert response.status_code == 302
    db.session.refresh(org.off_a)
    assert org.off_a.notify_channels == "inapp,wecom"
    text = page.get("/profile").get_data(as_text=True)
    assert 'id="channel-wecom" checked' in text and 'id="channel-email" checked' not in text


def test_the_send_log_shows_each_message_to_supervisors_of_the_recipients_unit(app, make, org, login):
    _due_today(make, org, "甲县的事项")
    make.item(org.county_b, org.off_b, deadline_days=(D - make.today).days, title="乙县的事项")
    jobs.remind(D)
    city = login(org.city_sup).get("/reminders/log").get_data(as_text=True)
    assert city.count("张三") >= 2 and "off_b" in city and "未配置邮件服务器" in city and "已发送" in city
    county = login(org.sup_b).get("/reminders/log").get_data(as_text=True)
    assert "张三" not in county and "off_b" in county
    filtered = login(org.city_sup).get("/reminders/log?status=skipped&channel=email&day=2027-03-10").get_data(as_text=True)
    assert "站内通知</td>" not in filtered and "电子邮件" in filtered
    # The totals follow the filters (the status aside), and without a day cover the last week only.
    import re

    def totals(query: str) -> str:
        page = login(org.city_sup).get(f"/reminders/log?{query}").get_data(as_text=True)
        return re.sub(r"\s+", " ", page.split('id="log-totals">')[1].split("</div>")[0])

    everything, email = totals("day=2027-03-10"), totals("day=2027-03-10&channel=email")
    assert everything != email and "近7天" in totals("")
    assert "已发送 0" in email, "email is skipped here (no mail server): nothing sent by email"
    assert login(org.off_a).get("/reminders/log").status_code == 403
    for query in ("day=2027-02-30&status=x&before=abc", "before=²", "before=99999999999999", "channel=x%20y"):
        assert login(org.city_sup).get(f"/reminders/log?{query}").status_code == 200


def test_admins_change_the_rules_and_bad_values_are_explained(app, org, login):
    page = login(org.admin)
    form = page.get("/admin/reminders").get_data(as_text=True)
    assert 'value="7,3,1,0"' in form and 'value="09:00"' in form
    bad = page.post("/admin/reminders", {"days_before": "七天", "overdue_repeat_days": "3", "escalate_after_days": "1",
                                         "review_wait_days": "3", "remind_at": "09:00"})
    assert bad.status_code == 422 and "逗号分隔的整数" in bad.get_data(as_text=True)
    good = page.post("/admin/reminders", {"days_before": "5,1,0", "overdue_repeat_days": "2", "escalate_after_days": "2",
                                          "review_wait_days": "4", "remind_at": "08:30", "working_days_only": "y"})
    assert good.status_code == 302
    assert 'value="5,1,0"' in page.get("/admin/reminders").get_data(as_text=True)
    assert login(org.city_sup).get("/admin/reminders").status_code == 403


def test_admins_keep_the_holiday_calendar(app, org, login):
    page = login(org.admin)
    assert page.post("/admin/reminders/calendar", {"day": "2027-10-01", "kind": "holiday", "name": "国庆节"}).status_code == 302
    again = page.post("/admin/reminders/calendar", {"day": "2027-10-01", "kind": "holiday"})
    assert again.status_code == 409 and "已登记" in again.get_data(as_text=True)
    weekend = page.post("/admin/reminders/calendar", {"day": "2027-10-02", "kind": "holiday"})
    assert weekend.status_code == 422 and "周末本来就不上班" in weekend.get_data(as_text=True)
    bad = page.post("/admin/reminders/calendar", {"day": "2027-02-30", "kind": "holiday"})
    assert bad.status_code == 422 and "日期无效" in bad.get_data(as_text=True)
    row = db.session.scalar(select(CalendarDay))
    assert "国庆节" in page.get("/admin/reminders").get_data(as_text=True)
    assert page.post(f"/admin/reminders/calendar/{row.id}/remove").status_code == 302
    assert db.session.scalar(select(func.count(CalendarDay.id))) == 0


def test_admins_register_chat_robots(app, org, login):
    page = login(org.admin)
    bad = page.post("/admin/robots", {"unit": org.county_a.id, "kind": "wecom", "url": "qyapi.weixin.qq.com/send"})
    assert bad.status_code == 422 and "完整 Webhook 地址" in bad.get_data(as_text=True)
    fields = {"unit": org.county_a.id, "kind": "dingtalk", "name": "甲县督办群",
              "url": "http://10.0.0.5/robot/send?access_token=x", "secret": "SEC1", "active": "y"}
    intranet = page.post("/admin/robots", fields)  # a private address: refused until the operator allows it
    assert intranet.status_code == 422 and "TRACKER_ROBOT_ALLOWED_HOSTS" in intranet.get_data(as_text=True)
    app.config["ROBOT_ALLOWED_HOSTS"] = "10.0.0.0/8"
    good = page.post("/admin/robots", fields)
    assert good.status_code == 302
    robot = db.session.scalar(select(ChatRobot))
    assert (robot.kind.value, robot.secret, robot.unit_id) == ("dingtalk", "SEC1", org.county_a.id)
    listing = page.get("/admin/robots").get_data(as_text=True)
    assert "甲县督办群" in listing and "加签" in listing
    assert page.post(f"/admin/robots/{robot.id}", {"unit": org.county_a.id, "kind": "dingtalk", "name": "改名",
                                                   "url": robot.url}).status_code == 302
    db.session.refresh(robot)
    assert robot.name == "改名" and robot.active is False
    assert page.post(f"/admin/robots/{robot.id}/remove").status_code == 302
    assert login(org.sup_a).get("/admin/robots").status_code == 403


# The remind command ----------------------------------------------------------------------------

def _cli(app, *args):
    return app.test_cli_runner().invoke(args=["tracker", *args])


def test_remind_prints_the_contracts_json_and_twice_changes_nothing(app, make, org):
    _due_today(make, org)
    first = _cli(app, "remind", "--date", "2027-03-10")
    assert first.exit_code == 0, first.output
    data = json.loads(first.stdout)
    assert {k: data[k] for k in ("date", "recipients", "messages", "sent", "skipped", "failed")} == {
        "date": "2027-03-10", "recipients": 1, "messages": 2, "sent": 1, "skipped": 1, "failed": 0}
    second = json.loads(_cli(app, "remind", "--date", "2027-03-10").stdout)
    assert (second["messages"], second["sent"], second["skipped"]) == (0, 0, 0)


def test_remind_dry_run_decides_and_writes_nothing(app, make, org):
    _due_today(make, org)
    result = _cli(app, "remind", "--date", "2027-03-10", "--dry-run")
    data = json.loads(result.stdout)
    assert data["recipients"] == 1 and data["digests"][0]["username"] == "off_a"
    assert data["digests"][0]["sections"][0]["items"][0]["title"] == "执法案卷不规范"
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == 0
    assert db.session.scalar(select(func.count(ReminderPass.id))) == 0


def test_remind_with_a_bad_date_is_one_sentence_and_exit_1(app):
    result = _cli(app, "remind", "--date", "2027-02-30")
    assert result.exit_code == 1 and result.stderr.strip() == "日期“2027-02-30”无效，请按 YYYY-MM-DD 填写一个真实存在的日期。"


# The scheduler ---------------------------------------------------------------------------------

def test_the_scheduler_registers_its_jobs_and_catches_up_a_missed_pass(app):
    app.config["REMIND_AT"] = "00:00"  # already past: today's pass was missed
    scheduler = BackgroundScheduler(job_defaults=JOB_DEFAULTS)
    configure(app, scheduler)
    scheduler.start(paused=True)  # jobs take their defaults on start; paused, none runs
    try:
        ids = {job.id for job in scheduler.get_jobs()}
        assert ids == {job_ids.DAILY_PASS, job_ids.DRAIN, job_ids.DRAIN_EMAIL, job_ids.HOUSEKEEPING, job_ids.CATCH_UP,
                       job_ids.YEAR_END, job_ids.YEAR_END_CATCH_UP, job_ids.URGE_AUTO, job_ids.BULLETIN_MONTHLY,
                       job_ids.STATS_REFRESH}
        assert "day='1', hour='8', minute='30'" in str(scheduler.get_job(job_ids.BULLETIN_MONTHLY).trigger)
        daily = scheduler.get_job(job_ids.DAILY_PASS)
        assert (daily.coalesce, daily.max_instances, daily.misfire_grace_time) == (True, 1, None)
        assert "hour='0', minute='0'" in str(daily.trigger)
        year_end = scheduler.get_job(job_ids.YEAR_END)  # 1 January, 02:00 local
        assert "month='1', day='1', hour='2', minute='0'" in str(year_end.trigger)
        assert year_end.next_run_time.timetuple()[1:5] == (1, 1, 2, 0)
    finally:
        scheduler.shutdown(wait=False)


def test_the_scheduler_starts_only_where_it_should(app):
    app.config["SCHEDULER"] = "off"
    assert not should_start_in_process(app)
    app.config["SCHEDULER"] = "on"
    assert should_start_in_process(app)  # no command line: a WSGI server such as gunicorn
    app.debug = True
    os.environ.pop("WERKZEUG_RUN_MAIN", None)
    assert not should_start_in_process(app)  # the reloader's watching parent
    os.environ["WERKZEUG_RUN_MAIN"] = "true"
    try:
        assert should_start_in_process(app)  # the reloader's serving child
    finally:
        del os.environ["WERKZEUG_RUN_MAIN"]


def test_one_scheduler_lock_per_database_across_processes(app, database_url):
    holder = subprocess.Popen(
        [sys.executable, "-c", (
            "import sys, time\n"
            "from tracker.scheduler.lock import SchedulerLock\n"
            f"lock = SchedulerLock({database_url!r}, {app.instance_path!r})\n"
            "print(lock.acquire(), flush=True)\n"
            "sys.stdin.readline()\n"
        )],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "True"
        ours = SchedulerLock(database_url, app.instance_path)
        assert ours.acquire() is False  # held by the other process
    finally:
        holder.communicate("\n", timeout=10)  # the holder exits: the lock is released with it
    assert ours.acquire() is True
    ours.release()


def test_two_web_processes_run_one_scheduler_which_catches_up_todays_pass(app, make, org, database_url, tmp_path):
    """Real web processes with TRACKER_SCHEDULER=on and a daily time already past, started as
    scripts/run starts one (``tracker serve``) and as production does (gunicorn, whose
    gunicorn.conf.py starts the scheduler in each worker)."""
    env = {**os.environ, "TRACKER_DATABASE_URL": database_url, "TRACKER_SECRET_KEY": "test",
           "TRACKER_SCHEDULER": "on", "TRACKER_REMIND_AT": "00:00", "TRACKER_UPLOAD_DIR": str(tmp_path)}
    commands = [
        [sys.executable, "-m", "flask", "--app", "wsgi", "tracker", "serve", "--port", str(free_port())],
        [sys.executable, "-m", "gunicorn", "--workers", "1", "--bind", f"127.0.0.1:{free_port()}", "wsgi:app"],
    ]
    logs = [tmp_path / f"web{n}.log" for n in range(2)]
    servers = []
    for command, log in zip(commands, logs, strict=True):
        with open(log, "w") as out:
            servers.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT))
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            db.session.expire_all()
            if db.session.scalar(select(func.count(ReminderPass.id))):
                break
            time.sleep(0.5)
        time.sleep(1)
        texts = [log.read_text() for log in logs]
        assert sum("scheduler started in process" in t for t in texts) == 1, texts
        assert sum("this one stands by" in t for t in texts) == 1, texts
        assert db.session.scalar(select(func.count(ReminderPass.id))) == 1  # the missed pass, run once
    finally:
        for server in servers:
            server.terminate()
            server.wait(10)


@pytest.mark.parametrize("when", ["07:61", "9点"])
def test_a_bad_daily_time_is_refused(app, org, login, when):
    page = login(org.admin)
    response = page.post("/admin/reminders", {"days_before": "7", "overdue_repeat_days": "3", "escalate_after_days": "1",
                                              "review_wait_days": "3", "remind_at": when})
    assert response.status_code == 422 and "时:分" in response.get_data(as_text=True)


def test_today_is_the_default_date(app):
    assert json.loads(_cli(app, "remind").stdout)["date"] == clock.local_today().isoformat()
