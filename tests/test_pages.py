"""The lists users work from: my items, the item list, the overdue list, the review queue."""

import re

import pytest

from tests.conftest import StatementCounter
from tracker.extensions import db


def _row_ids(page: str, table_id: str) -> list[int]:
    body = page.split(f'id="{table_id}"', 1)[1]
    return [int(x) for x in re.findall(r'data-item-id="(\d+)"', body)]


def test_my_items_show_lights_and_days(org, make, login):
    red = make.item(org.county_a, org.off_a, deadline_days=-5, title="已逾期的")
    yellow = make.item(org.county_a, org.off_a, deadline_days=3, title="快到期的")
    green = make.item(org.county_a, org.off_a, deadline_days=60, title="还早的")
    make.item(org.county_a, org.off_a2, title="别人的")
    page = login(org.off_a).get("/my").get_data(as_text=True)
    assert _row_ids(page, "my-items") == [red.id, yellow.id, green.id]  # most urgent first
    assert "别人的" not in page
    assert "逾期5天" in page and "剩余3天" in page and "剩余60天" in page
    for light in ("light-red", "light-yellow", "light-green"):
        assert light in page


def test_my_items_hide_closed_unless_asked(org, make, login):
    closed = make.item(org.county_a, org.off_a, status="closed", supervisor=org.sup_a, title="已销号的")
    c = login(org.off_a)
    assert closed.title not in c.get("/my").get_data(as_text=True)
    assert closed.title in c.get("/my?closed=1").get_data(as_text=True)


def test_overdue_list_most_overdue_first_with_owner_and_unit(org, make, login):
    a = make.item(org.county_a, org.off_a, deadline_days=-3)
    b = make.item(org.team_a, org.off_team, deadline_days=-30)
    c = make.item(org.county_a, org.off_a2, deadline_days=-10, status="in_progress")
    make.item(org.county_a, org.off_a, deadline_days=-50, status="closed", supervisor=org.sup_a)
    make.item(org.county_a, org.off_a, deadline_days=2)
    make.item(org.county_b, org.off_b, deadline_days=-99)  # not under sup_a
    page = login(org.sup_a).get("/overdue").get_data(as_text=True)
    assert _row_ids(page, "overdue-table") == [b.id, c.id, a.id]
    assert "30 天" in page and "甲大队" in page and "张三" in page


def test_item_list_filters_and_sorts(org, make, login):
    a = make.item(org.county_a, org.off_a, deadline_days=20, year=2023, categories=("legal_publicity",))
    b = make.item(org.team_a, org.off_team, deadline_days=5, year=2024, categories=("case_file_quality", "legal_publicity"))
    d = make.item(org.county_a, org.off_a2, deadline_days=-1, year=2024, status="in_progress")
    c = login(org.sup_a)

    def ids(query):
        return _row_ids(c.get(f"/items?{query}").get_data(as_text=True), "items-table")

    assert ids("sort=deadline") == [d.id, b.id, a.id]
    assert ids("sort=-deadline") == [a.id, b.id, d.id]
    assert ids("year=2024&sort=deadline") == [d.id, b.id]
    assert ids("category=legal_publicity&sort=deadline") == [b.id, a.id]
    assert ids("status=in_progress") == [d.id]
    assert ids("overdue=1") == [d.id]
    assert ids("owner=张三") == [a.id]
    assert ids(f"unit={org.team_a.id}") == [b.id]
    assert sorted(ids(f"unit={org.county_a.id}")) == sorted([a.id, b.id, d.id])  # the unit and below


def test_item_list_pages_are_bounded(org, make, login):
    for _ in range(7):
        make.item(org.county_a, org.off_a)
    page = login(org.sup_a).get("/items?per_page=3&page=3").get_data(as_text=True)
    assert len(_row_ids(page, "items-table")) == 1
    assert "第 3 / 3 页，共 7 项" in page


def test_review_queue_lists_pending_items_and_extensions(org, make, login, today):
    pending = make.item(org.county_a, org.off_a, status="pending_review", title="待审的事项")
    other = make.item(org.county_b, org.off_b, status="pending_review", title="乙县待审")
    page = login(org.sup_a).get("/review").get_data(as_text=True)
    assert pending.title in page and other.title not in page
    assert "已完成整改" in page  # the owner's summary is shown to the reviewer


def test_item_page_shows_only_the_actions_the_viewer_may_take(org, make, login):
    item = make.item(org.county_a, org.off_a, status="pending_review")
    owner_page = login(org.off_a).get(f"/items/{item.id}").get_data(as_text=True)
    supervisor_page = login(org.sup_a).get(f"/items/{item.id}").get_data(as_text=True)
    assert 'data-action="approve"' not in owner_page and 'data-action="request_extension"' in owner_page
    assert 'data-action="approve"' in supervisor_page and 'data-action="return"' in supervisor_page
    assert 'data-action="start"' not in supervisor_page


@pytest.mark.parametrize("url", ["/my", "/items", "/overdue", "/review", "/dashboard", "/items/{id}"])
def test_pages_issue_a_fixed_number_of_statements(org, make, login, url):
    """The same statements for 3 items as for 30: no query per row."""
    c = login(org.sup_a)
    counts = []
    for n in (3, 30):
        while make._n < n:
            item = make.item(org.county_a, org.sup_a if url == "/my" else org.off_a, deadline_days=-1,
                             status="pending_review", supervisor=org.city_sup,
                             categories=("legal_publicity", "case_file_quality"))  # with one evidence file
        target = url.format(id=item.id)
        with StatementCounter(db.engine) as counter:
            assert c.get(target).status_code == 200
        counts.append(counter.count)
    assert counts[0] == counts[1], counts


def test_history_rows_name_their_action_as_the_api_does(org, make, login):
    item = make.item(org.county_a, org.off_a, status="in_progress")
    page = login(org.off_a).get(f"/items/{item.id}").get_data(as_text=True)
    assert 'data-event="create"' in page and 'data-event="start"' in page
    assert "EventAction" not in page


def test_the_list_filters_by_light_and_by_closing_on_time_as_the_items_show_them(org, make, login):
    """The SQL filters agree with each item's own light and close record (the dashboard links to them)."""
    from datetime import timedelta

    from tracker.items import workflow
    from tracker.items.workflow import Action

    made = [make.item(org.county_a, org.off_a, deadline_days=days, title=f"期限{days}")
            for days in (-3, 0, 7, 8, 30)]
    made.append(make.item(org.county_a, org.off_a, deadline_days=None, title="未设期限的"))
    late = make.item(org.county_a, org.off_a, deadline_days=2, status="pending_review", title="逾期销号的")
    workflow.perform(late, Action.approve, org.sup_a, now=make.now, today=make.today + timedelta(days=3))
    in_time = make.item(org.county_a, org.off_a, deadline_days=2, status="closed", supervisor=org.sup_a, title="按期销号的")
    db.session.commit()
    page = login(org.sup_a)
    for light in ("red", "yellow", "green", "none"):
        listed = page.get(f"/items?light={light}").get_data(as_text=True)
        for item in [*made, late, in_time]:
            assert (f'>{item.title}</a>' in listed) == (item.light(make.today).value == light), (light, item.title)
    on_time = page.get("/items?on_time=1").get_data(as_text=True)
    assert ">按期销号的</a>" in on_time and ">逾期销号的</a>" not in on_time and ">期限30</a>" not in on_time
    after = page.get("/items?on_time=0").get_data(as_text=True)
    assert ">逾期销号的</a>" in after and ">按期销号的</a>" not in after
    # A bad filter is ignored on pages: every item is listed.
    for bad in ("light=purple", "on_time=perhaps"):
        assert page.get(f"/items?{bad}").get_data(as_text=True).count('class="light ') >= len(made) + 2, bad
