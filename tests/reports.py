"""The sample reports with what each lists, and builders for the other formats tests need."""

import io
from pathlib import Path

SAMPLES_DIR = Path(__file__).resolve().parent.parent / "tracker" / "demo" / "reports"

# file → unit, year, problems as (title, primary category), plan titles; read off the reports by hand.
SAMPLES = {
    "000_03325c51586e0bb3.txt": (
        "**市交通运输局", 2022,
        [("深入学习习近平法治思想有差距", "theory_study"), ("普法宣传方式比较单一", "legal_publicity"),
         ("执法力量薄弱", "enforcement_capacity"), ("执法素质有待提升", "enforcement_competence")],
        ["加强理论学习", "完善综合行政执法改革后运行机制", "全面提高依法行政能力", "深入推进交通运输行业普法工作",
         "加强信息化建设"],
    ),
    "001_06a2a4f65ec35afc.txt": (
        "乌苏市交通运输局", 2023,
        [("抓行业领域安全生产力度不强", "safety_supervision"),
         ("履行法治建设第一责任人职责仍需强化", "accountability"),
         ("抓“谁执法谁普法”执行不够到位，普法宣传不够“接地气”", "legal_publicity")],
        ["从“学”上下功夫，确保法治思想和行业法规制度入脑入心", "从“管”上压责任，建立职责明确、协调联动的长效管用机制",
         "从“督”上强管理，推动法治建设和执法领域突出问题销号整改", "从“宣”上促效果，切实形成干部懂法、群众守法的良好氛围"],
    ),
    "002_7d80a77d3b41ec6f.txt": (
        "睢县交通运输局", 2023,
        [("队伍建设有待加强", "enforcement_capacity"), ("执法保障不足", "enforcement_capacity"),
         ("执法方式方法比较单一", "enforcement_methods")],
        ["进一步贯彻落实习近平法治思想", "进一步加强和改进交通运输行政执法",
         "加强政策措施、规范性文件的公平竞争审查、合法性审查工作", "继续加强普法宣传工作", "继续深化“放管服”改革",
         "进一步推进交通运输信用体系建设"],
    ),
    "004_a88482b488a96b1d.txt": (
        "呼兰区交通运输局", 2023,
        [("执法队伍力量不足", "enforcement_capacity"), ("执法人员的综合素质有待提高", "enforcement_competence"),
         ("执法案卷质量有待提升", "case_file_quality")],
        ["加强组织领导，提高思想认识", "建立健全科学依法决策机制", "进一步加大依法行政监督力度"],
    ),
}


def sample_text(name: str) -> str:
    return (SAMPLES_DIR / name).read_text(encoding="utf-8")


def docx_bytes(text: str, problems_as_table: bool = False) -> bytes:
    """A .docx with one paragraph per line; optionally the numbered problems as a table's rows."""
    import docx

    document = docx.Document()
    lines = text.splitlines()
    in_problems = False
    table = None
    for line in lines:
        stripped = line.strip()
        if problems_as_table and ("存在" in stripped and ("问题" in stripped or "不足" in stripped)) \
                and len(stripped) < 20:
            in_problems = True
            document.add_paragraph(line)
            table = document.add_table(rows=0, cols=2)
            continue
        if in_problems and stripped.startswith(("（", "(")):
            marker, _, rest = stripped.partition("）")
            row = table.add_row()
            row.cells[0].text = marker + "）"
            row.cells[1].text = rest
            continue
        if in_problems and stripped:
            in_problems = False
        document.add_paragraph(line)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def scanned(pdf: bytes, dpi: int = 150) -> bytes:
    """The PDF a scanner would make of ``pdf`` printed: each page an image (greyscale, as scanned
    reports usually are), no text layer. Written by hand, as a scan's PDF is that simple."""
    import zlib

    import pypdfium2

    document = pypdfium2.PdfDocument(pdf)
    images = []
    for page in document:
        bitmap = page.render(scale=dpi / 72, grayscale=True)
        rows = bytes(bitmap.buffer)
        raw = b"".join(rows[y * bitmap.stride: y * bitmap.stride + bitmap.width] for y in range(bitmap.height))
        images.append((bitmap.width, bitmap.height, zlib.compress(raw, 6), page.get_size()))
    document.close()
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", None]
    kids = []
    for width, height, data, (page_w, page_h) in images:
        image_id, content_id, page_id = len(objects) + 1, len(objects) + 2, len(objects) + 3
        objects.append((f"<< /Type /XObject /Subtype /Image /Width {width} /Height {height} /ColorSpace /DeviceGray "
                        f"/BitsPerComponent 8 /Filter /FlateDecode /Length {len(data)} >>", data))
        drawing = f"q {page_w:.2f} 0 0 {page_h:.2f} 0 0 cm /Im0 Do Q".encode()
        objects.append((f"<< /Length {len(drawing)} >>", drawing))
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {page_w:.2f} {page_h:.2f}] "
                       f"/Resources << /XObject << /Im0 {image_id} 0 R >> >> /Contents {content_id} 0 R >>")
        kids.append(page_id)
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(f'{k} 0 R' for k in kids)}] /Count {len(kids)} >>"
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        if isinstance(body, tuple):
            head, stream = body
            out += f"{number} 0 obj\n{head}\nstream\n".encode() + stream + b"\nendstream\nendobj\n"
        else:
            out += f"{number} 0 obj\n{body}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)
