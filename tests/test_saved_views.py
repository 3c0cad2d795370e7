"""我的视图 (issue 18): a list's filters and search kept under a name, private or shared with the
unit's supervisors, and sent every Monday as a digest through the outbox to a real SMTP server."""

import re
from datetime import date, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from tests.servers import SMTPServer
from tracker.extensions import db
from tracker.items.models import SavedView
from tracker.reminders import jobs
from tracker.reminders.models import OutboxMessage

MONDAY = date(2027, 3, 8)


def _save(client, name: str, args: dict, *, shared: bool = False, weekly: bool = False, listed: str = "items"):
    data = {"name": name, "list": listed, **args}
    if shared:
        data["shared"] = "1"
    if weekly:
        data["weekly"] = "1"
    return client.post("/views", data)


def _flash(client, response) -> str:
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    return " ".join(re.findall(r'<div class="alert[^"]*"[^>]*>\s*(.*?)\s*(?:<button|</div>)', page, re.S))


def test_a_view_keeps_the_filters_and_search_and_opens_them_again(org, make, login):
    make.item(org.county_a, org.off_a, title="案卷评查问题", year=2024)
    supervisor = login(org.sup_a)
    saved = _save(supervisor, " 每周 案卷 ", {"q": "案卷", "year": "2024", "page": "3"})
    assert saved.status_code == 302
    assert "已保存视图“每周 案卷”" in _flash(supervisor, saved)
    view = db.session.scalar(select(SavedView))
    assert view.args == {"q": "案卷", "year": "2024"} and view.shared_unit_id is None  # the page is not kept
    opened = supervisor.get(f"/views/{view.id}")
    assert opened.status_code == 302 and parse_qs(urlsplit(opened.headers["Location"]).query) == {"q": ["案卷"], "year": ["2024"]}
    listing = supervisor.get("/items").get_data(as_text=True)
    assert 'href="/items?q=%E6%A1%88%E5%8D%B7&amp;year=2024">每周 案卷</a>' in listing
    assert "每周 案卷" in supervisor.get("/views").get_data(as_text=True)
    again = _save(supervisor, "每周 案卷", {"q": "评查"})  # the same name: replaced, not doubled
    assert again.status_code == 302 and db.session.scalar(select(func.count(SavedView.id))) == 1
    db.session.expire_all()
    assert db.session.scalar(select(SavedView)).args == {"q": "评查"}


def test_a_shared_view_is_seen_by_the_units_supervisors_only(org, make, login):
    colleague = make.user("sup_a2", "supervisor", org.county_a)
    owner = login(org.sup_a)
    _save(owner, "本单位逾期", {"overdue": "1"}, shared=True, listed="overdue")
    _save(owner, "我自己的", {"year": "2024"})
    shared, private = db.session.scalars(select(SavedView).order_by(SavedView.id)).all()
    shared_id = shared.id
    other = login(colleague)
    assert "本单位逾期（" in other.get("/items").get_data(as_text=True)
    assert other.get(f"/views/{shared.id}").headers["Location"].startswith("/overdue?overdue=1")
    assert other.get(f"/views/{private.id}").status_code == 404
    assert other.post(f"/views/{shared.id}/delete").status_code == 404  # only its owner deletes it
    assert login(org.sup_b).get(f"/views/{shared.id}").status_code == 404  # another county's supervisor
    assert login(org.off_a).get(f"/views/{shared.id}").status_code == 404  # an official of the unit
    official = login(org.off_a)
    refused = _save(official, "共享的", {}, shared=True)
    assert refused.status_code == 302 and "只有督办人可以把视图共享" in _flash(official, refused)
    assert db.session.scalar(select(func.count(SavedView.id)).where(SavedView.name == "共享的")) == 0
    deleted = owner.post(f"/views/{shared_id}/delete")
    assert deleted.status_code == 302
    assert db.session.scalar(select(func.count(SavedView.id)).where(SavedView.id == shared_id)) == 0


@pytest.mark.parametrize("name, message", [("   ", "请给视图起个名字"), ("名" * 41, "视图名称不能超过40个字")])
def test_a_bad_name_is_one_sentence_and_nothing_is_saved(org, login, name, message):
    official = login(org.off_a)
    answer = _save(official, name, {"q": "x"})
    assert answer.status_code == 302 and message in _flash(official, answer)
    assert db.session.scalar(select(func.count(SavedView.id))) == 0


def test_a_weekly_view_is_mailed_on_monday_once_with_its_items(app, org, make, login):
    supervisor = make.user("weekly_sup", "supervisor", org.county_a, name="周督办", email="weekly@example.gov.cn")
    supervisor.notify_channels = "email"
    for n in range(3):
        make.item(org.county_a, org.off_a, title=f"执法案卷问题{n}", deadline_days=(MONDAY - make.today).days - 5)
    make.item(org.county_a, org.off_a, title="普法问题", deadline_days=(MONDAY - make.today).days - 5)
    make.item(org.county_b, org.off_b, title="乙县执法案卷问题", deadline_days=(MONDAY - make.today).days - 5)
    db.session.commit()
    _save(login(supervisor), "逾期案卷", {"q": "案卷"}, weekly=True, listed="overdue")
    with SMTPServer() as smtp:
        app.config.update(smtp.config())
        jobs.remind(MONDAY)
        jobs.remind(MONDAY)  # a second pass the same day writes nothing new
        jobs.remind(MONDAY + timedelta(days=1))  # Tuesday: not a weekly day
        mails = [m for m in smtp.messages if "我的视图" in str(m["Subject"])]
    assert len(mails) == 1
    mail = mails[0]
    assert mail.envelope_to == ["weekly@example.gov.cn"]
    assert str(mail["Subject"]) == "【我的视图】3月8日：逾期案卷，共3项"
    text = mail.get_body(("plain",)).get_content()
    assert all(f"执法案卷问题{n}" in text for n in range(3))
    assert "普法问题" not in text and "乙县执法案卷问题" not in text  # the search, and what he may see
    assert db.session.scalar(select(func.count(OutboxMessage.id)).where(OutboxMessage.key.like("view-%"))) == 1


def test_views_are_linked_from_the_navigation_and_the_dashboard(org, login):
    supervisor = login(org.sup_a)
    _save(supervisor, "看板上的视图", {"overdue": "1"})
    view = db.session.scalar(select(SavedView))
    assert 'href="/views">我的视图</a>' in supervisor.get("/my").get_data(as_text=True)
    dashboard = supervisor.get("/dashboard").get_data(as_text=True)
    assert f'href="/views/{view.id}">看板上的视图</a>' in dashboard


def test_the_views_page_says_each_views_filters_in_words(org, login):
    supervisor = login(org.sup_a)
    _save(supervisor, "甲县2024逾期", {"unit": str(org.county_a.id), "year": "2024", "overdue": "1", "q": "案卷"})
    page = supervisor.get("/views").get_data(as_text=True)
    assert "甲县局及下属单位；2024年度；仅逾期；含“案卷”" in page


def test_the_save_form_carries_only_the_lists_filters_from_the_address(org, login):
    """A link such as /items?shared=1&weekly=1&name=… cannot decide what a saved view is called or
    who gets it: only the list's own filters are carried into the form."""
    page = login(org.sup_a).get("/items?q=案卷&year=2024&shared=1&weekly=1&name=别人起的名").get_data(as_text=True)
    form = re.search(r'<form[^>]*id="save-view-form".*?</form>', page, re.S).group(0)
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form))
    assert hidden.pop("csrf_token") and hidden == {"list": "items", "q": "案卷", "year": "2024"}
