"""Search (issue 18): any substring of an item's title, problem text, measures, summary, history
comments and evidence names, in Chinese, on each engine's own text index (pg_trgm on PostgreSQL,
FTS5 trigram on SQLite), kept current in the same transaction as each write."""

import io
import json
import re

import openpyxl
import pytest
from sqlalchemy import select, text

from tracker.extensions import db
from tracker.items import evidence as evidence_files
from tracker.items import search, services, workflow
from tracker.items.workflow import Action


def _titles(client, query: str, table: str = "items-table") -> list[str]:
    page = client.get(f"/items?{query}" if table == "items-table" else f"/overdue?{query}").get_data(as_text=True)
    body = page.split(f'id="{table}"')[1].split("</table>")[0]
    return [re.sub(r"<[^>]+>", "", title) for title in re.findall(r'<a href="/items/\d+">(.*?)</a>', body)]


@pytest.fixture
def found(org, make):
    """Items whose words sit in each searched place, in 甲县局; and one in 乙县局."""
    made = {
        "title": make.item(org.county_a, org.off_a, title="执法力量配备不足", year=2024),
        "text": make.item(org.county_a, org.off_a, title="问题甲", year=2024),
        "measures": make.item(org.county_a, org.off_a, title="问题乙", year=2023),
        "note": make.item(org.county_a, org.off_a, title="问题丙", year=2024, status="in_progress"),
        "file": make.item(org.county_a, org.off_a, title="问题丁", year=2024, status="in_progress"),
        "other": make.item(org.county_b, org.off_b, title="乙县执法力量薄弱", year=2024),
    }
    made["text"].text = "年度案卷评查发现执法力量分散"
    made["measures"].measures = "开展ISO9001质量体系培训"
    db.session.commit()
    services.add_progress(made["note"], org.off_a, "已召开执法力量调配专题会", now=make.now)
    db.session.commit()
    make.evidence(made["file"], org.off_a, filename="执法力量花名册2025.pdf")
    return made


def test_chinese_substrings_are_found_wherever_they_are_and_titles_come_first(org, login, found):
    supervisor = login(org.sup_a)
    titles = _titles(supervisor, "q=执法力量")
    assert titles[0] == "执法力量配备不足"  # the title's match first
    assert sorted(titles[1:]) == sorted(["问题甲", "问题丙", "问题丁"])
    assert "乙县执法力量薄弱" not in titles  # another county's: not visible to 甲县局's supervisor
    page = supervisor.get("/items?q=执法力量").get_data(as_text=True)
    assert "<mark>执法力量</mark>配备不足" in page  # the title marked
    assert "年度案卷评查发现<mark>执法力量</mark>分散" in page  # where the body matched, under the title
    assert _titles(supervisor, "q=案卷评查") == ["问题甲"]
    assert _titles(supervisor, "q=花名册") == ["问题丁"]  # an evidence file's name
    assert _titles(supervisor, "q=调配") == ["问题丙"]  # a progress note, two characters
    one = _titles(supervisor, "q=力")  # one character: matched without the index
    assert one[0] == "执法力量配备不足" and set(one[1:]) == {"问题甲", "问题丙", "问题丁"}
    assert _titles(supervisor, "q=没有这个词") == []
    assert "没有符合条件的事项" in supervisor.get("/items?q=没有这个词").get_data(as_text=True)
    assert set(_titles(login(org.city_sup), "q=执法力量")) >= {"执法力量配备不足", "乙县执法力量薄弱"}


def test_latin_digits_case_and_several_words(org, login, found):
    supervisor = login(org.sup_a)
    assert _titles(supervisor, "q=iso9001") == ["问题乙"]  # case does not matter
    assert _titles(supervisor, "q=ISO") == ["问题乙"]
    assert _titles(supervisor, "q=9001 质量") == ["问题乙"]  # every word must occur
    assert _titles(supervisor, "q=9001 执法") == []
    assert _titles(supervisor, "q=2025") == ["问题丁"]
    assert _titles(supervisor, "q=执法力量&year=2023") == []  # with the list's filters
    assert set(_titles(supervisor, "q=执法力量&status=in_progress")) == {"问题丙", "问题丁"}


def test_what_is_typed_is_escaped_and_matched_literally(org, make, login):
    make.item(org.county_a, org.off_a, title="<script>alert(1)</script> 完成率100%_整改")
    make.item(org.county_a, org.off_a, title="完成率1000")
    supervisor = login(org.sup_a)
    for typed in ("100%", "%_", "_整", "<script>"):
        page = supervisor.get("/items", query_string={"q": typed}).get_data(as_text=True)
        assert "<script>alert" not in page
        assert _titles(supervisor, f"q={typed.replace('%', '%25')}") == ["&lt;script&gt;alert(1)&lt;/script&gt; 完成率100%_整改"]
    marked = supervisor.get("/items", query_string={"q": "<script>"}).get_data(as_text=True)
    assert "<mark>&lt;script&gt;</mark>alert(1)" in marked
    assert supervisor.get("/items", query_string={"q": "x" * 500}).status_code == 200  # cut to 100, not a 500


def test_the_index_follows_edits_withdrawals_and_the_overdue_list(org, make, login, found, today):
    supervisor = login(org.sup_a)
    services.update_item(found["title"], org.sup_a, {"title": "执法装备老化"}, now=make.now, today=today)
    db.session.commit()
    assert "执法力量配备不足" not in _titles(supervisor, "q=执法力量")
    assert _titles(supervisor, "q=装备老化") == ["执法装备老化"]
    [file] = found["file"].evidence
    evidence_files.remove_evidence(file, org.off_a, now=make.now)
    db.session.commit()
    assert _titles(supervisor, "q=花名册") == []  # a withdrawn file is no longer found
    late = make.item(org.county_a, org.off_a, title="逾期的执法力量问题", deadline_days=-3)
    assert _titles(supervisor, "q=执法力量", table="overdue-table") == ["逾期的执法力量问题"]
    reviewed = make.item(org.county_a, org.off_a, title="问题戊", status="in_progress")
    make.evidence(reviewed, org.off_a)
    workflow.perform(reviewed, Action.submit, org.off_a, summary="已完成人员调整", now=make.now, today=today)
    db.session.commit()
    assert _titles(supervisor, "q=人员调整") == ["问题戊"]  # the close-out summary
    workflow.perform(reviewed, Action.return_, org.sup_a, comment="请补充执法证件台账", now=make.now, today=today)
    db.session.commit()
    assert _titles(supervisor, "q=证件台账") == ["问题戊"]  # the reviewer's comment
    assert late.status.value == "open"


def test_a_failed_write_leaves_the_index_as_it_was(org, make, login, found, today):
    item = found["text"]
    item.text = "临时文字"
    db.session.flush()  # the document is rewritten in the transaction…
    db.session.rollback()  # …and rolled back with it
    assert _titles(login(org.sup_a), "q=案卷评查") == ["问题甲"]
    assert _titles(login(org.sup_a), "q=临时文字") == []


def test_the_api_takes_the_same_search(org, api, found):
    answer = api(org.sup_a).get("/items?q=执法力量&per_page=10")
    assert answer.status_code == 200
    titles = [item["title"] for item in answer.json["items"]]
    assert titles[0] == "执法力量配备不足" and answer.json["total"] == 4
    too_long = api(org.sup_a).get("/items", query_string={"q": "字" * 101})
    assert too_long.status_code == 422 and "搜索内容不能超过100个字" in too_long.json["error"]


def test_the_ledger_follows_the_search_and_says_so(org, login, found):
    ledger = openpyxl.load_workbook(io.BytesIO(login(org.sup_a).get("/items/export.xlsx?q=案卷评查").data)).active
    assert "含“案卷评查”" in ledger["A2"].value
    rows = [row for row in ledger.iter_rows(min_row=4, values_only=True) if row[0] and str(row[0]).isdigit()]
    assert len(rows) == 1


def test_refresh_stats_rebuilds_the_index(app, org, login, found):
    table_key = "item_id" if db.engine.dialect.name == "postgresql" else "rowid"
    db.session.execute(text(f"DELETE FROM item_search WHERE {table_key} = :id"), {"id": found["text"].id})
    db.session.commit()
    assert _titles(login(org.sup_a), "q=案卷评查") == []  # lost, as after a load by SQL
    result = app.test_cli_runner().invoke(args=["tracker", "refresh-stats"])
    assert result.exit_code == 0 and json.loads(result.stdout)["search"] >= 6
    assert _titles(login(org.sup_a), "q=案卷评查") == ["问题甲"]


def test_words_are_parsed_bounded_and_deduplicated():
    assert search.parse("  执法   案卷 执法 ", strict=False).words == ("执法", "案卷")
    assert search.parse("", strict=False).words == ()
    assert len(search.parse("a b c d e f g", strict=False).words) == search.WORDS_MAX
    with pytest.raises(search.Invalid):
        search.parse("字" * 101, strict=True)


def test_title_matches_come_first_across_pages(org, make, login):
    """Three items with the word in their title, four with it only in their text, two a page: the
    pages read the title matches, then the others, each by deadline."""
    for n in range(3):
        make.item(org.county_a, org.off_a, title=f"台账问题{n}", deadline_days=10 - n)
    for n in range(4):
        item = make.item(org.county_a, org.off_a, title=f"其他问题{n}", deadline_days=20 - n)
        item.text = "整改台账未建立"
    make.item(org.county_a, org.off_a, title="无关问题")
    db.session.commit()
    supervisor = login(org.sup_a)
    pages = [_titles(supervisor, f"q=台账&per_page=2&page={n}") for n in range(1, 5)]
    assert pages == [["台账问题2", "台账问题1"], ["台账问题0", "其他问题3"], ["其他问题2", "其他问题1"], ["其他问题0"]]
    assert "共 7 项" in supervisor.get("/items?q=台账&per_page=2").get_data(as_text=True)


def test_notes_added_at_once_are_both_found(app, org, make):
    """Two progress notes on one item at the same moment (they leave the item row alone): each
    rewrite of its document waits for the other's transaction, so neither note is lost to search."""
    import threading

    from tests.conftest import at_once
    from tracker.items.models import Item
    from tracker.org.models import User

    item = make.item(org.county_a, org.off_a, title="同时填写进展", status="in_progress")
    item_id, owner_id = item.id, org.off_a.id
    words = iter(["第一条进展甲乙丙", "第二条进展丁戊己"])
    lock = threading.Lock()

    def note():
        with lock:
            word = next(words)
        services.add_progress(db.session.get(Item, item_id), db.session.get(User, owner_id), word, now=make.now)
        db.session.commit()

    results, errors = at_once(app, 2, note)
    assert errors == [] and len(results) == 2
    db.session.expire_all()
    for word in ("甲乙丙", "丁戊己"):
        query = search.parse(word, strict=False)
        assert list(db.session.scalars(select(Item.id).where(search.matches(query)))) == [item_id], word
