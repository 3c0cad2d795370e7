"""The roll-up (统计看板, GET /api/v1/stats) against a hand-counted history: five items whose
lives began sixty days ago, read as of today, past days and a future day, after a carry-over,
an extension and a move of a team to another county."""

import re
from datetime import datetime, time, timedelta

import pytest

from tests.conftest import StatementCounter
from tracker import clock
from tracker.extensions import db
from tracker.items import services, workflow
from tracker.items.models import ItemState
from tracker.items.states import rebuild
from tracker.items.workflow import Action
from tracker.org import services as org_services
from tracker.rollover.services import carry_over_year
from tracker.stats import rollup


def at(day) -> datetime:
    """Local noon of ``day``: the day a change is recorded on, whatever the zone."""
    return datetime.combine(day, time(12), tzinfo=clock.local_zone())


@pytest.fixture
def history(app, org, make, today):
    """A: 甲县局, open, due 10 days ago. B: 甲大队, closed on time 25 days ago. C: 乙县局, due 40
    days ago, extended (approved 30 days ago) to 5 days from now. D: 市局 itself, created 10 days
    ago, closed late 2 days ago. E: 甲县局, a 2023 item carried into 2024 fifteen days ago."""
    T = lambda days: today + timedelta(days=days)  # noqa: E731

    def item(unit, owner, created, deadline, year=2024, title=None):
        made = services.create_item(unit=unit, year=year, title=title or f"事项{unit.name}", text="问题", actor=None,
                                    now=at(T(created)), owner=owner, categories=services.categories_by_code(["other"]),
                                    deadline=T(deadline))
        db.session.commit()
        return made

    def act(thing, action, actor, day, **kw):
        workflow.perform(thing, action, actor, now=at(T(day)), today=T(day), **kw)
        db.session.commit()

    a = item(org.county_a, org.off_a, -60, -10, title="A")
    b = item(org.team_a, org.off_team, -60, 20, title="B")
    act(b, Action.start, org.off_team, -50)
    make.evidence(b, org.off_team)
    act(b, Action.submit, org.off_team, -30, summary="已完成")
    act(b, Action.approve, org.sup_a, -25)
    c = item(org.county_b, org.off_b, -60, -40, title="C")
    act(c, Action.request_extension, org.off_b, -36, deadline=T(5), comment="需要延期")
    act(c, Action.approve_extension, org.sup_b, -30)
    d = item(org.city, org.city_sup, -10, -5, title="D")
    act(d, Action.start, org.city_sup, -9)
    make.evidence(d, org.city_sup)
    act(d, Action.submit, org.city_sup, -3, summary="已完成")
    act(d, Action.approve, org.admin, -2)
    e = item(org.county_a, org.off_a, -60, 100, year=2023, title="E")
    carry_over_year(2023, today=T(-15), now=at(T(-15)))
    db.session.commit()
    return {"a": a, "b": b, "c": c, "d": d, "e": e, "T": T}


def figures(org, today, **kw):
    result = rollup.rollup(org.city, rollup.StatsFilter(**kw), today)
    return result, {row.unit.name if not row.own else "本级": row.totals for row in result.rows}


def test_today_counts_each_item_once_in_its_units_row(history, org, today):
    result, rows = figures(org, today)
    t = result.totals
    assert (t.items, t.open, t.in_progress, t.pending_review, t.closed) == (5, 3, 0, 0, 2)
    assert (t.overdue, t.red, t.yellow, t.green, t.closed_on_time) == (1, 1, 1, 1, 1)  # A; C due in 5 days; E
    assert (t.completion_rate, t.on_time_rate) == (0.4, 0.5)
    assert [row.unit.name if not row.own else "本级" for row in result.rows] == ["本级", "甲县局", "乙县局"]
    assert (rows["本级"].items, rows["本级"].closed, rows["本级"].closed_on_time) == (1, 1, 0)  # D, late
    assert (rows["甲县局"].items, rows["甲县局"].closed, rows["甲县局"].overdue) == (3, 1, 1)  # A, B (team), E
    assert (rows["乙县局"].items, rows["乙县局"].yellow) == (1, 1)
    assert result.pending_extensions == 0


def test_a_past_day_reads_the_status_and_the_deadline_then_in_force(history, org, today):
    result, rows = figures(org, today, as_of=today - timedelta(days=35))
    t = result.totals
    assert t.items == 4  # D did not exist yet
    assert (t.open, t.in_progress, t.closed) == (3, 1, 0)  # B was being worked on
    assert (t.overdue, t.green) == (1, 3)  # C's old deadline had passed; A, B, E were far off
    assert rows["乙县局"].overdue == 1
    assert result.pending_extensions == 1  # C's request waited from day -36 to day -30

    before_review, _ = figures(org, today, as_of=today - timedelta(days=28))
    assert (before_review.totals.pending_review, before_review.totals.closed) == (1, 0)

    after_extension, _ = figures(org, today, as_of=today - timedelta(days=20))
    assert after_extension.totals.overdue == 0  # C's new deadline; A's was ten days off
    assert (after_extension.totals.closed, after_extension.totals.closed_on_time) == (1, 1)


def test_a_future_day_counts_what_will_be_overdue_by_then(history, org, today):
    result, _ = figures(org, today, as_of=today + timedelta(days=30))
    assert (result.totals.items, result.totals.overdue, result.totals.closed) == (5, 2, 2)  # A and C


def test_a_carried_item_counts_in_the_year_it_belonged_to_on_that_day(history, org, today):
    assert figures(org, today, year=2024)[0].totals.items == 5
    assert figures(org, today, year=2023)[0].totals.items == 0
    past = today - timedelta(days=20)
    assert figures(org, today, year=2024, as_of=past)[0].totals.items == 3  # A, B, C
    assert figures(org, today, year=2023, as_of=past)[0].totals.items == 1  # E, before the rollover


def test_a_team_moved_to_another_county_counts_there_from_then_on_in_every_view(history, org, today):
    org_services.update_unit(org.team_a, name=org.team_a.name, parent=org.county_b)
    db.session.commit()
    _, rows = figures(org, today)
    assert (rows["甲县局"].items, rows["乙县局"].items) == (2, 2)  # B follows its team
    _, past_rows = figures(org, today, as_of=today - timedelta(days=35))
    assert (past_rows["甲县局"].items, past_rows["乙县局"].items) == (2, 2)  # figures follow today's tree


def test_an_item_moved_to_another_unit_is_counted_there_on_every_day(history, org, today):
    item = history["a"]
    item.unit_id = org.county_b.id
    db.session.commit()
    _, rows = figures(org, today, as_of=today - timedelta(days=35))
    assert (rows["乙县局"].items, rows["甲县局"].items) == (2, 2)  # A and C; B (team) and E


def test_months_add_up_to_what_was_created_and_closed(history, org, today):
    result, _ = figures(org, today)
    assert sum(m.created for m in result.months) == 5
    assert sum(m.closed for m in result.months) == 2
    assert result.months[-1].overdue == result.totals.overdue
    assert result.months[-1].label == f"{today.year}-{today.month:02d}"


def test_the_category_table_counts_each_item_once_under_its_primary_category(history, org, today):
    result, _ = figures(org, today)
    other = next(row for row in result.categories if row.category.code == "other")
    assert (other.totals.items, other.totals.closed) == (5, 2)
    item = history["a"]
    services.update_item(item, org.city_sup, {"categories": services.categories_by_code(["legal_publicity", "other"])},
                         now=at(today), today=today)
    db.session.commit()
    result, _ = figures(org, today, as_of=today - timedelta(days=35))  # relabelled on every day
    by_code = {row.category.code: row.totals.items for row in result.categories}
    assert (by_code["legal_publicity"], by_code["other"]) == (1, 3)
    assert sum(by_code.values()) == result.totals.items
    only, _ = figures(org, today, category="legal_publicity")
    assert [row.category.code for row in only.categories] == ["legal_publicity"] and only.totals.items == 1


def test_the_states_rebuilt_from_the_history_are_those_kept_at_each_change(history, app):
    columns = ("item_id", "unit_id", "year", "status", "deadline", "closed_on", "closed_deadline",
               "created_on", "valid_from", "valid_to")

    def states():
        return sorted((tuple(getattr(s, c) for c in columns) for s in db.session.scalars(db.select(ItemState))),
                      key=lambda row: (row[0], row[8]))

    kept = states()
    assert len(kept) > 5  # several states an item
    with app.app_context():
        result = rebuild(db.session.connection(), clock.local_zone())
        db.session.commit()
    assert result["items"] == 5
    db.session.expire_all()
    assert states() == kept


def test_refresh_stats_rebuilds_states_lost_to_a_bulk_load_by_sql(history, app, org, today):
    db.session.execute(db.delete(ItemState))
    db.session.commit()
    assert figures(org, today)[0].totals.items == 0
    result = app.test_cli_runner().invoke(args=["tracker", "refresh-stats"])
    assert result.exit_code == 0, result.output
    assert '"items": 5' in result.output
    assert figures(org, today)[0].totals.items == 5


def test_api_stats_is_the_contract_shape_and_asks_the_unit_by_name(history, org, api, today):
    answer = api(org.city_sup).get("/stats?as_of=" + (today - timedelta(days=35)).isoformat())
    assert answer.status_code == 200, answer.json
    body = answer.json
    assert body["unit"] == {"id": org.city.id, "name": "市局"}
    assert set(body["totals"]) == {"items", "open", "in_progress", "pending_review", "closed", "overdue", "red",
                                   "yellow", "green", "closed_on_time", "completion_rate", "on_time_rate"}
    assert body["totals"]["items"] == 4
    assert [row["own"] for row in body["units"]] == [True, False, False]
    assert sum(row["totals"]["items"] for row in body["units"]) == body["totals"]["items"]
    assert {"code", "name", "totals"} <= set(body["categories"][0])
    assert len(body["months"]) == 12 and set(body["months"][0]) >= {"month", "created", "closed"}
    county = api(org.sup_a).get("/stats?unit=甲县局").json
    assert county["totals"]["items"] == 3 and [r["name"] for r in county["units"]] == ["甲县局", "甲大队"]


@pytest.mark.parametrize("query, field", [("as_of=2024-02-30", "as_of"), ("year=abc", "year"),
                                          ("unit=没有的单位", "unit"), ("category=nope", "category")])
def test_api_stats_names_a_bad_filter(org, api, query, field):
    answer = api(org.city_sup).get(f"/stats?{query}")
    assert answer.status_code == 422 and answer.json["field"] == field


def test_stats_are_for_those_who_supervise_the_unit(history, org, api, login):
    assert api(org.sup_a).get("/stats?unit=乙县局").status_code == 403
    assert api(org.off_a).get("/stats").status_code == 403
    assert api(org.sup_a).get("/stats?unit=甲大队").status_code == 200
    assert login(org.off_a).get("/dashboard").status_code == 403
    assert login(org.sup_a).get(f"/dashboard?unit={org.county_b.id}").status_code == 403
    assert login(org.admin).get("/dashboard").status_code == 200


def test_the_supervisors_home_is_the_dashboard_and_officials_go_to_their_items(org, login):
    assert login(org.city_sup).get("/").headers["Location"].endswith("/dashboard")
    assert login(org.off_a).get("/").headers["Location"].endswith("/my")


def _figure_links(page: str, table: str = "unit-table") -> dict[str, str]:
    """A dashboard table's links to the item list, by row and column: {"甲县局/逾期": url}."""
    links = {}
    header = re.search(rf'<table[^>]*id="{table}".*?<thead.*?</thead>', page, re.S).group(0)
    titles = [re.sub(r"<[^>]+>|▼", "", cell).strip() for cell in re.findall(r"<th[^>]*>(.*?)</th>", header, re.S)]
    body = re.search(r'<tbody>(.*?)</tbody>', page[page.index(f'id="{table}"'):], re.S).group(1)
    for row in re.findall(r"<tr.*?</tr>", body, re.S):
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        name = re.sub(r"<[^>]+>", "", cells[0]).strip()
        for title, cell in zip(titles[1:], cells[1:], strict=False):
            found = re.search(r'href="([^"]+)"[^>]*>(\d+)<', cell)
            if found:
                links[f"{name}/{title}"] = (found.group(1).replace("&amp;", "&"), int(found.group(2)))
    return links


def test_every_figure_of_the_unit_and_category_tables_opens_a_list_of_that_many_items(history, org, login, today):
    services.update_item(history["a"], org.city_sup,
                         {"categories": services.categories_by_code(["other", "legal_publicity"])}, now=at(today),
                         today=today)
    db.session.commit()
    client = login(org.city_sup)
    page = client.get("/dashboard").get_data(as_text=True)
    links = _figure_links(page) | _figure_links(page, "category-table")
    assert {"本级/事项", "甲县局/逾期", "乙县局/黄灯", "甲县局/已销号", "其他/事项", "普法宣传/事项"} <= set(links)
    assert links["普法宣传/事项"][1] == 0  # A's second category is not its primary one
    for key, (url, expected) in links.items():
        listed = client.get(url).get_data(as_text=True)
        shown = len(re.findall(r'<tr[^>]*data-item-id=', listed))
        assert shown == expected, (key, url, shown, expected)


def test_the_unit_table_sorts_and_ranks(history, org, login):
    page = login(org.city_sup).get("/dashboard?sort=items").get_data(as_text=True)
    body = page[page.index('id="unit-table"'):]
    assert body.index("甲县局") < body.index("乙县局")
    ranks = rollup.rollup(org.city, rollup.StatsFilter(), clock.local_today()).rows
    by_name = {row.unit.name: row for row in ranks if not row.own}
    # 甲县局 1 of 3 closed, 乙县局 0 of 1: 甲 ranks first by rate; 乙 has fewer overdue (0 vs 1).
    assert (by_name["甲县局"].rank_by_rate, by_name["乙县局"].rank_by_rate) == (1, 2)
    assert (by_name["乙县局"].rank_by_overdue, by_name["甲县局"].rank_by_overdue) == (1, 2)


@pytest.mark.parametrize("url", ["/dashboard", "/dashboard?as_of=2020-01-01", "/api"])
def test_the_dashboard_and_the_api_issue_a_fixed_number_of_statements(org, make, login, api, url):
    counts = []
    for n in (3, 30):
        while make._n < n:
            unit = (org.county_a, org.team_a, org.county_b, org.city)[make._n % 4]
            make.item(unit, None, deadline_days=make._n % 9 - 4)
        with StatementCounter(db.engine) as counter:
            if url == "/api":
                assert api(org.city_sup).get("/stats").status_code == 200
            else:
                assert login(org.city_sup).get(url).status_code == 200
        counts.append(counter.count)
    assert counts[0] == counts[1], counts


# The materialised roll-up (stats.cells) gives what item_states gives ------------------------------

def _as_json(result) -> dict:
    from tracker.stats.schemas import StatsSchema

    return StatsSchema.of(result).dump()


@pytest.mark.parametrize("filters", [{}, {"year": 2024}, {"year": 2023}, {"category": "other"}])
def test_todays_figures_from_the_roll_up_are_those_computed_from_the_states(history, org, today, filters):
    from tracker.stats import cells

    live = [_as_json(rollup.rollup(unit, rollup.StatsFilter(**filters), today)) for unit in (org.city, org.county_a)]
    cells.refresh(db.session.connection(), today, clock.utcnow())
    db.session.commit()
    read = [rollup.rollup(unit, rollup.StatsFilter(**filters), today) for unit in (org.city, org.county_a)]
    assert all(r.refreshed_at is not None for r in read)  # served from the roll-up
    assert [_as_json(r) for r in read] == live


def test_an_old_or_yesterdays_roll_up_is_not_shown(history, org, today):
    from tracker.stats import cells

    cells.refresh(db.session.connection(), today - timedelta(days=1), clock.utcnow())
    db.session.commit()
    assert rollup.rollup(org.city, rollup.StatsFilter(), today).refreshed_at is None  # yesterday's
    cells.refresh(db.session.connection(), today, clock.utcnow() - timedelta(minutes=30))
    db.session.commit()
    assert rollup.rollup(org.city, rollup.StatsFilter(), today).refreshed_at is None  # 30 minutes old
    cells.refresh(db.session.connection(), today, clock.utcnow())
    db.session.commit()
    result = rollup.rollup(org.city, rollup.StatsFilter(), today)
    assert result.refreshed_at is not None and result.totals.items == 5
    past = rollup.rollup(org.city, rollup.StatsFilter(as_of=today - timedelta(days=35)), today)
    assert past.refreshed_at is None and past.totals.items == 4  # another day: from the states


def test_the_dashboard_says_when_the_roll_up_was_rebuilt(history, org, login, today):
    from tracker.stats import cells

    cells.refresh(db.session.connection(), today, clock.utcnow())
    db.session.commit()
    page = login(org.city_sup).get("/dashboard").get_data(as_text=True)
    assert 'id="refreshed"' in page and "更新" in page


def test_the_scheduler_job_rebuilds_the_roll_up_that_pages_then_read(history, app, org, today):
    from tracker.scheduler import jobs

    jobs.stats_refresh(app)
    db.session.expire_all()
    result = rollup.rollup(org.city, rollup.StatsFilter(), today)
    assert result.refreshed_at is not None and (result.totals.items, result.totals.overdue) == (5, 1)
    assert [m.overdue for m in result.months] == [m.overdue for m in rollup.rollup(
        org.city, rollup.StatsFilter(as_of=today + timedelta(days=0)), today + timedelta(days=1)).months]
