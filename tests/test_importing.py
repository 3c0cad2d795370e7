"""The importer on the sample reports (as .txt in three encodings and as .docx) and on report
shapes of our own; plus bad input, which must end in the importer's own clear error."""

import contextlib
import io
import json
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.reports import SAMPLES, docx_bytes, sample_text
from tracker.importing.classify import DEFAULT_RULES, Rule, classify
from tracker.importing.parser import parse_report
from tracker.importing.readers import ImportFailed, read_report

RULES = [Rule(code, keyword, weight) for code, words in DEFAULT_RULES.items() for keyword, weight in words.items()]


def _encodings(text: str):
    yield "utf-8.txt", text.encode("utf-8")
    yield "utf-8-bom.txt", b"\xef\xbb\xbf" + text.encode("utf-8")
    yield "gb18030.txt", text.encode("gb18030")
    yield "report.docx", docx_bytes(text)
    yield "table.docx", docx_bytes(text, problems_as_table=True)


CASES = [(name, variant) for name in SAMPLES for variant in
         ("utf-8.txt", "utf-8-bom.txt", "gb18030.txt", "report.docx", "table.docx")]


@pytest.mark.parametrize("name,variant", CASES)
def test_samples_yield_exactly_their_problems_and_plans(name, variant):
    unit, year, problems, plans = SAMPLES[name]
    data = dict(_encodings(sample_text(name)))[variant]
    report = parse_report(read_report(data, variant))
    assert (report.unit, report.year) == (unit, year)
    assert [p.title for p in report.problems] == [title for title, _ in problems]
    assert [p.title for p in report.plans] == plans
    for section, (_, primary) in zip(report.problems, problems, strict=True):
        assert classify(section.title, section.text, RULES)[0] == primary
        assert section.text.startswith(section.title)


def test_problem_text_keeps_its_sub_points_and_nothing_more():
    report = parse_report(sample_text("002_7d80a77d3b41ec6f.txt"))
    first = report.problems[0].text
    assert "一是队伍建设与新时期法治工作要求不相适应" in first and "二是" in first
    assert "执法保障不足" not in first
    plan = parse_report(sample_text("001_06a2a4f65ec35afc.txt")).plans[0].text
    assert plan.startswith("从“学”上下功夫") and "通过政治理论学习" in plan and "bookmark" not in plan


def test_categories_name_everything_the_text_names():
    report = parse_report(sample_text("001_06a2a4f65ec35afc.txt"))
    second = report.problems[1]  # names “以罚代管” inside a problem about responsibility
    assert classify(second.title, second.text, RULES)[:2] == ["accountability", "fine_instead_of_management"]
    team = parse_report(sample_text("002_7d80a77d3b41ec6f.txt")).problems[0]
    assert classify(team.title, team.text, RULES) == ["enforcement_capacity", "enforcement_competence"]


# Report shapes the samples do not have: headings, numbering and openings of other units.
SHAPES = {
    "level-two heading, 1. items with (1) sub-points": (
        """重庆市南岸区交通局关于2023年度法治政府建设情况的报告
区依法治区办：
根据《法治政府建设实施纲要（2021—2025年）》和《关于做好2022年度报告工作的通知》（渝交〔2022〕5号）要求，现将有关情况报告如下。
一、2023年法治政府建设的主要举措和成效
（一）深化普法。开展“八五”普法中期检查。
（二）2023年推进法治政府建设存在的不足
1.以罚代管现象仍然存在。部分执法人员重处罚、轻管理。
（1）对轻微违法行为处罚多、教育少；
（2）事后监管跟进不够。
2.执法案卷制作不够规范，调查取证不充分，文书存在瑕疵。
3.执法人员数量不足，装备落后。
（三）下一步工作打算
1、推行包容审慎监管，落实首违不罚清单。
2、开展案卷评查，规范执法文书。
重庆市南岸区交通局
2024年1月15日""",
        "重庆市南岸区交通局", 2023,
        ["以罚代管现象仍然存在", "执法案卷制作不够规范，调查取证不充分，文书存在瑕疵", "执法人员数量不足，装备落后"],
        ["fine_instead_of_management", "case_file_quality", "enforcement_capacity"],
        ["推行包容审慎监管，落实首违不罚清单", "开展案卷评查，规范执法文书"],
    ),
    "一是/二是 inside one paragraph, masked unit": (
        """**县交通运输局2024年度述职报告
2024年，我局坚持以习近平法治思想为指导……
三、存在问题和短板
对照要求，我局还存在一些差距：一是普法宣传覆盖面不广，群众知晓率不高；二是执法人员老龄化，执法力量不足；三是个别执法人员法治意识不强。
四、2025年工作思路
（一）拓展普法阵地。
（二）补充执法力量。
""",
        "**县交通运输局", 2024,
        ["普法宣传覆盖面不广，群众知晓率不高", "执法人员老龄化，执法力量不足", "个别执法人员法治意识不强"],
        ["legal_publicity", "enforcement_capacity", "theory_study"],
        ["拓展普法阵地", "补充执法力量"],
    ),
    "unnumbered paragraphs, half-width (一), no plans": (
        """某市城市管理综合执法支队2023年法治建设工作报告
(一)主要工作
今年我们做了很多工作。
(二)存在的主要问题
执法方式比较单一，主要依靠人海战术，非现场执法手段运用不足。
安全生产监管存在薄弱环节，隐患排查不彻底。
""",
        "某市城市管理综合执法支队", 2023,
        ["执法方式比较单一，主要依靠人海战术，非现场执法手段运用不足", "安全生产监管存在薄弱环节，隐患排查不彻底"],
        ["enforcement_methods", "safety_supervision"],
        [],
    ),
    "circled numbers, 问题与不足 heading": (
        """ＸＸ区交通运输局
２０２３年法治政府建设年度报告
一、工作情况
略。
二、问题与不足
①执法力量不足。②案卷质量不高，文书制作不规范。
""",
        "XX区交通运输局", 2023,
        ["执法力量不足", "案卷质量不高，文书制作不规范"],
        ["enforcement_capacity", "case_file_quality"],
        [],
    ),
}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_other_report_shapes(shape):
    text, unit, year, titles, primaries, plans = SHAPES[shape]
    report = parse_report(text)
    assert (report.unit, report.year) == (unit, year)
    assert [p.title for p in report.problems] == titles
    assert [classify(p.title, p.text, RULES)[0] for p in report.problems] == primaries
    assert [p.title for p in report.plans] == plans


def test_sub_points_stay_inside_their_problem():
    report = parse_report(SHAPES["level-two heading, 1. items with (1) sub-points"][0])
    assert "（1）对轻微违法行为处罚多" in report.problems[0].text
    assert "（2）事后监管跟进不够" in report.problems[0].text


def test_hard_wrapped_text_from_a_pdf_is_joined():
    wrapped = """呼兰区交通运输局2023年法治政府建设情况报告
一、基本工作
（一）围绕中心，依法履行法治建设职能。落实党政主要负责人履行推进法治建设第一责任人职责，做
到领导班子带头学法用法，重大问题集体研究决定，依法决策水平不断提高，法治意识不断增强，取得
了明显成效，群众满意度持续上升，各项工作有序推进，全年未发生重大行政复议和诉讼败诉案件情况。
二、存在问题和困难
（一）执法队伍力量不足。呼兰区交通运输综合行政执法大队成立以后受编制等原因限制，执法队伍⼒
量相对薄弱，执法⼈员⽼龄化严重，执法队伍与日益繁重的行业监管、安全监管任务不相适应，需要补
充。
（二）执法案卷质量有待提升，在案卷评查中发现部分处罚案卷在调查取证、文书制作等方面仍有不足，
存在瑕疵，需要进一步提升案卷质量，规范执法文书制作，完善调查取证程序，提高办案质量和水平。
三、2024年工作思路
1、加强组织领导。"""
    report = parse_report(wrapped)
    assert [p.title for p in report.problems] == ["执法队伍力量不足", "执法案卷质量有待提升"]
    assert "执法队伍力量相对薄弱，执法人员老龄化严重" in report.problems[0].text  # joined and folded


def test_report_without_a_problems_section_is_refused():
    with pytest.raises(ImportFailed, match="没有找到“存在的问题”一类的章节"):
        parse_report("某局2023年工作总结\n一、主要工作\n（一）开展了普法宣传。\n二、下一步工作打算\n继续努力。")


def test_work_section_headings_that_mention_problems_are_not_the_problems_section():
    report = parse_report(sample_text("002_7d80a77d3b41ec6f.txt"))  # has "2.开展执法领域突出问题专项整治行动"
    assert report.problems[0].title == "队伍建设有待加强"


@pytest.mark.parametrize("filename,data,message", [
    ("empty.txt", b"", "文件是空的"),
    ("blank.docx", b"   \n", "文件是空的"),
    ("binary.txt", bytes(range(256)) * 4, "这不是文本文件"),
    ("broken.docx", b"PK\x03\x04 not really a zip", "不是有效的 .docx"),
    ("renamed.docx", b"%PDF-1.4 something", "不是有效的 .docx"),
    ("broken.pdf", b"%PDF-1.4\n garbage without objects", "PDF"),
    ("old.doc", b"\xd0\xcf\x11\xe0" + b"\0" * 100, "另存为 .docx"),
    ("picture.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "不支持该文件类型"),
])
def test_bad_files_get_one_clear_sentence(filename, data, message):
    with pytest.raises(ImportFailed, match=message):
        parse_report(read_report(data, filename))


def test_scanned_pdf_without_text_is_refused():
    from pypdf import PdfWriter

    out = io.BytesIO()
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.write(out)
    with pytest.raises(ImportFailed, match="没有可提取的文字（可能是扫描件）"):
        read_report(out.getvalue(), "scan.pdf")


def _import(data: bytes, filename: str) -> None:
    try:
        parse_report(read_report(data, filename))
    except ImportFailed as error:
        assert error.message and "\n" not in error.message


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(data=st.binary(max_size=4096), extension=st.sampled_from([".txt", ".docx", ".pdf", "", ".TXT"]))
def test_random_bytes_never_raise_anything_but_the_importers_error(data, extension):
    _import(data, "report" + extension)


@FUZZ
@given(text=st.text(max_size=3000))
def test_random_text_never_raises_anything_but_the_importers_error(text):
    with contextlib.suppress(ImportFailed):
        parse_report(text)


VALID_DOCX = docx_bytes(sample_text("004_a88482b488a96b1d.txt"))


@FUZZ
@given(cut=st.integers(min_value=0, max_value=len(VALID_DOCX)))
def test_truncated_docx_gives_the_importers_error(cut):
    _import(VALID_DOCX[:cut], "report.docx")


@FUZZ
@given(flips=st.lists(st.tuples(st.integers(0, len(VALID_DOCX) - 1), st.integers(0, 255)), min_size=1, max_size=30))
def test_corrupted_docx_gives_the_importers_error(flips):
    data = bytearray(VALID_DOCX)
    for position, value in flips:
        data[position] = value
    _import(bytes(data), "report.docx")


def test_docx_with_its_document_part_damaged():
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(VALID_DOCX)) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            body = source.read(item.filename)
            target.writestr(item, body[: len(body) // 2] if item.filename == "word/document.xml" else body)
    with pytest.raises(ImportFailed, match="不是有效的 .docx"):
        read_report(out.getvalue(), "report.docx")


FIXTURES = Path(__file__).resolve().parent / "fixtures" / "reports"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))
UNSUPPORTED = {
    "15_tyjr_shuzhi_no_heading": "problems named only inside a running sentence, with no heading to find",
}


def _same_headline(got: str, want: str) -> bool:
    """Readers differ on where a headline stops (first clause or whole sentence): one must begin the other."""
    return got.startswith(want) or want.startswith(got)


@pytest.mark.parametrize("name", [
    pytest.param(name, marks=pytest.mark.xfail(reason=UNSUPPORTED[name], strict=True, raises=ImportFailed))
    if name in UNSUPPORTED else name
    for name in sorted(EXPECTED)
])
def test_reports_written_by_someone_else(name):
    """30 reports of other departments and shapes, with answers written by hand by someone who
    had not seen the parser's output (tests/fixtures/reports)."""
    expected = EXPECTED[name]
    report = parse_report((FIXTURES / f"{name}.txt").read_text(encoding="utf-8"))
    assert (report.unit, report.year) == (expected["unit"], expected["year"])
    for got, want in ((report.problems, expected["problems"]), (report.plans, expected["plans"])):
        if want is None:  # the answer sheet leaves it open (plans folded into each problem)
            continue
        assert len(got) == len(want), [s.title for s in got]
        assert all(_same_headline(s.title, w) for s, w in zip(got, want, strict=True)), [s.title for s in got]


# The unit at the top of a report, in the forms real reports write it.
UNIT_FORMS = [
    ("小龙门乡2024年法治政府建设工作情况报告", "小龙门乡"),
    ("XX街道办事处2023年度法治政府建设情况报告", "XX街道办事处"),
    ("XX县气象局推进扩权强县工作自查报告", "XX县气象局"),
    ("中共大马营镇委员会大马营镇人民政府2024年法治建设工作情况报告", "大马营镇人民政府"),
    ("XX县残疾人联合会2023年度法治政府建设工作报告", "XX县残疾人联合会"),
    ("XX县残联2023年法治建设情况报告", "XX县残联"),
    ("XX市第一人民医院2023年度依法执业自查报告", "XX市第一人民医院"),
    ("XX市城市建设投资集团有限公司2023年法治建设工作报告", "XX市城市建设投资集团有限公司"),
    ("XX县实验小学2023年依法治校工作报告", "XX县实验小学"),
    ("中共XX县交通运输局党组2023年度履行推进法治建设第一责任人职责情况报告", "XX县交通运输局"),
    ("国家税务总局**县税务局二〇二三年度法治税务建设情况报告", "国家税务总局**县税务局"),
]


@pytest.mark.parametrize("title,unit", UNIT_FORMS)
def test_the_unit_is_read_in_the_forms_reports_write_it(title, unit):
    lines = [title, "县委全面依法治县委员会办公室：", "现将有关情况报告如下：", "一、存在的问题",
             "（一）普法宣传不够深入。", "（二）执法人员不足。"]
    report = parse_report("\n".join(lines))
    assert report.unit == unit and report.title == title


def test_a_site_header_above_the_title_is_not_the_unit():
    text = "重庆市气象局\n巫山县气象局2023年法治政府建设年度报告\n现将有关情况报告如下：\n一、存在的问题\n（一）普法宣传不够深入。"
    report = parse_report(text)
    assert report.unit == "巫山县气象局" and report.title == "巫山县气象局2023年法治政府建设年度报告"


def test_written_names_are_matched_to_the_units_of_the_system():
    from types import SimpleNamespace as Unit

    from tracker.importing.units import match_unit

    city = Unit(id=1, name="重庆市交通局", parent_id=None, depth=0)
    units = [city, Unit(id=2, name="南岸区交通局", parent_id=1, depth=1), Unit(id=3, name="大马营镇", parent_id=1, depth=1),
             Unit(id=4, name="法制科", parent_id=1, depth=1), Unit(id=5, name="睢县交通运输局", parent_id=1, depth=1),
             Unit(id=6, name="杞县交通运输局", parent_id=1, depth=1)]
    exact = {"重庆市南岸区交通局": "南岸区交通局", "南岸交通局": "南岸区交通局",
             "大马营镇人民政府": "大马营镇", "重庆市交通局法制科": "法制科", "河南省商丘市睢县交通运输局": "睢县交通运输局"}
    for written, name in exact.items():
        found = match_unit(written, units)
        assert (found.unit and found.unit.name, found.near) == (name, None), written
    near = {"南岸区交通运输局": "南岸区交通局", "商丘市杞县交通局": "杞县交通运输局"}
    for written, name in near.items():
        found = match_unit(written, units)
        assert (found.unit, found.near and found.near.name) == (None, name), written
    for written in ("睢阳区交通运输局", "重庆市气象局", "南岸区市场监督管理局", "中共大马营镇委员会"):
        assert match_unit(written, units).found is None, written  # another place, office, or the party's committee
    more = units + [Unit(id=7, name="吉林省司法局", parent_id=None, depth=0),
                    Unit(id=8, name="朝阳区司法局", parent_id=7, depth=1)]
    for written in ("吉林省吉林市司法局", "朝阳县司法局"):  # a place of another kind: at most near
        assert match_unit(written, more).unit is None, written


KINDS = Path(__file__).resolve().parent / "fixtures" / "kinds"
KIND_EXPECTED = json.loads((KINDS / "expected.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(KIND_EXPECTED))
def test_rectification_and_self_check_reports_yield_problems_with_their_measures_and_progress(name):
    """巡察整改, 审计整改, 督察反馈整改 and 自查 reports, written from the published shapes of such
    reports (tests/fixtures/kinds): each problem one item, its 整改措施 the measures, its 整改情况
    a first progress note; for a 自查 report, measures proposed from its inline plans."""
    from tracker.importing.services import propose_measures

    expected = KIND_EXPECTED[name]
    report = parse_report((KINDS / f"{name}.txt").read_text(encoding="utf-8"))
    assert (report.kind, report.unit, report.year) == (expected["kind"], expected["unit"], expected["year"])
    titles = [p.title for p in report.problems]
    assert len(titles) == len(expected["problems"]), titles
    assert all(_same_headline(got, want) for got, want in zip(titles, expected["problems"], strict=True)), titles
    for section in (*report.problems, *report.plans):
        section.categories = classify(section.title, section.text, RULES)
    measures = [p.measures or proposed for p, proposed in
                zip(report.problems, propose_measures(report.problems, report.plans), strict=True)]
    assert all(m.startswith(want) for m, want in zip(measures, expected["measures"], strict=True)), measures
    if expected["progress"] is not None:
        progress = [p.progress for p in report.problems]
        assert all(p.startswith(want) for p, want in zip(progress, expected["progress"], strict=True)), progress
    assert all("整改措施" not in p.text and "整改情况" not in p.text for p in report.problems)


SECTIONS = """XX县市场监督管理局2023年法治政府建设情况报告
现将有关情况报告如下：
一、存在的问题
1.执法人员业务技能不够熟练。
2.普法宣传方式单一。
{after}
XX县市场监督管理局
2024年1月10日"""


def test_an_unnumbered_plans_paragraph_is_read_as_the_plans_and_kept_out_of_the_last_problem():
    report = parse_report(SECTIONS.format(after="下一步，我局将加强执法人员业务培训，创新普法宣传方式，推动法治政府建设再上新台阶。"))
    assert [p.title for p in report.problems] == ["执法人员业务技能不够熟练", "普法宣传方式单一"]
    assert report.problems[-1].text == "普法宣传方式单一。"  # neither the plans nor the signature
    assert [p.text for p in report.plans] == ["加强执法人员业务培训，创新普法宣传方式，推动法治政府建设再上新台阶。"]


def test_a_section_of_causes_is_kept_apart_from_the_last_problem_and_a_problems_own_cause_stays():
    after = "（三）法治建设不足的原因\n主要是对法治建设重视不够，投入不足。\n二、下一步工作打算\n1.加强培训。\n2.创新普法。"
    report = parse_report(SECTIONS.format(after=after).replace("2.普法宣传方式单一。", "2.普法宣传方式单一。\n原因：宣传经费不足。"))
    assert report.problems[-1].text == "普法宣传方式单一。\n原因：宣传经费不足。"
    assert [p.title for p in report.plans] == ["加强培训", "创新普法"]
    report = parse_report(SECTIONS.format(after="原因分析\n一是重视不够，二是投入不足。"))
    assert report.problems[-1].text == "普法宣传方式单一。"


def test_plans_written_inline_after_a_long_heading_are_matched_to_the_problems():
    from tracker.importing.services import propose_measures

    text = SECTIONS.format(after="四、2024年推进法治政府建设的工作思路目标举措\n"
                                 "2024年，我局将一是开展执法业务技能培训；二是创新普法宣传方式，提高群众知晓率。")
    report = parse_report(text)
    assert [p.title for p in report.plans] == ["开展执法业务技能培训", "创新普法宣传方式，提高群众知晓率"]
    for section in (*report.problems, *report.plans):
        section.categories = classify(section.title, section.text, RULES)
    measures = propose_measures(report.problems, report.plans)
    assert measures[0].startswith("开展执法业务技能培训") and measures[1].startswith("创新普法宣传方式")


def test_a_report_in_traditional_characters_is_read_and_classified_and_keeps_its_own_text():
    traditional = """XX縣市場監督管理局2023年法治政府建設情況報告
現將有關情況報告如下：
一、存在的問題和不足
（一）執法人員業務技能不夠熟練，執法文書製作不規範。
（二）普法宣傳方式單一，群眾知曉率不高。
二、下一步工作打算
（一）開展執法業務培訓。
（二）創新普法宣傳方式。"""
    report = parse_report(traditional)
    assert report.unit == "XX县市场监督管理局"  # simplified, to be matched against the system's units
    assert report.title == "XX縣市場監督管理局2023年法治政府建設情況報告"  # as written
    assert [p.title for p in report.problems] == ["執法人員業務技能不夠熟練，執法文書製作不規範", "普法宣傳方式單一，群眾知曉率不高"]
    assert report.problems[1].text == "普法宣傳方式單一，群眾知曉率不高。"
    assert [classify(p.title, p.text, RULES)[0] for p in report.problems] == ["enforcement_competence", "legal_publicity"]
    assert [p.title for p in report.plans] == ["開展執法業務培訓", "創新普法宣傳方式"]


@pytest.mark.parametrize("title,code", [
    ("执法人员业务技能不够熟练", "enforcement_competence"),
    ("地方立法体系不够完善，配套法规滞后", "institutional_mechanism"),
    ("部分干部依法行政观念淡薄", "theory_study"),
])
def test_common_wordings_find_their_category(title, code):
    assert classify(title, title + "。", RULES)[0] == code


# Numbering styles a report may give its parts and its points, and the two widths of punctuation.
PART_STYLES = ["{cn}、", "第{cn}部分　"]
POINT_STYLES = ["（{cn}）", "({cn})", "{ar}.", "{ar}、", "（{ar}）", "{circled}", "{cn}是"]
WIDTHS = {"full": str.maketrans({}), "half": str.maketrans({"：": ":", "，": ",", "；": ";", "（": "(", "）": ")"})}
PROBLEMS = ["执法人员业务技能不够熟练", "普法宣传方式单一", "执法案卷制作不够规范"]
PLANS = ["开展执法业务培训", "创新普法宣传方式", "开展案卷评查"]


def _numbered(style: str, n: int, text: str) -> str:
    cn, circled = "一二三四五六七八九十"[n - 1], "①②③④⑤⑥⑦⑧⑨⑩"[n - 1]
    return style.format(cn=cn, ar=n, circled=circled) + text


@FUZZ
@given(part=st.sampled_from(PART_STYLES), point=st.sampled_from(POINT_STYLES),
       plan_point=st.sampled_from(POINT_STYLES), width=st.sampled_from(sorted(WIDTHS)))
def test_the_numbering_style_and_the_punctuation_width_do_not_change_what_is_found(part, point, plan_point, width):
    lines = ["XX县市场监督管理局2023年度法治政府建设情况报告", "县委依法治县办：", "现将有关情况报告如下：",
             _numbered(part, 1, "主要工作"), "全年开展普法活动12次，办理行政处罚案件86件。",
             _numbered(part, 2, "存在的问题和不足")]
    lines += [_numbered(point, n, f"{title}，需要在下一年度加以改进。") for n, title in enumerate(PROBLEMS, 1)]
    lines += [_numbered(part, 3, "下一步工作打算")]
    lines += [_numbered(plan_point, n, f"{title}，抓好落实。") for n, title in enumerate(PLANS, 1)]
    lines += ["XX县市场监督管理局", "2024年1月10日"]
    report = parse_report("\n".join(line.translate(WIDTHS[width]) for line in lines))
    half = WIDTHS["half"]
    assert [p.title.translate(half) for p in report.problems] == [f"{t},需要在下一年度加以改进" for t in PROBLEMS]
    assert [p.title.translate(half) for p in report.plans] == [f"{t},抓好落实" for t in PLANS]
    assert (report.unit, report.year) == ("XX县市场监督管理局", 2023)


def test_a_unit_named_without_its_place_matches_only_itself():
    from types import SimpleNamespace as Unit

    from tracker.importing.units import match_unit

    units = [Unit(id=1, name="市交通运输局", parent_id=None, depth=0), Unit(id=2, name="睢县交通运输局", parent_id=1, depth=1)]
    assert match_unit("重庆市南岸区交通运输局", units).unit is None  # not 市交通运输局, whose place is unsaid
    assert match_unit("市交通运输局", units).unit.id == 1


@pytest.mark.parametrize("title,unit", [
    ("XX县交通运输局关于县委巡察反馈问题整改情况的报告", "XX县交通运输局"),
    ("XX县财政局关于县审计局审计发现问题整改情况的报告", "XX县财政局"),
    ("巫山县司法局推动法治政府建设工作报告", "巫山县司法局"),
])
def test_a_name_followed_by_another_bodys_name_or_a_verb_stops_at_its_own_end(title, unit):
    body = "\n现将有关情况报告如下：\n一、存在的问题\n（一）普法宣传不够深入。\n（二）执法人员不足。"
    assert parse_report(title + body).unit == unit


def test_a_unit_line_over_a_title_that_names_no_unit_is_the_title_not_a_header():
    text = "巫山县司法局\n关于县法治政府建设示范创建工作的报告\n一、存在的问题\n（一）普法宣传不够深入。\n（二）执法人员不足。"
    report = parse_report(text)
    assert (report.unit, report.title) == ("巫山县司法局", "巫山县司法局关于县法治政府建设示范创建工作的报告")


def test_an_annual_report_with_a_subsection_on_last_years_feedback_is_read_as_an_annual_report():
    text = """XX县交通运输局2023年度法治政府建设情况报告
现将有关情况报告如下：
一、主要工作
（一）上年度督察反馈问题整改情况
问题一：执法证件管理不规范。
整改措施：开展证件清理。
问题二：案卷归档不及时。
整改措施：建立归档台账。
二、存在的问题
（一）普法宣传方式单一。
（二）执法人员不足。
三、下一步工作打算
（一）创新普法。"""
    report = parse_report(text)
    assert report.kind == "rule_of_law" and [p.title for p in report.problems] == ["普法宣传方式单一", "执法人员不足"]


def test_a_units_name_alone_inside_the_problems_is_text_not_the_signature():
    text = (KINDS / "33_ducha_fankui.txt").read_text(encoding="utf-8").replace(
        "整改进展：已立案查处环境违法案件27件，挂牌督办5件，均已办结。",
        "整改进展：已立案查处环境违法案件27件，挂牌督办5件，均已办结。\nXX县生态环境保护综合行政执法大队")
    assert len(parse_report(text).problems) == 3
