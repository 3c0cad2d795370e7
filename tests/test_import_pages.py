"""Importing through the command line and the pages: preview, edit, confirm, duplicates."""

import io
import json
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from tests.reports import SAMPLES, docx_bytes, sample_text
from tracker import storage
from tracker.extensions import db
from tracker.importing.classify import Rule, classify, load_rules
from tracker.importing.models import CategoryRule
from tracker.items.models import Item, ItemEvent, Report

NAME_000 = "000_03325c51586e0bb3.txt"
NAME_004 = "004_a88482b488a96b1d.txt"


@pytest.fixture
def hulan(make):
    city = make.unit("市局")
    unit = make.unit("呼兰区交通运输局", city)
    supervisor = make.user("hulan_sup", "supervisor", unit)
    official = make.user("hulan_off", "official", unit)
    return unit, supervisor, official


def _cli(app, *args):
    return app.test_cli_runner().invoke(args=["tracker", *args])


def test_dry_run_prints_the_json_and_stores_nothing(app, tmp_path):
    path = tmp_path / NAME_004
    path.write_bytes(sample_text(NAME_004).encode("gb18030"))
    result = _cli(app, "import-report", str(path), "--dry-run")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == {"unit", "matched_unit", "kind", "year", "title", "problems", "plans", "report_id", "item_ids"}
    assert data["kind"] == "rule_of_law" and all("measures" in p for p in data["problems"])
    assert (data["unit"], data["year"], data["report_id"], data["item_ids"]) == ("呼兰区交通运输局", 2023, None, None)
    assert data["matched_unit"] is None  # the system has no such unit yet
    assert [p["title"] for p in data["problems"]] == [t for t, _ in SAMPLES[NAME_004][2]]
    assert data["problems"][2]["categories"][0] == "case_file_quality"
    assert db.session.scalar(select(func.count(Report.id))) == 0


def test_cli_import_stores_items_with_default_deadline_and_refuses_a_second_time(app, hulan, tmp_path, today):
    path = tmp_path / "report.docx"
    path.write_bytes(docx_bytes(sample_text(NAME_004)))
    result = _cli(app, "import-report", str(path))
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    items = db.session.scalars(select(Item).where(Item.id.in_(data["item_ids"])).order_by(Item.id)).all()
    assert [i.title for i in items] == [t for t, _ in SAMPLES[NAME_004][2]]
    # 30 June 2024 has passed: 90 days from the import instead, not born years overdue
    assert {i.deadline for i in items} == {today + timedelta(days=90)}
    assert items[2].categories[0].code == "case_file_quality"
    assert all(i.status.value == "open" and i.report_id == data["report_id"] for i in items)
    report = db.session.get(Report, data["report_id"])
    assert report.source_filename == "report.docx" and len(report.sha256) == 64

    again = _cli(app, "import-report", str(path))
    assert again.exit_code == 1 and "--allow-duplicate" in again.stderr
    assert db.session.scalar(select(func.count(Report.id))) == 1
    forced = _cli(app, "import-report", str(path), "--allow-duplicate", "--year", "2024")
    assert forced.exit_code == 0 and json.loads(forced.stdout)["year"] == 2024


@pytest.mark.parametrize("content,args,message", [
    (b"", (), "文件是空的"),
    (b"PK\x03\x04garbage", (), "不是有效的 .docx"),
    ("某局工作总结\n一、工作\n做了工作。".encode(), (), "没有找到“存在的问题”"),
    (sample_text(NAME_004).encode(), ("--unit", "不存在的局"), "找不到单位“不存在的局”"),
])
def test_cli_bad_input_exit_1_one_sentence_nothing_stored(app, tmp_path, content, args, message):
    suffix = ".docx" if content.startswith(b"PK") else ".txt"
    path = tmp_path / f"report{suffix}"
    path.write_bytes(content)
    result = _cli(app, "import-report", str(path), *args)
    assert result.exit_code == 1
    assert message in result.stderr and result.stderr.count("\n") == 1
    assert db.session.scalar(select(func.count(Report.id))) == 0


def test_missing_file_is_a_usage_error(app):
    assert _cli(app, "import-report", "/no/such/report.docx").exit_code in (1, 2)


def _upload(c, data: bytes | None = None, filename: str = "report.txt", pasted: str = ""):
    fields = {"csrf_token": c.csrf, "pasted": pasted}
    if data is not None:
        fields["file"] = FileStorage(io.BytesIO(data), filename=filename)
    boundary, body = encode_multipart(fields)
    return c.post("/reports/import", data=body, content_type=f"multipart/form-data; boundary={boundary}")


def _form_fields(page: str) -> dict:
    """What the browser would send back from the preview form, unchanged."""
    form = page.split('id="confirm-form"', 1)[1].split("</form>", 1)[0]
    import html

    data: dict = {}
    for tag in re.findall(r"<input[^>]*>", form):
        name = re.search(r'name="([^"]+)"', tag)
        if not name:
            continue
        if 'type="checkbox"' in tag:
            if "checked" in tag:
                value = re.search(r'value="([^"]*)"', tag)
                data.setdefault(name.group(1), []).append(value.group(1) if value else "y")
            continue
        value = re.search(r'value="([^"]*)"', tag)
        data[name.group(1)] = html.unescape(value.group(1)) if value else ""
    for name, body in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', form, re.S):
        data[name] = re.sub(r"^\r?\n", "", html.unescape(body))  # as a browser drops the first line break
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
        chosen = re.search(r'<option selected value="([^"]*)"|<option value="([^"]*)" selected', body)
        data[name] = chosen.group(1) or chosen.group(2)
    return data


def _preview_of_004(c) -> dict:
    """Upload sample report 004 and return the preview form as the browser would send it back."""
    return _form_fields(_upload(c, sample_text(NAME_004).encode()).get_data(as_text=True))


def test_upload_preview_edit_and_confirm(org, make, login, today):
    unit = make.unit("**市交通运输局", org.city)
    c = login(org.city_sup)
    page = _upload(c, sample_text(NAME_000).encode("gb18030"), "述职报告.txt")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "普法宣传方式比较单一" in text and "加强信息化建设" in text
    data = _form_fields(text)
    assert data["unit"] == str(unit.id) and data["year"] == "2022"
    assert data["deadline"] == (today + timedelta(days=90)).isoformat()  # 30 June 2023 is long past
    assert data["rows-1-primary_category"] == "legal_publicity"
    assert "普法" in data["rows-1-measures"]  # the plan that answers it

    data["rows-0-title"] = "学习贯彻习近平法治思想不够深入"
    data["rows-0-other_categories"] = ["accountability"]
    data["rows-1-include"] = []  # drop
    data["rows-2-merge_up"] = ["y"]  # merge into the problem before it that is kept
    data["rows-3-text"] = "执法素质有待提升。培训不够。\n---\n执法证件管理不规范，部分人员未持证上岗。"
    response = c.post("/reports/import/confirm", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]

    items = db.session.scalars(select(Item).order_by(Item.id)).all()
    assert [i.title for i in items] == ["学习贯彻习近平法治思想不够深入", "执法素质有待提升", "执法证件管理不规范，部分人员未持证上岗"]
    assert [c.code for c in items[0].categories] == ["theory_study", "accountability", "enforcement_capacity"]
    assert "执法力量薄弱" in items[0].text  # merged
    late = today + timedelta(days=90)
    assert all(i.deadline == late and i.year == 2022 and i.unit_id == unit.id for i in items)
    report = db.session.scalar(select(Report))
    assert report.source_filename == "述职报告.txt" and report.created_by_id == org.city_sup.id
    assert db.session.scalar(select(func.count(ItemEvent.id)).where(ItemEvent.action == "create")) == 3
    listing = c.get(response.headers["Location"]).get_data(as_text=True)
    assert "学习贯彻习近平法治思想不够深入" in listing and "已导入" in listing

    # the same file again: the user is told, and nothing is stored unless they confirm
    again = _upload(c, sample_text(NAME_000).encode("gb18030"), "述职报告.txt").get_data(as_text=True)
    assert 'id="duplicate-warning"' in again
    fields = _form_fields(again)
    refused = c.post("/reports/import/confirm", data=fields)
    assert refused.status_code == 409 and "这份文件已于" in refused.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Report.id))) == 1
    fields["allow_duplicate"] = ["y"]
    assert c.post("/reports/import/confirm", data=fields).status_code == 302
    assert db.session.scalar(select(func.count(Report.id))) == 2


def test_pasted_text_imports_too(org, make, login):
    make.unit("呼兰区交通运输局", org.city)
    c = login(org.city_sup)
    page = _upload(c, pasted=sample_text(NAME_004))
    data = _form_fields(page.get_data(as_text=True))
    assert c.post("/reports/import/confirm", data=data).status_code == 302
    report = db.session.scalar(select(Report))
    assert report.source_filename is None and len(report.items) == 3


@pytest.mark.parametrize("filename,content,message", [
    ("空.txt", b"", "文件是空的"),
    ("坏.docx", b"PK\x03\x04broken", "不是有效的 .docx"),
    ("无问题.txt", "某局工作总结\n一、工作\n做了工作。".encode(), "没有找到“存在的问题”"),
    ("图片.png", b"\x89PNG\r\n\x1a\n", "不支持该文件类型"),
])
def test_bad_files_on_the_page_say_so_and_store_nothing(org, login, filename, content, message):
    page = _upload(login(org.city_sup), content, filename)
    assert page.status_code in (415, 422)
    assert re.search(r'class="invalid-feedback d-block">[^<]*' + re.escape(message), page.get_data(as_text=True))
    assert db.session.scalar(select(func.count(Report.id))) == 0


def test_nothing_to_import_is_said_plainly(org, login):
    page = _upload(login(org.city_sup))
    assert page.status_code == 422 and "请上传报告文件，或粘贴报告文字" in page.get_data(as_text=True)


def test_dropping_every_problem_stores_nothing(org, make, login):
    make.unit("呼兰区交通运输局", org.city)
    c = login(org.city_sup)
    data = _preview_of_004(c)
    for i in range(3):
        data[f"rows-{i}-include"] = []
    page = c.post("/reports/import/confirm", data=data)
    assert page.status_code == 422 and "请至少保留一个问题" in page.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Item.id))) == 0


def test_supervisor_cannot_import_for_a_unit_outside_their_reach(org, login):
    c = login(org.sup_a)
    data = _preview_of_004(c)
    data["unit"] = str(org.county_b.id)
    page = c.post("/reports/import/confirm", data=data)
    assert page.status_code == 403 and "只能为督办范围内的单位导入报告" in page.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Report.id))) == 0


def test_tampered_token_is_refused(org, login):
    c = login(org.city_sup)
    data = _preview_of_004(c)
    data["token"] = data["token"][:-2] + "xx"
    page = c.post("/reports/import/confirm", data=data, follow_redirects=True)
    assert "导入信息已失效" in page.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Report.id))) == 0


def test_officials_cannot_import(org, login):
    assert login(org.off_a).get("/reports/import").status_code == 403


def test_reports_page_lists_imports_with_counts(org, make, login):
    make.unit("呼兰区交通运输局", org.city)
    c = login(org.city_sup)
    c.post("/reports/import/confirm", data=_preview_of_004(c))
    page = c.get("/reports").get_data(as_text=True)
    assert "呼兰区交通运输局2023年法治政府建设情况报告" in page
    assert "呼兰区交通运输局2023年法治政府建设情况报告" not in login(org.sup_b).get("/reports").get_data(as_text=True)


def test_admin_edits_the_classification_rules(org, login):
    c = login(org.admin)
    text = "信息化建设滞后，执法系统不互通。"
    assert classify(text, text, load_rules()) == ["other"]
    methods = db.session.scalar(select(CategoryRule.category_id).join(CategoryRule.category).where(
        CategoryRule.keyword == "执法方式"))
    page = c.post("/admin/rules", data={"category": str(methods), "keyword": "信息化", "weight": "5"})
    assert page.status_code == 302
    assert classify(text, text, load_rules()) == ["enforcement_methods"]
    duplicate = c.post("/admin/rules", data={"category": str(methods), "keyword": "信息化", "weight": "5"})
    assert duplicate.status_code == 409
    bad = c.post("/admin/rules", data={"category": str(methods), "keyword": "", "weight": "50"})
    assert bad.status_code == 422 and "权重应在1至10之间" in bad.get_data(as_text=True)
    rule = db.session.scalar(select(CategoryRule).where(CategoryRule.keyword == "信息化"))
    assert c.post(f"/admin/rules/{rule.id}/remove").status_code == 302
    assert classify(text, text, load_rules()) == ["other"]
    assert isinstance(load_rules()[0], Rule)


def test_the_preview_chooses_the_system_unit_the_report_names_and_never_the_users_own(org, make, login):
    text = sample_text(NAME_004).replace("呼兰区交通运输局", "黑龙江省哈尔滨市呼兰区交通运输局", 1)
    unit = make.unit("呼兰区交通运输局", org.city)
    c = login(org.city_sup)
    page = _upload(c, text.encode()).get_data(as_text=True)
    assert _form_fields(page)["unit"] == str(unit.id) and 'id="unit-warning"' not in page
    assert "即系统中的“呼兰区交通运输局”" in page
    db.session.delete(unit)
    db.session.commit()
    unknown = _upload(c, text.encode()).get_data(as_text=True)
    assert _form_fields(unknown)["unit"] == "0"  # not 市局, the user's own unit
    assert "不在系统中，请在下方选择报告所属的单位" in unknown
    refused = c.post("/reports/import/confirm", data=_form_fields(unknown))
    assert refused.status_code == 422 and "请选择报告单位" in refused.get_data(as_text=True)
    assert "不在系统中" in refused.get_data(as_text=True)  # the warning stays on the page
    assert db.session.scalar(select(func.count(Report.id))) == 0


def test_a_near_name_is_preselected_to_be_confirmed_and_the_cli_asks_for_it(app, org, make, login, tmp_path):
    unit = make.unit("呼兰区交通局", org.city)
    c = login(org.city_sup)
    page = _upload(c, sample_text(NAME_004).encode()).get_data(as_text=True)
    assert _form_fields(page)["unit"] == str(unit.id)
    assert "系统中没有“呼兰区交通运输局”，最接近的是“呼兰区交通局”" in page
    path = tmp_path / NAME_004
    path.write_bytes(sample_text(NAME_004).encode("gb18030"))
    result = _cli(app, "import-report", str(path))
    assert result.exit_code == 1 and "最接近的是“呼兰区交通局”" in result.output and "--unit" in result.output
    assert db.session.scalar(select(func.count(Report.id))) == 0
    stored = _cli(app, "import-report", str(path), "--unit", "呼兰区交通局")
    assert stored.exit_code == 0 and json.loads(stored.stdout)["matched_unit"] == "呼兰区交通局"


def test_an_admin_creates_the_unit_a_report_names_from_the_preview(org, login):
    c = login(org.admin)
    page = _upload(c, sample_text(NAME_004).encode()).get_data(as_text=True)
    assert 'id="new-unit"' in page
    data = _form_fields(page)
    assert data["new_unit_name"] == "呼兰区交通运输局"
    data.update(create_unit=["y"], new_unit_parent=str(org.city.id))
    assert c.post("/reports/import/confirm", data=data).status_code == 302
    report = db.session.scalar(select(Report))
    assert (report.unit.name, report.unit.parent_id) == ("呼兰区交通运输局", org.city.id)
    other = sample_text(NAME_004).replace("呼兰区交通运输局", "道里区交通运输局")
    assert 'id="new-unit"' not in _upload(login(org.city_sup), other.encode()).get_data(as_text=True)  # admins only


def test_an_inspection_rectification_report_imports_measures_and_progress(org, make, api, login):
    from pathlib import Path

    unit = make.unit("XX县交通运输局", org.city)
    data = (Path(__file__).parent / "fixtures" / "kinds" / "31_xuncha_fangmian_guanyu.txt").read_bytes()
    client = api(org.city_sup)
    dry = client.post("/reports/import", data={"file": (io.BytesIO(data), "巡察整改.txt"), "dry_run": "1"}).json
    assert (dry["kind"], dry["matched_unit"]) == ("inspection", "XX县交通运输局")
    assert dry["problems"][1]["measures"].startswith("推行包容审慎监管")
    assert dry["problems"][1]["progress"].startswith("已修订首违不罚清单")
    stored = client.post("/reports/import", data={"file": (io.BytesIO(data), "巡察整改.txt")})
    assert stored.status_code == 201
    item = db.session.get(Item, stored.json["item_ids"][1])
    assert item.unit_id == unit.id and item.measures.startswith("推行包容审慎监管")
    notes = [e for e in db.session.scalars(select(ItemEvent).where(ItemEvent.item_id == item.id)) if e.action.value == "progress"]
    assert len(notes) == 1 and notes[0].comment.startswith("已修订首违不罚清单") and notes[0].details == {"imported": True}
    report = db.session.get(Report, stored.json["report_id"])
    assert report.kind == "inspection"
    page = login(org.city_sup).get(f"/items/{item.id}").get_data(as_text=True)
    assert "已修订首违不罚清单" in page  # the first progress note, on the item page
    withdrawn = login(org.city_sup).post(f"/reports/{report.id}/withdraw", data={"reason": "导入错误"})
    assert withdrawn.status_code == 302  # what the report said was done is not work done here


def test_the_preview_of_a_rectification_report_shows_its_kind_and_progress(org, make, login):
    from pathlib import Path

    make.unit("XX市城市管理局", org.city)
    data = (Path(__file__).parent / "fixtures" / "kinds" / "32_shenji_wenti_yi.txt").read_bytes()
    c = login(org.city_sup)
    page = _upload(c, data, "审计整改.txt").get_data(as_text=True)
    assert 'id="report-kind"' in page and "审计整改报告" in page
    fields = _form_fields(page)
    assert fields["rows-0-progress"].startswith("已将18.6万元调回原资金渠道")
    assert c.post("/reports/import/confirm", data=fields).status_code == 302
    assert db.session.scalar(select(Report)).kind == "audit"


def test_a_category_corrected_on_the_preview_is_offered_as_a_rule_and_then_learned(org, make, login):
    make.unit("呼兰区交通运输局", org.city)
    c = login(org.city_sup)
    data = _preview_of_004(c)
    assert data["rows-0-proposed"] == data["rows-0-primary_category"]
    data["rows-0-primary_category"] = "safety_supervision"  # the person knows better
    answer = c.post("/reports/import/confirm", data=data)
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/reports/import/learn")
    page = c.get(answer.headers["Location"]).get_data(as_text=True)
    title = db.session.scalar(select(Item).order_by(Item.id)).title
    assert title in page and "安全生产监管" in page
    item = db.session.scalar(select(Item).order_by(Item.id))
    phrase = re.search(rf'name="phrase-{item.id}"[^>]*value="([^"]*)"', page).group(1)
    assert phrase and phrase in item.title
    done = c.post(answer.headers["Location"], data={"csrf_token": c.csrf, f"learn-{item.id}": "y",
                                                    f"phrase-{item.id}": phrase})
    assert done.status_code == 302
    learned = {(r.code, r.keyword) for r in load_rules()}
    assert ("safety_supervision", phrase) in learned
    assert classify(item.title, item.text, load_rules())[0] == "safety_supervision"  # the next import knows
    again = c.post(answer.headers["Location"], data={"csrf_token": c.csrf, f"learn-{item.id}": "y",
                                                     f"phrase-{item.id}": phrase}, follow_redirects=True)
    assert "没有加入新的归类规则" in again.get_data(as_text=True)  # offered once, for the items corrected
    other = login(org.city_sup)  # another session, or a crafted form, cannot add rules for any item
    assert other.get(answer.headers["Location"]).get_data(as_text=True).count('name="phrase-') == 0
    assert login(org.off_a).get(answer.headers["Location"]).status_code == 403


def test_the_same_report_from_another_file_or_with_the_same_unit_year_and_title_is_a_duplicate(org, make, api, login):
    make.unit("呼兰区交通运输局", org.city)
    text = sample_text(NAME_004)
    client = api(org.city_sup)
    assert client.post("/reports/import", data={"file": (io.BytesIO(text.encode()), "报告.txt")}).status_code == 201
    as_docx = client.post("/reports/import", data={"file": (io.BytesIO(docx_bytes(text)), "报告.docx")})
    assert as_docx.status_code == 409 and "内容相同" in as_docx.json["error"]  # other bytes, the same words
    retitled = text.replace("我局", "本局", 3)  # other words, but the same unit, year and title
    again = client.post("/reports/import", data={"file": (io.BytesIO(retitled.encode()), "改过的.txt")})
    assert again.status_code == 409
    page = _upload(login(org.city_sup), docx_bytes(text), "报告.docx").get_data(as_text=True)
    assert 'id="duplicate-warning"' in page
    confirmed = client.post("/reports/import", data={"file": (io.BytesIO(docx_bytes(text)), "报告.docx"),
                                                     "allow_duplicate": "1"})
    assert confirmed.status_code == 201
    assert db.session.scalar(select(func.count(Report.id))) == 2


def test_the_deadline_proposed_is_the_usual_day_unless_it_has_passed_and_each_row_may_have_its_own(org, make, login,
                                                                                                   today):
    from tracker.importing.services import DeadlineRule

    rule = DeadlineRule("06-30", 90)
    assert rule.for_year(today.year, today) == date(today.year + 1, 6, 30)  # this year's report: next 30 June
    assert rule.for_year(2023, today) == today + timedelta(days=90)
    make.unit("呼兰区交通运输局", org.city)
    c = login(org.city_sup)
    page = _upload(c, sample_text(NAME_004).encode()).get_data(as_text=True)
    assert "按惯例应为2024年6月30日，已经过去" in page
    data = _form_fields(page)
    own = (today + timedelta(days=30)).isoformat()
    data["rows-1-deadline"] = own
    assert c.post("/reports/import/confirm", data=data).status_code == 302
    deadlines = [i.deadline.isoformat() for i in db.session.scalars(select(Item).order_by(Item.id))]
    assert deadlines == [data["deadline"], own, data["deadline"]]


def test_the_original_file_is_kept_and_those_who_may_see_the_report_download_it(org, make, login):
    import os

    from tracker import clock, housekeeping
    from tracker.importing import originals

    unit = make.unit("呼兰区交通运输局", org.city)
    reader = make.user("hulan_off", "official", unit)
    data = docx_bytes(sample_text(NAME_004))
    c = login(org.city_sup)
    preview = _form_fields(_upload(c, data, "呼兰区报告.docx").get_data(as_text=True))
    assert c.post("/reports/import/confirm", data=preview).status_code == 302
    report = db.session.scalar(select(Report))
    page = login(reader).get(f"/reports/{unit.id}/{report.year}").get_data(as_text=True)
    assert f"/reports/{report.id}/original" in page and "呼兰区报告.docx" in page
    got = login(reader).get(f"/reports/{report.id}/original")
    assert got.status_code == 200 and got.data == data and "attachment" in got.headers["Content-Disposition"]
    assert login(org.sup_b).get(f"/reports/{report.id}/original").status_code == 404  # another county's people
    # a preview never confirmed leaves its file for a day, then housekeeping removes it; the report's stays
    _upload(c, docx_bytes(sample_text(NAME_000)), "未导入.docx")
    files = list(storage.current().path(originals.PREFIX).iterdir())
    assert len(files) == 2
    two_days_ago = (clock.utcnow() - timedelta(days=2)).timestamp()
    for path in files:
        os.utime(path, (two_days_ago, two_days_ago))
    assert housekeeping.run()["unclaimed_reports"] == 1
    assert [p.name for p in storage.current().path(originals.PREFIX).iterdir()] == [report.sha256]


def test_a_learned_keyword_is_stored_simplified_and_one_character_is_refused(org):
    from tracker.errors import Invalid
    from tracker.importing.classify import learn
    from tracker.items.models import Category

    category = db.session.scalar(select(Category).where(Category.code == "enforcement_competence"))
    rule = learn(category, "業務技能訓練")
    db.session.commit()
    assert rule.keyword == "业务技能训练"
    assert classify("執法隊員業務技能訓練不足", "", load_rules())[0] == "enforcement_competence"
    with pytest.raises(Invalid, match="至少2个字"):
        learn(category, "的")


def test_a_year_out_of_range_on_the_command_line_is_one_sentence(app, hulan, tmp_path):
    path = tmp_path / NAME_004
    path.write_bytes(sample_text(NAME_004).encode("gb18030"))
    for year in ("9999", "-5"):
        result = _cli(app, "import-report", str(path), "--year", year)
        assert result.exit_code == 1 and "年度" in result.output and "Traceback" not in result.output
    assert db.session.scalar(select(func.count(Report.id))) == 0


def test_a_duplicate_by_unit_year_and_title_can_be_confirmed_on_the_page(org, make, login):
    make.unit("呼兰区交通运输局", org.city)
    c = login(org.city_sup)
    assert c.post("/reports/import/confirm", data=_preview_of_004(c)).status_code == 302
    data = _form_fields(_upload(c, sample_text(NAME_004).replace("我局", "本局", 3).encode()).get_data(as_text=True))
    refused = c.post("/reports/import/confirm", data=data)
    assert refused.status_code == 409 and 'name="allow_duplicate"' in refused.get_data(as_text=True)
    data["allow_duplicate"] = ["y"]
    assert c.post("/reports/import/confirm", data=data).status_code == 302
