"""The daily work in a real browser (Debian's headless Chromium driven by Playwright):
an official starts an item, uploads a PDF and submits it on a phone-sized screen; a supervisor
approves it from the review queue; the overdue list shows the demo's overdue items, most
overdue first."""

import os
import re
import shutil
import threading

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from tests.conftest import PDF
from tests.reports import SAMPLES, docx_bytes, sample_text
from tracker.demo import load_demo
from tracker.extensions import db
from tracker.importing.parser import parse_report
from tracker.importing.readers import read_report
from tracker.items.models import Item, Status

CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.browser


@pytest.fixture
def browser():
    if not shutil.which(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: CI must run the browser tests")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        yield browser
        browser.close()


@pytest.fixture
def server(app, today, now):
    load_demo(today=today, now=now)
    db.session.commit()
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{http.server_port}"
    http.shutdown()
    thread.join(5)


def _sign_in(page, base, username):
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "demo1234")
    page.click("button[type=submit]")
    page.wait_for_load_state()


def test_official_submits_and_supervisor_approves(browser, server, tmp_path):
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = phone.new_page()
    _sign_in(page, server, "suixian_off")
    assert page.locator("h1").inner_text() == "我的整改事项"
    open_item = db.session.scalar(
        select(Item).where(Item.status == Status.open, Item.owner.has(username="suixian_off")))
    page.click(f"a[data-item-id='{open_item.id}']")
    page.click("form[data-action=start] button")
    assert "已开始整改" in page.inner_text(".alert-success")

    scan = tmp_path / "整改佐证材料.pdf"
    scan.write_bytes(PDF)
    page.set_input_files("#upload-form input[type=file]", str(scan))
    page.fill("#upload-form input[name=description]", "整改会议纪要")
    page.click("#upload-form button[type=submit]")
    assert "整改佐证材料.pdf" in page.inner_text("#evidence-list")

    big = tmp_path / "太大的扫描件.pdf"
    big.write_bytes(PDF + b"0" * (2 * 1024 * 1024))
    page.set_input_files("#upload-form input[type=file]", str(big))
    page.click("#upload-form button[type=submit]")
    assert "超过 1 MB 的上限" in page.inner_text("#file-error")  # said before sending

    page.fill("form[data-action=submit] textarea[name=summary]", "已组织专题培训，补充执法人员3名。")
    page.click("form[data-action=submit] button")
    assert "待审核" in page.inner_text("h1 + div")
    page.screenshot(path=str(tmp_path / "official-phone.png"), full_page=True)
    phone.close()

    desk = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
    desk.on("dialog", lambda dialog: dialog.accept())  # "确认…审核通过并销号？"
    _sign_in(desk, server, "suixian_sup")
    desk.goto(f"{server}/review")
    card = desk.locator(f"#review-list [data-item-id='{open_item.id}']")
    assert "已组织专题培训" in card.inner_text()
    card.locator("button", has_text="审核通过并销号").click()
    desk.wait_for_load_state()
    assert "已审核通过并销号" in desk.inner_text(".alert-success")
    assert desk.locator(f"#review-list [data-item-id='{open_item.id}']").count() == 0
    db.session.expire_all()
    assert db.session.get(Item, open_item.id).status is Status.closed


def test_overdue_list_shows_the_demo_overdue_items_most_overdue_first(browser, server, today):
    page = browser.new_page()
    _sign_in(page, server, "city_sup")
    page.click("text=逾期清单")
    page.wait_for_load_state()
    days = [int(re.match(r"(\d+)", t).group(1)) for t in page.locator(".overdue-days").all_inner_texts()]
    expected = db.session.scalar(
        select(func.count(Item.id)).where(Item.deadline < today, Item.status != Status.closed))
    assert len(days) == expected >= 3
    assert days == sorted(days, reverse=True)
    assert "乌苏市交通运输局" in page.inner_text("#overdue-table")


def _print_pdf(browser, text: str, path) -> None:
    """A report as a PDF with a real text layer, printed by Chromium with the system's CJK font.
    Word's bookmarks are text-export debris; a PDF printed from the document has none."""
    text = re.sub(r"\[bookmark:[^\]]*\]", "", text)
    page = browser.new_page()
    body = "".join(f"<p>{line}</p>" for line in text.splitlines() if line.strip())
    page.set_content(f"<html><head><meta charset='utf-8'></head><body style='font-size:16px'>{body}</body></html>")
    page.pdf(path=str(path), format="A4")
    page.close()


@pytest.mark.parametrize("name", list(SAMPLES))
def test_samples_printed_to_pdf_yield_their_problems(browser, tmp_path, name):
    unit, year, problems, plans = SAMPLES[name]
    path = tmp_path / "report.pdf"
    _print_pdf(browser, sample_text(name), path)
    report = parse_report(read_report(path.read_bytes(), "report.pdf"))
    assert (report.unit, report.year) == (unit, year)
    assert [p.title for p in report.problems] == [title for title, _ in problems]
    assert [p.title for p in report.plans] == plans


def test_supervisor_imports_a_report_in_the_browser(browser, server, tmp_path):
    path = tmp_path / "睢县报告.docx"
    path.write_bytes(docx_bytes(sample_text("002_7d80a77d3b41ec6f.txt")))
    page = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
    _sign_in(page, server, "city_sup")
    page.click("text=导入报告")
    page.set_input_files("#upload-report input[type=file]", str(path))
    page.click("#upload-report button[type=submit]")
    page.wait_for_load_state()
    assert page.locator(".problem-row").count() == 3
    # the demo holds this report already (imported from a .txt of the same words): the page says so
    assert "已于" in page.inner_text("#duplicate-warning")
    page.check("input[name=allow_duplicate]")
    page.locator(".problem-row").nth(1).locator("input[name$='-include']").uncheck()
    page.fill(".problem-row >> nth=0 >> input[name$='-title']", "执法队伍年龄老化、专业人才缺乏")
    page.click("#confirm-form button[type=submit]")
    page.wait_for_load_state()
    assert "已导入《睢县交通运输局2023年度法治政府建设工作报告》：2个问题" in page.inner_text(".alert-success")
    rows = page.locator("#items-table tbody tr").all_inner_texts()
    assert len(rows) == 2 and "执法队伍年龄老化、专业人才缺乏" in rows[0] and "执法方式方法比较单一" in rows[1]


def test_supervisor_rolls_the_year_over_and_hands_in_the_ledger(browser, server):
    """The year-end button, the report page with its 上年度遗留 badges on a phone, and the ledger
    (browser downloads do not work here, so the button's link is fetched with the page's session)."""
    import io

    import openpyxl

    from tracker.org.models import Unit

    suixian = db.session.scalar(select(Unit).where(Unit.name == "睢县交通运输局"))
    year = db.session.scalar(select(func.max(Item.year)).where(Item.unit_id == suixian.id))
    unfinished = db.session.scalar(select(func.count(Item.id)).where(
        Item.unit_id == suixian.id, Item.year == year, Item.status != Status.closed))
    assert unfinished, "the demo should leave some of 睢县's items unfinished"
    db.session.rollback()  # hold no transaction open while the server works
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = phone.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    _sign_in(page, server, "suixian_sup")
    page.goto(f"{server}/reports")
    page.fill("#rollover input[name=year]", str(year))
    page.select_option("#rollover select[name=unit]", str(suixian.id))
    page.click("#rollover button[type=submit]")
    assert f"已将{year}年度未销号的{unfinished}个事项结转至{year + 1}年度" in page.inner_text(".alert-success")

    page.goto(f"{server}/reports/{suixian.id}/{year + 1}")
    assert page.locator("#carried-table tr[data-item-id]").count() == unfinished
    assert page.locator("#carried-table .carried-badge").first.inner_text() == "上年度遗留"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "the report page overflows a phone screen"
    docx = page.request.get(server + page.get_attribute("#section-this", "href"))
    assert docx.ok and docx.headers["content-type"].endswith("wordprocessingml.document")

    page.goto(f"{server}/items?year={year + 1}")
    assert page.locator("#items-table .carried-badge").count() == unfinished
    ledger = page.request.get(server + page.get_attribute("#export-ledger", "href"))
    assert ledger.ok
    rows = list(openpyxl.load_workbook(io.BytesIO(ledger.body()))["整改台账"].iter_rows(min_row=4, values_only=True))
    rows = rows[:-1]  # below the title, scope and header rows, above the 合计 row
    from tracker.exports.ledger import HEADERS

    assert len(rows) == unfinished and {row[HEADERS.index("备注")] for row in rows} == {"上年度遗留（已结转1次）"}


def test_pages_run_their_scripts_under_the_content_security_policy(browser, server):
    """No inline script is allowed: the confirmations, the select-all box and the size check come
    from tracker.js, and the browser reports no blocked script or style."""
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    refused = []
    page.on("console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None)
    asked = []

    def dismiss(dialog):
        asked.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    _sign_in(page, server, "suixian_sup")
    page.goto(f"{server}/review")
    waiting = db.session.scalar(select(Item).where(Item.status == Status.pending_review, Item.unit.has(name="睢县交通运输局")))
    page.locator(f"#review-list [data-item-id='{waiting.id}'] button", has_text="审核通过并销号").click()
    assert asked == ["确认佐证材料已核实，审核通过并销号？"]  # asked first, and "no" stops the form
    db.session.expire_all()
    assert db.session.get(Item, waiting.id).status is Status.pending_review
    page.goto(f"{server}/items")
    page.check("#select-all")
    boxes = page.locator(".item-check")
    assert boxes.count() >= 2 and all(boxes.nth(n).is_checked() for n in range(boxes.count()))
    page.goto(f"{server}/profile")
    assert page.locator("#sessions").is_visible()
    assert refused == []


@pytest.mark.parametrize("width", [1280, 390])
def test_supervisor_drills_down_from_the_dashboard_and_presses_an_owner_who_hears_it(browser, server, width):
    """dashboard → a county → its overdue items → one item → 红牌督办 → the owner's bell."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    _sign_in(page, server, "city_sup")
    assert page.url.endswith("/dashboard") and "市交通运输局 · 统计看板" in page.locator("h1").inner_text()
    page.wait_for_selector("#chart-units canvas")  # ECharts, served by the app, drew the unit chart
    assert page.locator("#chart-months canvas").count() == 1
    page.click("#unit-table a:text('睢县交通运输局')")
    page.wait_for_load_state()
    assert "睢县交通运输局 · 统计看板" in page.locator("h1").inner_text()
    overdue_cell = page.locator("#unit-table tbody tr").first.locator("td").nth(4)
    shown = int(overdue_cell.inner_text())
    overdue_cell.locator("a").click()
    page.wait_for_load_state()
    assert page.locator("tr[data-item-id]").count() == shown >= 1
    page.locator("tr[data-item-id] a").first.click()
    page.wait_for_load_state()
    page.locator("#urges details").evaluate("d => d.open = true")
    page.select_option("#urge-level", "red")
    page.fill("#urge-comment", "请三日内说明逾期原因。")
    page.click("#urge-form button[type=submit]")
    page.wait_for_load_state()
    notice = page.locator(".alert-success").inner_text()
    number = re.search(r"市交通运输局督〔\d{4}〕第\d+号", notice).group(0)
    assert "红牌督办" in page.locator("#urges").inner_text() and number in page.locator("#urges").inner_text()
    owner = browser.new_context(viewport={"width": width, "height": 900}).new_page()
    _sign_in(owner, server, "suixian_off")
    assert int(owner.locator("#bell-count").inner_text()) >= 1
    owner.click("#bell")
    owner.wait_for_load_state()
    assert number in owner.locator("main").inner_text() and "请三日内说明逾期原因。" in owner.locator("main").inner_text()
    context.close()


def _shot(page, name: str) -> None:
    """Screenshots for a person to look at, when TRACKER_SCREENSHOTS names a folder."""
    folder = os.environ.get("TRACKER_SCREENSHOTS")
    if folder:
        page.screenshot(path=os.path.join(folder, f"{name}.png"), full_page=True)


def test_an_official_hears_each_step_of_the_review_loop_on_his_phone(browser, server, tmp_path):
    """1280 px supervisor, 390 px official: assigned (found by typing in the owner box) → bell →
    progress starts it → evidence → submit → returned banner → resubmit from the last summary →
    approved, in the bell."""
    from playwright.sync_api import expect

    item = db.session.scalar(select(Item).where(Item.status == Status.open, Item.owner.has(username="suixian_off"))
                             .order_by(Item.id))
    desk_context = browser.new_context(viewport={"width": 1280, "height": 900})
    desk = desk_context.new_page()
    desk.on("dialog", lambda dialog: dialog.accept())
    _sign_in(desk, server, "suixian_sup")
    desk.goto(f"{server}/items/{item.id}")
    box = desk.locator("#assign input[name=owner]")
    box.fill("")
    box.type("刘")
    assert desk.locator("#owner-choices option").count() > 1  # before typing: the first people within reach
    expect(desk.locator("#owner-choices option")).to_have_count(1)  # the server's answer to "刘"
    assert desk.locator("#owner-choices option").get_attribute("value") == "suixian_team"  # 刘强, of those who may own it
    box.fill("suixian_team")
    desk.click("#assign button[type=submit]")
    assert "已分派" in desk.inner_text(".alert-success")

    phone_context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    phone = phone_context.new_page()
    _sign_in(phone, server, "suixian_team")
    assert int(phone.locator("#bell-count").inner_text()) >= 1
    phone.click("#bell")
    phone.wait_for_load_state()
    assert f"【分派给您】{item.title}" in phone.inner_text("main")
    _shot(phone, "official-390-bell-assigned")
    phone.goto(f"{server}/items/{item.id}")
    phone.fill("#progress-note", "已召开专题会议部署整改。")
    phone.click("#history form button[type=submit]")
    assert "整改中" in phone.inner_text("h1 + div")  # recording progress started it
    scan = tmp_path / "会议纪要.pdf"
    scan.write_bytes(PDF)
    phone.set_input_files("#upload-form input[type=file]", str(scan))
    phone.click("#upload-form button[type=submit]")
    phone.fill("form[data-action=submit] textarea[name=summary]", "已完成整改，会议纪要见佐证。")
    phone.click("form[data-action=submit] button")
    assert "待审核" in phone.inner_text("h1 + div")

    desk.goto(f"{server}/review")
    card = desk.locator(f"#review-list [data-item-id='{item.id}']")
    assert "佐证材料 1 份" in card.inner_text()
    card.locator("input[name=comment]").fill("请补充整改前后对比照片。")
    card.locator("button", has_text="退回").click()
    desk.wait_for_load_state()

    phone.goto(f"{server}/items/{item.id}")
    banner = phone.inner_text("#returned")
    assert "请补充整改前后对比照片。" in banner
    assert phone.locator("form[data-action=submit] textarea[name=summary]").input_value() == "已完成整改，会议纪要见佐证。"
    _shot(phone, "official-390-returned")
    phone.fill("form[data-action=submit] textarea[name=summary]", "已完成整改，补充了对比照片。")
    phone.click("form[data-action=submit] button")
    assert phone.locator("#returned").count() == 0

    desk.goto(f"{server}/review")
    _shot(desk, "supervisor-1280-review")
    desk.locator(f"#review-list [data-item-id='{item.id}'] button", has_text="审核通过并销号").click()
    desk.wait_for_load_state()
    assert "已审核通过并销号" in desk.inner_text(".alert-success")

    phone.goto(f"{server}/notifications")
    text = phone.inner_text("main")
    assert f"【已审核销号】{item.title}" in text and f"【销号申请被退回】{item.title}" in text
    _shot(phone, "official-390-bell-approved")
    desk_context.close()
    phone_context.close()
