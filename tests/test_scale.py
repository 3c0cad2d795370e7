"""Pages whose size follows what a user asks for, not the size of the tables (issue 17)."""

from tests.conftest import StatementCounter
from tracker.extensions import db


def test_the_users_page_is_paged_and_searchable(org, make, login):
    for number in range(120):
        make.user(f"worker{number:03d}", "official", org.team_a, name=f"职工{number:03d}")
    admin = login(org.admin)
    first = admin.get("/admin/users").get_data(as_text=True)
    assert first.count("<tr><td>") == 100 and "第 1 / 2 页，共 128 项" in first  # 120 and the org's 8
    second = admin.get("/admin/users?page=2").get_data(as_text=True)
    assert second.count("<tr><td>") == 28
    found = admin.get("/admin/users?q=职工11").get_data(as_text=True)
    assert found.count("<tr><td>") == 10 and "worker110" in found and "worker012" not in found
    assert "乙县局" in admin.get("/admin/users?q=乙县").get_data(as_text=True)
    assert "没有找到用户" in admin.get("/admin/users?q=%25_nobody").get_data(as_text=True)


def test_a_list_page_issues_as_many_statements_for_a_city_as_for_a_team(org, make, login):
    """The unit ids are read once per request, whatever the number of units below."""
    for unit in (org.county_a, org.team_a, org.county_b):
        make.item(unit, None, year=2024)

    def statements(user) -> int:
        client = login(user)
        with StatementCounter(db.engine) as counted:
            assert client.get("/items").status_code == 200
        return counted.count

    assert statements(org.city_sup) == statements(org.sup_b)


def test_the_item_page_loads_its_evidence_uploaders_in_one_statement(org, make, login):
    item = make.item(org.county_a, org.off_a, status="in_progress")
    supervisor = login(org.sup_a)

    def statements() -> int:
        with StatementCounter(db.engine) as counted:
            assert supervisor.get(f"/items/{item.id}").status_code == 200
        return counted.count

    make.evidence(item, org.off_a)
    one = statements()
    for number in range(5):  # five more files, from five more people
        uploader = make.user(f"helper{number}", "supervisor", org.county_a)
        make.evidence(item, uploader, filename=f"佐证{number}.pdf")
    assert statements() == one


def test_a_list_page_counts_up_to_a_cap_and_pages_on_past_it(org, make, login, api, monkeypatch):
    """Past PAGE_COUNT_CAP a page says "超过 N 项" and offers the next page while there is one; the
    API's total stays exact (CONTRACT.md)."""
    from tracker.items import queries

    for number in range(7):
        make.item(org.county_a, org.off_a, year=2024, title=f"事项{number}")
    monkeypatch.setattr(queries, "PAGE_COUNT_CAP", 4)
    supervisor = login(org.sup_a)
    first = supervisor.get("/items?per_page=3&sort=id").get_data(as_text=True)
    assert "超过 4 项" in first and "第 1 页" in first and "事项0" in first and "事项3" not in first
    last = supervisor.get("/items?per_page=3&sort=id&page=3").get_data(as_text=True)
    assert "事项6" in last

    def next_enabled(page: str) -> bool:
        return "disabled" not in page.split("下一页")[0].rsplit("<li", 1)[1]

    assert next_enabled(first) and not next_enabled(last)
    assert supervisor.get("/items?per_page=3&sort=id&page=9").status_code == 200  # past the end: an empty page
    assert api(org.sup_a).get("/items?per_page=3").json["total"] == 7


def test_a_large_tree_filters_by_a_unit_box_that_suggests(org, make, login, monkeypatch):
    """Past UNIT_SELECT_MAX units the list's unit filter is a box: typed names are suggested, the
    chosen unit filters the list (and its ledger), a repeated name comes with its path."""
    from tracker.org import queries as org_queries

    make.unit("执法大队", org.county_a)
    make.unit("执法大队", org.county_b)
    make.item(org.team_a, org.off_team, year=2024, title="甲大队的问题")
    make.item(org.county_b, org.off_b, year=2024, title="乙县的问题")
    city = login(org.city_sup)
    assert 'name="unit_name"' not in city.get("/items").get_data(as_text=True)  # a few units: a select
    monkeypatch.setattr(org_queries, "UNIT_SELECT_MAX", 3)
    page = city.get("/items").get_data(as_text=True)
    assert 'name="unit_name"' in page and '<select name="unit"' not in page
    answer = city.get("/items/unit-suggestions?q=执法")
    assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
    suggested = answer.json
    assert [s["value"] for s in suggested] == ["市局/甲县局/执法大队", "市局/乙县局/执法大队"]
    assert [s["value"] for s in login(org.sup_b).get("/items/unit-suggestions?q=执法").json] == ["市局/乙县局/执法大队"]
    chosen = city.get("/items?unit_name=甲大队").get_data(as_text=True)
    assert "甲大队的问题" in chosen and "乙县的问题" not in chosen and 'value="甲大队"' in chosen
    assert city.get("/overdue?unit_name=甲县局").status_code == 200
    assert city.get("/items?unit_name=无此单位").status_code == 200
    import io

    import openpyxl

    ledger = openpyxl.load_workbook(io.BytesIO(city.get("/items/export.xlsx?unit_name=甲大队").data)).active
    assert ledger["A2"].value == "范围：甲大队"  # the ledger of the unit typed, as the list showed it


def test_the_api_lists_reports_with_their_first_items_and_pages_within_a_report(org, make, api):
    """GET /api/v1/reports gives each report's first items_per_report (20) with items_total; a
    report's own answer pages through them; the statements do not grow with the items."""
    report = make.report(org.county_a, 2024)
    other = make.report(org.county_b, 2024)
    for number in range(25):
        make.item(org.county_a, org.off_a, year=2024, report=report, title=f"甲{number}")
    for number in range(3):
        make.item(org.county_b, org.off_b, year=2024, report=other, title=f"乙{number}")
    city = api(org.city_sup)
    listing = city.get("/reports").json
    by_unit = {r["unit"]: r for r in listing["reports"]}
    assert (len(by_unit["甲县局"]["items"]), by_unit["甲县局"]["items_total"]) == (20, 25)
    assert [i["title"] for i in by_unit["甲县局"]["items"]][:2] == ["甲0", "甲1"]
    assert (len(by_unit["乙县局"]["items"]), by_unit["乙县局"]["items_total"]) == (3, 3)
    assert {len(r["items"]) for r in city.get("/reports?items_per_report=5").json["reports"]} == {5, 3}
    second = city.get(f"/reports/{report.id}?items_page=2&items_per_page=10").json
    assert [i["title"] for i in second["items"]] == [f"甲{n}" for n in range(10, 20)]
    assert (second["items_total"], second["items_page"], second["items_per_page"]) == (25, 2, 10)
    assert len(city.get(f"/reports/{report.id}").json["items"]) == 25
    assert city.get("/reports?items_per_report=0").status_code == 422
    # The county's own supervisor sees only his county's report; another county's items are not counted.
    assert [r["items_total"] for r in api(org.sup_b).get("/reports").json["reports"]] == [3]

    def statements() -> int:
        with StatementCounter(db.engine) as counted:
            assert city.get("/reports").status_code == 200
        return counted.count

    before = statements()
    for number in range(10):
        make.item(org.county_b, org.off_b, year=2024, report=other, title=f"乙更多{number}")
    assert statements() == before


def test_a_supervisor_sees_an_item_he_owns_outside_his_units_and_no_other(org, make, login):
    """His lists are read by his units alone unless he owns an item outside them (then also by owner)."""
    from sqlalchemy import event

    inside = make.item(org.county_b, org.off_b, title="乙县事项")
    outside = make.item(org.county_a, org.off_a, title="甲县事项")
    supervisor = login(org.sup_b)
    statements = []

    def seen(*args):
        statements.append(args[2])

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        page = supervisor.get("/items").get_data(as_text=True)
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert "乙县事项" in page and "甲县事项" not in page
    assert not any("items.owner_id =" in s for s in statements if s.lstrip().startswith("SELECT count"))
    outside.owner_id = org.sup_b.id  # set by hand: an item of another county he was made to own
    db.session.commit()
    page = supervisor.get("/items").get_data(as_text=True)
    assert "乙县事项" in page and "甲县事项" in page
    assert supervisor.get(f"/items/{outside.id}").status_code == 200
    assert supervisor.get(f"/items/{inside.id}").status_code == 200


def test_in_a_large_tree_the_dashboard_offers_the_way_down_not_every_unit(org, make, login, monkeypatch):
    """Past UNIT_SELECT_MAX units the dashboard's unit select holds the way from one's own unit to
    the one shown, and that unit's units one level down."""
    import re

    from tracker.org import queries as org_queries

    def options(page: str) -> list[str]:
        select = re.search(r'<select name="unit".*?</select>', page, re.S).group(0)
        return [name.strip("　 ") for name in re.findall(r"<option[^>]*>([^<]*)</option>", select)]

    city = login(org.city_sup)
    everything = options(city.get("/dashboard").get_data(as_text=True))
    assert {"市局", "甲县局", "甲大队", "乙县局"} <= set(everything)
    monkeypatch.setattr(org_queries, "UNIT_SELECT_MAX", 3)
    assert options(city.get("/dashboard").get_data(as_text=True)) == ["市局", "甲县局", "乙县局"]
    down = options(city.get(f"/dashboard?unit={org.county_a.id}").get_data(as_text=True))
    assert down == ["市局", "甲县局", "甲大队"]


def test_postgresql_connections_start_no_parallel_workers(app):
    """A page's statements are short: parallel workers cost more than they save (PG_PARALLEL_WORKERS)."""
    import pytest
    from sqlalchemy import text

    if db.engine.dialect.name != "postgresql":
        pytest.skip("a PostgreSQL setting")
    assert db.session.execute(text("SHOW max_parallel_workers_per_gather")).scalar() == "0"
