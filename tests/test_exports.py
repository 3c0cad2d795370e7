"""The ledger (.xlsx) and the report section (.docx), opened the way a user's Excel and Word would:
with openpyxl and python-docx."""

import io
import os
from datetime import date, timedelta

import openpyxl
import pytest
from docx import Document
from docx.oxml.ns import qn
from openpyxl.utils import get_column_letter
from sqlalchemy import select

from tests.conftest import StatementCounter
from tracker import storage
from tracker.errors import NotFound
from tracker.exports.ledger import HEADERS
from tracker.exports.section import chinese_number
from tracker.extensions import db
from tracker.items import services
from tracker.items.models import Item, Report
from tracker.rollover import services as rollover


def _sheet(data: bytes):
    book = openpyxl.load_workbook(io.BytesIO(data))
    return book["整改台账"]


HEADER_ROW = 3  # below the title row and the scope row
OVERDUE_RED = "FFFFC7CE"  # Excel's own "bad" fill


def _rows(sheet) -> list[dict]:
    """The item rows, by header: between the header row and the 合计 row at the foot."""
    values = list(sheet.iter_rows(values_only=True))
    assert list(values[HEADER_ROW - 1]) == HEADERS
    assert str(values[-1][0]).startswith("合计：")
    return [dict(zip(HEADERS, row, strict=True)) for row in values[HEADER_ROW:-1]]


def _roll(year, make):
    rollover.carry_over_year(year, today=date(year + 1, 1, 1), now=make.now)
    db.session.commit()


def test_ledger_columns_rows_and_highlights(make, org, login, today):
    report = make.report(org.county_a, 2024, title="甲县局2024年度法治政府建设情况报告")
    late = make.item(org.county_a, org.off_a, report=report, title="案卷不规范", deadline_days=-12,
                     status="in_progress", categories=("case_file_quality", "legal_publicity"))
    make.evidence(late, org.off_a, filename="整改前.pdf")
    make.evidence(late, org.off_a, filename="整改后.pdf")
    done = make.item(org.county_a, org.off_a2, report=report, title="普法不够", status="closed", supervisor=org.sup_a,
                     categories=("legal_publicity",))
    _roll(2024, make)
    fresh = make.item(org.team_a, org.off_team, year=2025, title="新问题", deadline_days=20)
    make.item(org.county_b, org.off_b, year=2025, title="乙县的问题")

    response = login(org.sup_a).get("/items/export.xlsx")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"] and ".xlsx" in response.headers["Content-Disposition"]
    sheet = _sheet(response.data)
    rows = {row["问题描述"].split("\n")[0]: row for row in _rows(sheet)}
    assert set(rows) == {"案卷不规范", "普法不够", "新问题"}, "only what sup_a may see"
    assert [row["序号"] for row in _rows(sheet)] == [1, 2, 3]

    row = rows["案卷不规范"]
    assert row["问题来源（报告/年度）"] == "甲县局2024年度法治政府建设情况报告（2024年度）"
    assert (row["问题类别"], row["责任单位"], row["责任人"]) == ("案卷质量、普法宣传", "甲县局", "张三")
    assert (row["整改状态"], row["是否逾期"], row["逾期天数"]) == ("整改中", "是", 12)
    assert row["整改时限"].date() == today - timedelta(days=12)
    assert (row["销号时间"], row["佐证材料（份）"], row["备注"]) == (None, 2, "上年度遗留（已结转1次）")
    assert (row["事项编号"], row["整改类型"], row["责任领导"], row["配合单位"], row["整改进展"]) == (
        late.id, "限期整改", None, None, None)
    row = rows["普法不够"]
    assert (row["整改状态"], row["是否逾期"], row["逾期天数"], row["备注"]) == ("已销号", "否", None, None)
    assert row["销号时间"].date() == today and row["佐证材料（份）"] == 1
    row = rows["新问题"]
    assert (row["问题来源（报告/年度）"], row["责任单位"], row["是否逾期"]) == ("2025年度（未关联报告）", "甲大队", "否")

    # The title rows: whose ledger, as of when, of what; the 合计 row at the foot.
    assert sheet["A1"].value == f"甲县局整改台账（截至{today.year}年{today.month}月{today.day}日）"
    assert sheet["A2"].value == "范围：甲县局及下属单位"
    assert sheet.cell(sheet.max_row, 1).value == "合计：3项，其中已销号1项、逾期未完成1项。"
    assert {str(merged) for merged in sheet.merged_cells.ranges} >= {f"A1:{get_column_letter(len(HEADERS))}1",
                                                                       f"A2:{get_column_letter(len(HEADERS))}2"}
    # Headers frozen and on every printed page, filters, widths, wrapped text; A4 landscape fitted to
    # the page's width; overdue rows (and only they) in red.
    last = get_column_letter(len(HEADERS))
    assert sheet.freeze_panes == "A4" and sheet.auto_filter.ref == f"A3:{last}6"
    assert sheet.print_title_rows == "$3:$3"
    assert (sheet.page_setup.orientation, sheet.page_setup.paperSize) == ("landscape", 9)
    setup = sheet.page_setup
    assert sheet.sheet_properties.pageSetUpPr.fitToPage and (setup.fitToWidth or 1, setup.fitToHeight) == (1, 0)  # 1: the default
    assert all(cell.font.b for cell in sheet[HEADER_ROW])
    described = HEADERS.index("问题描述") + 1
    # (in characters; Excel stores a few pixels of padding with each width)
    assert int(sheet.column_dimensions[get_column_letter(described)].width) == 32 and int(sheet.column_dimensions["A"].width) == 4
    assert sheet.cell(HEADER_ROW + 1, described).alignment.wrap_text
    overdue_column = HEADERS.index("是否逾期") + 1
    item_rows = range(HEADER_ROW + 1, HEADER_ROW + 4)
    for number in item_rows:
        overdue = sheet.cell(number, overdue_column).value == "是"
        fills = {sheet.cell(number, column).fill.fgColor.rgb for column in range(1, len(HEADERS) + 1)}
        assert fills == ({OVERDUE_RED} if overdue else {"00000000"}), number
    assert sum(sheet.cell(n, overdue_column).value == "是" for n in item_rows) == 1
    assert fresh.id and done.id


def test_ledger_filters_match_the_list_pages(make, org, login):
    make.item(org.county_a, org.off_a, year=2024, title="逾期的", deadline_days=-1, categories=("legal_publicity",))
    make.item(org.county_a, org.off_a2, year=2025, title="待审核的", status="pending_review")
    make.item(org.team_a, org.off_team, year=2025, title="大队的", categories=("case_file_quality",))
    make.item(org.county_a, org.off_a, year=2025, title="已销号的", status="closed", supervisor=org.sup_a)
    supervisor, official = login(org.sup_a), login(org.off_a)

    def titles(client, query):
        response = client.get(f"/items/export.xlsx?{query}")
        assert response.status_code == 200, query
        return sorted(row["问题描述"].split("\n")[0] for row in _rows(_sheet(response.data)))

    assert titles(supervisor, "overdue=1") == ["逾期的"]
    assert titles(supervisor, "year=2024") == ["逾期的"]
    assert titles(supervisor, "status=pending_review") == ["待审核的"]
    assert titles(supervisor, "category=case_file_quality") == ["大队的"]
    assert titles(supervisor, f"unit={org.team_a.id}") == ["大队的"]
    assert titles(official, "mine=1&open=1") == ["逾期的"]
    assert titles(official, "mine=1") == ["已销号的", "逾期的"]
    assert titles(official, "") == ["已销号的", "待审核的", "逾期的"]  # own unit only, never the team below
    # The report page's button: the report's items, including those it carried on.
    report = make.report(org.county_a, 2024)
    kept = make.item(org.county_a, org.off_a, report=report, title="报告里的", status="closed", supervisor=org.sup_a)
    make.item(org.county_a, org.off_a, report=report, title="结转走的")
    _roll(2024, make)
    assert titles(supervisor, f"report={report.id}") == ["报告里的", "结转走的"] and kept.id
    everything = sorted(["已销号的", "大队的", "待审核的", "逾期的", "报告里的", "结转走的"])
    assert titles(supervisor, "year=abc&status=nope&unit=x%20y&per_page=-1") == everything
    assert titles(login(org.off_b), "") == []


def test_every_list_page_has_the_export_button_with_its_filters(make, org, login):
    make.item(org.county_a, org.off_a, year=2024)
    supervisor = login(org.sup_a)
    for url, expected in [
        ("/items?year=2024&status=open", "/items/export.xlsx?year=2024&amp;status=open"),
        (f"/overdue?unit={org.county_a.id}", f"/items/export.xlsx?overdue=1&amp;unit={org.county_a.id}"),
        ("/review", "/items/export.xlsx?status=pending_review"),
    ]:
        page = supervisor.get(url).get_data(as_text=True)
        assert 'id="export-ledger"' in page and expected in page, url
    page = login(org.off_a).get("/my").get_data(as_text=True)
    assert "/items/export.xlsx?mine=1&amp;open=1" in page and "导出台账" in page


def test_text_that_looks_like_a_formula_or_holds_control_characters_stays_plain_text(make, org, login):
    item = make.item(org.county_a, org.off_a, year=2024, title="=HYPERLINK(\"http://x\")")
    item.measures = "第一步\x07响铃\x0b竖排"
    db.session.commit()
    sheet = _sheet(login(org.sup_a).get("/items/export.xlsx").data)
    described = HEADERS.index("问题描述") + 1
    cell = sheet.cell(HEADER_ROW + 1, described)
    assert cell.value.startswith("=HYPERLINK") and cell.data_type == "s"
    assert sheet.cell(HEADER_ROW + 1, HEADERS.index("整改措施") + 1).value == "第一步响铃竖排"


def test_ledger_statements_do_not_grow_with_rows(make, org, login):
    supervisor = login(org.sup_a)

    def statements() -> int:
        with StatementCounter(db.engine) as counted:
            assert supervisor.get("/items/export.xlsx").status_code == 200
        return counted.count

    make.item(org.county_a, org.off_a, year=2024)
    few = statements()
    for _ in range(20):
        make.item(org.county_a, org.off_a2, year=2024, categories=("legal_publicity", "other"))
    assert statements() == few


def test_a_large_web_export_is_built_in_the_background_and_kept_for_its_owner(app, make, org, login, monkeypatch):
    """More rows than EXPORT_INLINE_ROWS: the request answers at once with a page that follows the
    export (built in a thread of the web process), then offers the file; only to the one who asked."""
    import time

    from tracker import housekeeping
    from tracker.exports import background
    from tracker.exports.models import ExportState, LedgerExport

    for number in range(3):
        make.item(org.county_a, org.off_a, year=2024, title=f"问题{number}", deadline_days=-1 if number else 5)
    monkeypatch.setitem(app.config, "EXPORT_INLINE_ROWS", 2)
    supervisor = login(org.sup_a)
    response = supervisor.get("/items/export.xlsx?year=2024")
    assert response.status_code == 302 and "/exports/" in response.headers["Location"]
    page_url = response.headers["Location"]
    for _ in range(100):  # the thread has a few rows to write
        page = supervisor.get(page_url).get_data(as_text=True)
        if 'id="export-download"' in page:
            break
        assert "正在生成" in page or "已写入" in page
        time.sleep(0.05)
    assert "已生成，共3行" in page and "甲县局整改台账（截至" in page
    download = supervisor.get(page_url + "/file")
    assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]
    sheet = _sheet(download.data)
    assert sorted(row["问题描述"].split("\n")[0] for row in _rows(sheet)) == ["问题0", "问题1", "问题2"]
    assert sheet["A2"].value == "范围：甲县局及下属单位；2024年度"
    # Another person, even a supervisor above, gets neither the page nor the file.
    for other in (org.sup_b, org.city_sup):
        assert login(other).get(page_url).status_code == 404
        assert login(other).get(page_url + "/file").status_code == 404
    # A second click while one is being built follows that one, rather than starting another.
    first, new = background.record(org.sup_a, {"year": "2024"}, 3, now=make.now)
    again, again_new = background.record(org.sup_a, {"year": "2024"}, 3, now=make.now)
    assert new and not again_new and again.id == first.id
    db.session.rollback()
    # Kept for a day: after that, housekeeping removes the row and its file.
    export = db.session.scalar(select(LedgerExport))
    export_id = export.id
    path, asked = storage.current().path(background.PREFIX + export.stored_name), export.created_at
    assert path.is_file()
    monkeypatch.setattr(background.clock, "utcnow", lambda: asked + timedelta(hours=25))
    assert housekeeping.run()["expired_exports"] == 1
    assert not path.exists() and db.session.scalar(select(LedgerExport)) is None
    with pytest.raises(NotFound, match="已过期"):  # (the page says it; signed-in sessions don't last a day here)
        background.export_of(org.sup_a, export_id, now=asked + timedelta(hours=25))
    # A worker that died mid-export leaves its export running: it is shown as failed, with a way to retry.
    stuck = LedgerExport(user_id=org.sup_a.id, args={"year": "2024"}, rows_total=3, state=ExportState.running,
                         created_at=asked, touched_at=asked)
    db.session.add(stuck)
    db.session.commit()
    monkeypatch.setattr(background.clock, "utcnow", lambda: asked + timedelta(minutes=11))
    page = login(org.sup_a).get(f"/exports/{stuck.id}").get_data(as_text=True)
    assert "台账生成失败，请重新导出" in page and "/items/export.xlsx?year=2024" in page


def test_cli_export(app, make, org, tmp_path):
    make.item(org.county_a, org.off_a, year=2024, title="甲县的", deadline_days=-2)
    make.item(org.county_b, org.off_b, year=2025, title="乙县的")
    runner = app.test_cli_runner()
    out = tmp_path / "台账.xlsx"
    result = runner.invoke(args=["tracker", "export", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(out.resolve())
    assert len(_rows(_sheet(out.read_bytes()))) == 2

    filtered = tmp_path / "filtered.xlsx"
    result = runner.invoke(args=["tracker", "export", "--out", str(filtered), "--unit", "甲县局", "--year", "2024",
                                 "--status", "open", "--overdue"])
    assert result.exit_code == 0, result.output
    assert [row["问题描述"].split("\n")[0] for row in _rows(_sheet(filtered.read_bytes()))] == ["甲县的"]
    sheet = _sheet(filtered.read_bytes())
    assert sheet["A1"].value.startswith("甲县局整改台账（截至")
    assert sheet["A2"].value == "范围：甲县局及下属单位；2024年度；状态：待整改；仅逾期"
    assert _sheet(out.read_bytes())["A1"].value.startswith("整改台账（截至")  # the operator's: every unit

    for args, message in [
        (("--out", str(tmp_path / "a.csv")), "应以 .xlsx 结尾"),
        (("--out", str(tmp_path / "none" / "a.xlsx")), "不存在"),
        (("--out", str(tmp_path / "b.xlsx"), "--unit", "无此单位"), "找不到单位"),
        (("--out", str(tmp_path / "b.xlsx"), "--category", "nope"), "没有代码为“nope”的问题类别。"),
    ]:
        result = runner.invoke(args=["tracker", "export", *args])
        assert result.exit_code == 1 and message in result.stderr and result.stderr.count("\n") == 1, args
    assert runner.invoke(args=["tracker", "export", "--out", str(tmp_path / "c.xlsx"), "--status", "done"]).exit_code == 2
    assert runner.invoke(args=["tracker", "export"]).exit_code == 2
    assert sorted(os.listdir(tmp_path)) == ["filtered.xlsx", "台账.xlsx"], "no half-written file left behind"


def _paragraphs(data: bytes):
    return Document(io.BytesIO(data)).paragraphs


def _east_asian_font(paragraph) -> str:
    return paragraph.runs[-1]._element.rPr.rFonts.get(qn("w:eastAsia"))


def test_report_section_docx(make, org, login, today):
    report_2024 = make.report(org.county_a, 2024)
    done = make.item(org.county_a, org.off_a, report=report_2024, title="普法宣传不深入", status="closed",
                     supervisor=org.sup_a)
    done.measures = "开展“八五”普法。"
    late = make.item(org.county_a, org.off_a, report=report_2024, title="案卷质量不高", deadline_days=-5,
                     status="in_progress")
    late.measures = "开展案卷评查。"
    services.add_progress(late, org.off_a, "评查已完成一半，因人员借调未能按期完成。", now=make.now)
    db.session.commit()
    old = make.item(org.county_a, org.off_a, year=2022, title="执法力量不足")
    _roll(2022, make)
    _roll(2023, make)  # now 2024's, carried twice
    _roll(2024, make)
    report_2025 = db.session.scalar(select(Report).where(Report.year == 2025))
    make.item(org.county_a, org.off_a, report=report_2025, title="执法方式单一")

    response = login(org.sup_a).get(f"/reports/{org.county_a.id}/2025/section.docx")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    paragraphs = _paragraphs(response.data)
    texts = [p.text for p in paragraphs]
    assert texts[0] == "甲县局2024年度存在问题整改情况"
    first, second = texts.index("一、上一年度存在问题整改情况"), texts.index("二、2025年度存在的问题")
    assert first < second
    assert texts[first + 1] == (f"2024年度报告查摆问题3个（含以前年度遗留问题1个）。截至{today.year}年{today.month}月{today.day}日，"
                                "已整改销号1个，尚未完成2个（其中逾期1个），均已结转至2025年度继续整改。")
    headings = [t for t in texts[first:second] if t.startswith("（")]
    assert headings == ["（一）普法宣传不深入", "（二）案卷质量不高", "（三）执法力量不足"]  # closed first
    block = "\n".join(texts[texts.index("（一）普法宣传不深入"):texts.index("（二）案卷质量不高")])
    assert "整改措施：开展“八五”普法。" in block and "整改情况：已完成整改" in block
    assert f"完成时间：{today.year}年{today.month}月{today.day}日审核销号。" in block and "佐证材料：1份：佐证.pdf。" in block
    block = "\n".join(texts[texts.index("（二）案卷质量不高"):texts.index("（三）执法力量不足")])
    assert "目前状态：整改中，已逾期5天。" in block and "未完成原因：评查已完成一半，因人员借调未能按期完成。" in block
    deadline = today - timedelta(days=5)
    assert f"整改时限：{deadline.year}年{deadline.month}月{deadline.day}日。" in block
    assert "已结转至2025年度继续整改。" in block and "佐证材料：无。" in block
    block = "\n".join(texts[texts.index("（三）执法力量不足"):second])
    assert "该问题为以前年度遗留问题，已连续3年未完成。" in block and "未完成原因：暂无进展说明。" in block
    assert texts[second + 1:] == ["（一）执法方式单一", "问题描述"], "only the problems 2025 found, not those carried in"

    # Official-document fonts: 黑体 headings, 楷体 sub-headings, 仿宋 body, 三号 (16 pt).
    assert _east_asian_font(paragraphs[first]) == "黑体"
    assert _east_asian_font(paragraphs[texts.index("（一）普法宣传不深入")]) == "楷体"
    assert _east_asian_font(paragraphs[first + 1]) == "仿宋"
    assert paragraphs[first + 1].runs[0].font.size.pt == 16
    assert paragraphs[first + 1].paragraph_format.first_line_indent.pt == 32
    assert old.id


def test_report_section_counts_an_item_carried_on_and_closed_since_as_closed(make, org, login, today):
    report = make.report(org.county_a, 2024)
    later = make.item(org.county_a, org.off_a, report=report, title="次年完成的", status="in_progress")
    make.item(org.county_a, org.off_a, report=report, title="仍未完成的")
    _roll(2024, make)
    make.evidence(later, org.off_a)
    from tracker.items import workflow
    from tracker.items.workflow import Action

    workflow.perform(later, Action.submit, org.off_a, summary="次年完成", now=make.now, today=today)
    workflow.perform(later, Action.approve, org.sup_a, now=make.now, today=today)
    db.session.commit()
    texts = [p.text for p in _paragraphs(login(org.sup_a).get(f"/reports/{org.county_a.id}/2025/section.docx").data)]
    assert texts[3] == (f"2024年度报告查摆问题2个。截至{today.year}年{today.month}月{today.day}日，已整改销号1个，"
                        "尚未完成1个，均已结转至2025年度继续整改。")
    assert texts.index("（一）次年完成的") < texts.index("（二）仍未完成的")


def test_report_section_permissions_and_missing_reports(make, org, login):
    make.report(org.county_a, 2024)
    assert login(org.sup_b).get(f"/reports/{org.county_a.id}/2025/section.docx").status_code == 404
    missing = login(org.sup_a).get(f"/reports/{org.county_a.id}/2030/section.docx")
    assert missing.status_code == 404 and "甲县局没有2029年度或2030年度的报告。" in missing.get_data(as_text=True)
    only_last_year = _paragraphs(login(org.sup_a).get(f"/reports/{org.county_a.id}/2025/section.docx").data)
    assert "2025年度报告尚未导入系统，或未列出问题。" in [p.text for p in only_last_year]


def test_chinese_numbers():
    assert [chinese_number(n) for n in (1, 9, 10, 11, 19, 20, 21, 99, 100, 101, 110, 111, 120, 999, 1000)] == [
        "一", "九", "十", "十一", "十九", "二十", "二十一", "九十九", "一百", "一百零一", "一百一十", "一百一十一",
        "一百二十", "九百九十九", "1000"]


def test_items_keep_their_year_on_the_list_after_rollover(make, org, login):
    """After the rollover a carried item is in next year's list and ledger, not twice."""
    make.item(org.county_a, org.off_a, year=2024, title="遗留")
    _roll(2024, make)
    supervisor = login(org.sup_a)
    assert _rows(_sheet(supervisor.get("/items/export.xlsx?year=2024").data)) == []
    assert len(_rows(_sheet(supervisor.get("/items/export.xlsx?year=2025").data))) == 1
    assert db.session.scalar(select(Item.year)) == 2025


def test_a_row_is_as_tall_as_its_longest_wrapped_text(make, org, login):
    """WPS and LibreOffice keep a row one line high unless the file says otherwise: a printed
    ledger must show every word of a long problem."""
    long = make.item(org.county_a, org.off_a, year=2024, title="执法案卷不规范")
    long.text = "执法案卷制作不规范，" * 30  # 300 characters in a column 32 wide: about 20 lines
    make.item(org.county_a, org.off_a, year=2024, title="短")
    db.session.commit()
    sheet = _sheet(login(org.sup_a).get("/items/export.xlsx?sort=id").data)
    heights = {sheet.cell(row, HEADERS.index("问题描述") + 1).value.split("\n")[0]: sheet.row_dimensions[row].height
               for row in range(HEADER_ROW + 1, HEADER_ROW + 3)}
    assert heights["执法案卷不规范"] >= 13.5 * 18 and heights["短"] < 13.5 * 3  # (its 问题来源 takes two lines)
