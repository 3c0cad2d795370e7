"""Bringing an existing 整改台账 in: sheets shaped as offices make them (title rows merged across
the top, blank rows, two-row headers, merged cells, dates typed as words), names the system does
not know, junk files, and a ledger tracker exported coming back as the same items."""

import io
import json
from datetime import date, timedelta

import openpyxl
import pytest
from sqlalchemy import func, select

from tests.conftest import _empty_database
from tracker.extensions import db
from tracker.importing import sheet as sheets
from tracker.items import services
from tracker.items.models import EventAction, Item, ItemEvent, MeasureType, Report, Status


def _office_ledger(path, *, unit="甲县局", owner="张三", extra_rows=()):
    """A ledger as a county bureau keeps it: a merged title, a note line, a blank row, the header in
    its own words, a problem over two merged rows with two measures, a unit merged over two rows,
    dates typed every way, a blank row inside, a 合计 row at the foot."""
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "台账"
    ws["A1"] = "甲县局2025年度法治政府建设存在问题整改台账"
    ws.merge_cells("A1:K1")
    ws["A2"] = "填报单位（盖章）：甲县局            填报时间：2026年3月1日"
    ws.merge_cells("A2:K2")
    ws.append([])
    ws.append(["序 号", "存在问题", "整改措施", "责任单位", "分管领导", "具体责任人", "完成时限", "进展情况", "问题类别",
               "协办单位", "备注"])
    ws.append([1, "普法宣传针对性不强。宣传形式单一，群众知晓率不高。", "开展“法律进企业”活动", unit, "王副局长", owner,
               "2026年6月30日", "已制定普法责任清单", "普法", "", ""])
    ws.append([2, "执法案卷制作不规范", "开展案卷评查", "甲大队", "李局长", "", "2026.9.30", "", "案卷", "乙县局", ""])
    ws.append([None, None, "建立案卷质量通报制度", None, None, None, None, "", "", "", ""])
    ws.merge_cells("A6:A7")
    ws.merge_cells("B6:B7")
    ws.merge_cells("D6:D7")
    ws.append([])
    ws.append([3, "执法人员数量不足", "争取增加编制", "", "", "", "6月底", "2026-02-10：已向编办报送需求", "执法力量", "", ""])
    ws.append([4, "学习贯彻习近平法治思想不够深入", "常态化开展学法", unit, "", "", "长期坚持", "", "", "", ""])
    ws.append([5, "行政执法三项制度落实不到位", "完善公示平台", unit, "", "", date(2026, 12, 31), "", "制度建设", "", ""])
    for row in extra_rows:
        ws.append(row)
    ws.append(["合计", "5项"])
    book.save(path)
    return path


def _cli(app, *args):
    result = app.test_cli_runner().invoke(args=["tracker", "import-ledger", *map(str, args)])
    return result, (json.loads(result.stdout) if result.exit_code == 0 else None)


def test_an_office_ledger_is_read_as_its_office_wrote_it(app, make, org, tmp_path):
    path = _office_ledger(tmp_path / "台账.xlsx")
    result, dry = _cli(app, path, "--unit", "甲县局", "--dry-run")
    assert result.exit_code == 0, result.output
    assert dry["rows"] == 6 and dry["header_row"] == 4 and dry["item_ids"] is None
    assert (dry["unknown_units"], dry["unknown_owners"], dry["unread_dates"]) == ([], [], [])
    assert db.session.scalar(select(func.count(Item.id))) == 0, "a dry run stores nothing"
    by_title = {item["title"]: item for item in dry["items"]}
    assert list(by_title) == ["普法宣传针对性不强", "执法案卷制作不规范", "执法人员数量不足", "学习贯彻习近平法治思想不够深入",
                              "行政执法三项制度落实不到位"], "the merged rows are one problem; blank and 合计 rows skipped"
    case = by_title["执法案卷制作不规范"]
    assert case["measures"] == "开展案卷评查\n建立案卷质量通报制度" and case["unit"] == "甲大队"
    assert (case["deadline"], case["leader"], case["co_units"], case["categories"][0]) == (
        "2026-09-30", "李局长", ["乙县局"], "case_file_quality")
    first = by_title["普法宣传针对性不强"]
    assert (first["owner"], first["deadline"], first["leader"], first["categories"][0]) == (
        "off_a", "2026-06-30", "王副局长", "legal_publicity")
    staff = by_title["执法人员数量不足"]
    assert (staff["unit"], staff["deadline"], staff["year"]) == ("甲县局", "2026-06-30", 2025), "6月底: of the year after"
    assert staff["categories"][0] == "enforcement_capacity"
    assert by_title["学习贯彻习近平法治思想不够深入"]["measure_type"] == "long_term"
    assert by_title["学习贯彻习近平法治思想不够深入"]["deadline"] is None
    assert by_title["行政执法三项制度落实不到位"]["deadline"] == "2026-12-31"

    result, stored = _cli(app, path, "--unit", "甲县局")
    assert result.exit_code == 0, result.output
    assert len(stored["item_ids"]) == 5
    items = {item.title: item for item in db.session.scalars(select(Item))}
    assert items["普法宣传针对性不强"].owner_id == org.off_a.id and items["普法宣传针对性不强"].year == 2025
    assert [u.name for u in items["执法案卷制作不规范"].co_units] == ["乙县局"]
    note = db.session.scalar(select(ItemEvent).where(ItemEvent.item_id == items["执法人员数量不足"].id,
                                                     ItemEvent.action == EventAction.progress))
    assert note.comment == "已向编办报送需求" and note.details.get("imported")
    report = db.session.scalar(select(Report))
    assert report.title == "甲县局2025年度法治政府建设存在问题整改台账" and report.year == 2025
    assert {item.report_id for item in items.values()} == {report.id}
    # The same ledger again is refused, unless asked for.
    again, _ = _cli(app, path, "--unit", "甲县局")
    assert again.exit_code == 1 and "已于" in again.stderr and "--allow-duplicate" in again.stderr
    assert db.session.scalar(select(func.count(Item.id))) == 5


def test_unknown_units_stop_the_import_and_unknown_owners_are_listed(app, make, org, tmp_path):
    path = _office_ledger(tmp_path / "台账.xlsx", owner="赵六",
                          extra_rows=[[6, "执法装备老旧", "更新装备", "丙县局", "", "", "2026年10月", "", "", "", ""]])
    result, dry = _cli(app, path, "--unit", "甲县局", "--dry-run")
    assert dry["unknown_units"] == ["丙县局"] and dry["unknown_owners"] == ["赵六"]
    assert next(i for i in dry["items"] if i["title"] == "执法装备老旧")["deadline"] == "2026-10-31"
    result, _ = _cli(app, path, "--unit", "甲县局")
    assert result.exit_code == 1 and "丙县局" in result.stderr and result.stderr.count("\n") == 1
    assert db.session.scalar(select(func.count(Item.id))) == 0 and db.session.scalar(select(func.count(Report.id))) == 0
    # An owner who is not a user: listed, and the item waits for one to be assigned.
    path = _office_ledger(tmp_path / "台账2.xlsx", owner="赵六")
    result, stored = _cli(app, path, "--unit", "甲县局")
    assert result.exit_code == 0 and stored["unknown_owners"] == ["赵六"]
    assert db.session.scalar(select(Item).where(Item.title == "普法宣传针对性不强")).owner_id is None


def test_a_deadline_that_is_no_date_stops_the_import_with_its_rows(app, make, org, tmp_path):
    path = _office_ledger(tmp_path / "台账.xlsx",
                          extra_rows=[[6, "执法装备老旧", "更新装备", "甲县局", "", "", "尽快", "", "", "", ""],
                                      [7, "证据收集不全", "规范取证", "甲县局", "", "", "2026年2月30日", "", "", "", ""]])
    result, _ = _cli(app, path, "--unit", "甲县局")
    assert result.exit_code == 1 and "第12行“尽快”" in result.stderr and "第13行“2026年2月30日”" in result.stderr
    assert db.session.scalar(select(func.count(Item.id))) == 0


@pytest.mark.parametrize(("data", "name", "sentence"), [
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "台账.xls", "另存为"),
    (b"PK\x03\x04 this is no zip at all", "台账.xlsx", "不是有效的 Excel"),
    (b"\x00\x01junk" * 100, "台账.xlsx", "不是 .xlsx 格式"),
    (b"a,b,c\n1,2,3\n", "台账.csv", ".csv"),
])
def test_junk_files_get_one_sentence_and_nothing_is_stored(app, org, tmp_path, data, name, sentence):
    path = tmp_path / name
    path.write_bytes(data)
    result, _ = _cli(app, path, "--unit", "甲县局")
    assert result.exit_code == 1 and sentence in result.stderr and result.stderr.count("\n") == 1, result.stderr
    assert db.session.scalar(select(func.count(Item.id))) == 0


def test_a_sheet_without_a_ledger_header_or_a_word_file_is_refused(app, org, tmp_path):
    book = openpyxl.Workbook()
    book.active.append(["姓名", "电话"])
    book.active.append(["张三", "123"])
    book.save(tmp_path / "通讯录.xlsx")
    result, _ = _cli(app, tmp_path / "通讯录.xlsx", "--unit", "甲县局")
    assert result.exit_code == 1 and "没有找到台账的表头" in result.stderr
    from docx import Document

    Document().save(tmp_path / "报告.xlsx")
    result, _ = _cli(app, tmp_path / "报告.xlsx", "--unit", "甲县局")
    assert result.exit_code == 1 and "别的压缩文件" in result.stderr


def test_a_two_row_header_and_dates_as_offices_type_them():
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["序号", "问题描述", "整改措施", "责任主体", None, None, "整改时限"])
    ws.append([None, None, None, "责任领导", "责任单位", "责任人", None])
    ws.merge_cells("D1:F1")
    for column in "ABCG":
        ws.merge_cells(f"{column}1:{column}2")
    ws.append([1, "问题", "措施", "王局长", "甲县局", "张三", "2025年底"])
    out = io.BytesIO()
    book.save(out)
    read = sheets.read_sheet(out.getvalue(), "台账.xlsx")
    assert read.header_row == 1 and set(read.mapping()) == {"number", "description", "measures", "leader", "unit",
                                                             "owner", "deadline"}
    assert [row.values[4] for row in read.rows] == ["甲县局"]
    year = 2026
    for written, day in [("2025年6月30日", date(2025, 6, 30)), ("2025.6.30", date(2025, 6, 30)), ("2025-06-30", date(2025, 6, 30)),
                         ("2025/6/30前", date(2025, 6, 30)), ("20250630", date(2025, 6, 30)), ("2025年6月", date(2025, 6, 30)),
                         ("2025年底前", date(2025, 12, 31)), ("6月底", date(2026, 6, 30)), ("六月底前", date(2026, 6, 30)),
                         ("12月31日前", date(2026, 12, 31)), ("年底前", date(2026, 12, 31)), ("上半年", date(2026, 6, 30)),
                         (45838, date(2025, 6, 30)), ("2月底", date(2026, 2, 28))]:
        assert sheets.read_day(written, year).day == day, written
    assert sheets.read_day("长期坚持", year) == sheets.Day(None, MeasureType.long_term)
    assert sheets.read_day("立行立改", year).measure_type is MeasureType.immediate
    assert not sheets.read_day("尽快", year).readable and not sheets.read_day("2025年13月", year).readable
    for written, status in [("已完成", Status.closed), ("已销号", Status.closed), ("整改中", Status.in_progress),
                            ("未完成", Status.in_progress), ("基本完成", Status.in_progress), ("待整改", Status.open),
                            ("待审核", Status.in_progress), ("是", Status.closed), ("否", Status.open), (None, None)]:
        assert sheets.read_status(written)[0] is status, written


def test_a_ledger_exported_by_tracker_imports_back_into_a_fresh_instance_as_the_same_items(app, make, org, tmp_path):
    report = make.report(org.county_a, 2024, title="甲县局2024年度法治政府建设情况报告")
    worked = make.item(org.county_a, org.off_a, report=report, title="案卷不规范", status="in_progress",
                       categories=("case_file_quality", "legal_publicity"))
    services.update_item(worked, org.sup_a, {"leader": "王副局长", "co_units": [org.county_b],
                                             "measure_type": MeasureType.long_term, "measures": "开展案卷评查"},
                         now=make.now, today=make.today)
    services.add_progress(worked, org.off_a, "已评查案卷30卷", now=make.now)
    make.item(org.team_a, org.off_team, report=report, title="普法不够", status="closed", supervisor=org.sup_a,
              categories=("legal_publicity",), deadline_days=-3)
    make.item(org.county_a, None, report=report, title="执法人员不足", categories=("enforcement_capacity",),
              deadline_days=None)
    db.session.commit()

    def fields() -> list[tuple]:
        db.session.expire_all()
        return sorted(
            (item.title, item.text, item.unit.name, item.owner.username if item.owner else None, item.year,
             item.deadline, item.status.value, item.closed_on, item.measures, item.measure_type.value, item.leader,
             sorted(u.name for u in item.co_units), [c.code for c in item.categories],
             item.report.title if item.report else None,
             db.session.scalar(select(ItemEvent.comment).where(ItemEvent.item_id == item.id,
                                                               ItemEvent.action == EventAction.progress)
                               .order_by(ItemEvent.id.desc()).limit(1)))
            for item in db.session.scalars(select(Item)))

    before = fields()
    out = tmp_path / "台账.xlsx"
    result = app.test_cli_runner().invoke(args=["tracker", "export", "--out", str(out)])
    assert result.exit_code == 0, result.output

    # A fresh instance: the same tree and people, no items.
    _empty_database()
    city = make.unit("市局")
    county_a = make.unit("甲县局", city)
    make.unit("甲大队", county_a)
    make.unit("乙县局", city)
    make.user("off_a", "official", county_a, name="张三")
    make.user("off_team", "official", db.session.scalar(select(type(city)).where(type(city).name == "甲大队")))
    result, stored = _cli(app, out, "--unit", "甲县局")
    assert result.exit_code == 0, result.output
    assert len(stored["item_ids"]) == 3 and stored["unknown_owners"] == []
    assert fields() == before
    closed = db.session.scalar(select(Item).where(Item.title == "普法不够"))
    assert closed.closed_on == make.today and closed.closed_deadline == make.today - timedelta(days=3)


def _upload_ledger(client, data: bytes, filename: str, unit_id: int):
    from werkzeug.datastructures import FileStorage
    from werkzeug.test import encode_multipart

    boundary, body = encode_multipart({"csrf_token": client.csrf, "unit": str(unit_id), "year": "",
                                       "file": FileStorage(io.BytesIO(data), filename=filename)})
    return client.post("/reports/import-ledger", data=body, content_type=f"multipart/form-data; boundary={boundary}")


def test_the_import_ledger_page_previews_asks_for_unknown_names_and_stores_all_or_nothing(app, make, org, login, tmp_path):
    import re

    path = _office_ledger(tmp_path / "台账.xlsx", owner="赵六",
                          extra_rows=[[6, "执法装备老旧", "更新装备", "丙县局", "", "", "2026年10月", "", "", "", ""]])
    supervisor = login(org.sup_a)
    assert "导入台账" in supervisor.get("/reports").get_data(as_text=True)
    assert login(org.off_a).get("/reports/import-ledger").status_code == 403
    page = _upload_ledger(supervisor, path.read_bytes(), "台账.xlsx", org.county_a.id)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "表头在第4行，共6个问题" in html and "执法案卷制作不规范" in html
    assert 'id="ledger-unknown-units"' in html and "丙县局" in html and 'id="ledger-unknown-owners"' in html and "赵六" in html
    token = re.search(r'name="token" value="([^"]+)"', html).group(1)
    base = {"csrf_token": supervisor.csrf, "token": token, "action": "import"}
    refused = supervisor.post("/reports/import-ledger/confirm", data=base)
    assert refused.status_code == 422 and "丙县局" in refused.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Item.id))) == 0, "nothing stored"
    stored = supervisor.post("/reports/import-ledger/confirm", data={
        **base, "unit-name-0": "丙县局", "unit-for-0": str(org.team_a.id), "owner-name-0": "赵六",
        "owner-for-0": org.off_a2.username})
    assert stored.status_code == 302
    items = {item.title: item for item in db.session.scalars(select(Item))}
    assert len(items) == 6 and items["执法装备老旧"].unit_id == org.team_a.id
    assert items["普法宣传针对性不强"].owner_id == org.off_a2.id
    assert "已导入台账“台账.xlsx”：6个事项" in supervisor.get(stored.headers["Location"]).get_data(as_text=True)
    # A column read wrongly is set right on the preview: 备注 read as the measures.
    page = _upload_ledger(supervisor, _office_ledger(tmp_path / "另一本.xlsx").read_bytes(), "另一本.xlsx",
                          org.county_a.id)
    token = re.search(r'name="token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    again = supervisor.post("/reports/import-ledger/confirm", data={
        "csrf_token": supervisor.csrf, "token": token, "action": "preview", "column-2": "", "column-10": "measures"})
    assert again.status_code == 200 and "开展案卷评查" not in again.get_data(as_text=True).split('id="ledger-rows"')[0]


def test_the_import_ledger_page_says_one_sentence_for_a_bad_file(app, org, login):
    supervisor = login(org.sup_a)
    page = _upload_ledger(supervisor, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "台账.xls", org.county_a.id)
    assert page.status_code == 415 and "“另存为” .xlsx" in page.get_data(as_text=True)
    page = _upload_ledger(supervisor, b"not a workbook" * 10, "台账.xlsx", org.county_a.id)
    assert page.status_code in (415, 422) and "不是 .xlsx 格式" in page.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Item.id))) == 0


def test_names_mapped_on_the_preview_are_kept_through_a_second_look(app, make, org, login, tmp_path):
    """Map an unknown unit, press 重新识别 (the name is no longer asked), then import: the mapping holds."""
    import re

    path = _office_ledger(tmp_path / "台账.xlsx", owner="赵六",
                          extra_rows=[[6, "执法装备老旧", "更新装备", "丙县局", "", "", "2026年10月", "", "", "", ""]])
    supervisor = login(org.sup_a)
    html = _upload_ledger(supervisor, path.read_bytes(), "台账.xlsx", org.county_a.id).get_data(as_text=True)
    token = re.search(r'name="token" value="([^"]+)"', html).group(1)
    look = supervisor.post("/reports/import-ledger/confirm", data={
        "csrf_token": supervisor.csrf, "token": token, "action": "preview", "unit-name-0": "丙县局",
        "unit-for-0": str(org.team_a.id), "owner-name-0": "赵六", "owner-for-0": org.off_a2.username})
    html = look.get_data(as_text=True)
    assert look.status_code == 200 and 'id="ledger-unknown-units"' not in html and 'id="ledger-unknown-owners"' not in html
    token = re.search(r'name="token" value="([^"]+)"', html).group(1)
    stored = supervisor.post("/reports/import-ledger/confirm", data={"csrf_token": supervisor.csrf, "token": token,
                                                                     "action": "import"})
    assert stored.status_code == 302
    assert db.session.scalar(select(Item).where(Item.title == "执法装备老旧")).unit_id == org.team_a.id
    assert db.session.scalar(select(Item).where(Item.title == "普法宣传针对性不强")).owner_id == org.off_a2.id


def test_headers_statuses_and_dates_offices_write_that_look_alike(app, org, tmp_path):
    """问题编号 beside 问题描述, a 完成情况 column of statuses, years written inside a range or a
    quarter, statuses that are not closed although they say 完成, and hostile cells."""
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["问题编号", "问题描述", "整改措施", "完成时限", "完成情况"])
    ws.append(["W-1", "普法不够", "宣传", "2025年3月至6月底", "已完成80%"])
    ws.append(["W-2", "案卷不规范", "评查", "2025年第三季度", "整改完成（未销号）"])
    ws.append(["W-3", "执法力量不足", "增编", "2025年" + " " * 5000 + "x", "已完成"])
    ws.append(["W-4", "证据不全", "规范", "", "正在推进"])
    book.save(tmp_path / "台账.xlsx")
    result, dry = _cli(app, tmp_path / "台账.xlsx", "--unit", "甲县局", "--year", "2024", "--dry-run")
    assert result.exit_code == 0, result.output
    assert dry["columns"] == {"问题编号": "number", "问题描述": "description", "整改措施": "measures",
                              "完成时限": "deadline", "完成情况": "status"}
    items = dry["items"]
    assert [i["title"] for i in items] == ["普法不够", "案卷不规范", "执法力量不足", "证据不全"]
    assert [i["deadline"] for i in items][:2] == ["2025-06-30", "2025-09-30"], "the year written in the cell"
    assert [i["status"] for i in items] == ["in_progress", "in_progress", "closed", "in_progress"]
    assert dry["unread_dates"] == ["第4行“2025年 x”"]
    assert not sheets.read_day(float("inf"), 2025).readable  # a number cell of 1E999 (openpyxl cannot write one)


def test_a_description_with_a_short_first_line_keeps_every_word(app, org, tmp_path):
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["序号", "存在问题", "整改措施", "责任单位"])
    ws.append([1, "在2024年度考核中发现：\n执法案卷不规范，送达不及时。", "评查", "甲县局"])
    ws.append([None, None, "建立通报制度", None])  # the second measure on a row of its own, nothing merged
    book.save(tmp_path / "台账.xlsx")
    result, dry = _cli(app, tmp_path / "台账.xlsx", "--unit", "甲县局", "--dry-run")
    assert len(dry["items"]) == 1
    item = dry["items"][0]
    assert item["text"] == "在2024年度考核中发现：\n执法案卷不规范，送达不及时。" and item["measures"] == "评查\n建立通报制度"


def test_an_imported_closed_item_tells_nobody_and_a_future_close_date_is_refused(app, make, org, tmp_path):
    from tracker.reminders.models import Notification

    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["序号", "问题描述", "整改措施", "责任单位", "责任人", "整改状态", "销号时间"])
    ws.append([1, "普法不够", "宣传", "甲县局", "张三", "已销号", "2026-01-05"])
    book.save(tmp_path / "台账.xlsx")
    result, stored = _cli(app, tmp_path / "台账.xlsx", "--unit", "甲县局")
    assert result.exit_code == 0, result.output
    item = db.session.get(Item, stored["item_ids"][0])
    assert (item.status, item.closed_on) == (Status.closed, date(2026, 1, 5))
    kinds = set(db.session.scalars(select(Notification.kind).where(Notification.user_id == org.off_a.id)))
    assert "approved" not in kinds, "a close-out brought in from a ledger is no news"
    ws["G2"] = "2099-01-05"
    book.save(tmp_path / "将来.xlsx")
    result, _ = _cli(app, tmp_path / "将来.xlsx", "--unit", "甲县局", "--allow-duplicate")
    assert result.exit_code == 1 and "销号时间“2099-01-05”晚于今天" in result.stderr
