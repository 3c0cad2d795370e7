"""The OpenAPI 3 description of /api/v1. A test checks it against the blueprint's routes, and
schemathesis checks the answers against it."""

from pydantic.json_schema import models_json_schema

from tracker.items import schemas as items
from tracker.items.models import EventAction, Light, Status
from tracker.items.workflow import Action
from tracker.reports import schemas as reports
from tracker.stats import schemas as stats

ID = {"type": "integer", "minimum": 1, "maximum": 2147483647}
NULLABLE_STRING = {"type": "string", "nullable": True}
STATUS = {"type": "string", "enum": [status.value for status in Status]}
ENUMS = {enum.__name__: enum for enum in (Status, Light, EventAction, Action)}
MODELS = [items.ItemSchema, items.EvidenceSchema, items.EventSchema, items.ItemDetailSchema, items.ItemPageSchema,
          items.ItemPatchSchema, items.TransitionSchema, items.ProgressSchema, reports.ReportSchema,
          reports.ReportPageSchema, stats.StatsSchema]


def _openapi_30(schema, renames: dict[str, str]):
    """JSON Schema as pydantic writes it, in OpenAPI 3.0's dialect: ``X | None`` as ``nullable``,
    components named by the models' titles, no generated titles."""
    if isinstance(schema, list):
        return [_openapi_30(part, renames) for part in schema]
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in schema.items():
        if key == "properties":
            out[key] = {name: _openapi_30(part, renames) for name, part in value.items()}
        elif key == "$ref":
            out[key] = "#/components/schemas/" + renames.get(value.rsplit("/", 1)[1], value.rsplit("/", 1)[1])
        elif key != "title":
            out[key] = _openapi_30(value, renames)
    options = out.get("anyOf")
    if options and {"type": "null"} in options and len(options) == 2:
        (real,) = [option for option in options if option != {"type": "null"}]
        del out["anyOf"]
        out.update({"allOf": [real]} if "$ref" in real else real)
        out["nullable"] = True
    return out


def components() -> dict:
    """The schemas of the resources and bodies, from the pydantic models (enums from the Python enums)."""
    _, generated = models_json_schema([(model, "validation") for model in MODELS],
                                      ref_template="#/components/schemas/{model}")
    definitions = generated["$defs"]
    renames = {name: definition.get("title", name) for name, definition in definitions.items()}
    result = {}
    for name, definition in definitions.items():
        schema = _openapi_30(definition, renames)
        schema.pop("description", None)  # a docstring, for developers
        if name in ENUMS:  # each value with its Chinese title
            schema["description"] = "；".join(f"{member.value}：{member.title}" for member in ENUMS[name])
        result[renames[name]] = schema
    return result


def _error(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _ok(schema: str, description: str = "成功") -> dict:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}


ERRORS = {
    "400": _error("请求格式错误"),
    "401": _error("缺少或无效的访问令牌"),
    "403": _error("可以查看但无权执行此操作"),
    "404": _error("不存在或无权查看"),
    "409": _error("当前状态不允许，或事项已被修改"),
    "413": _error("文件过大"),
    "415": _error("文件类型不支持"),
    "422": _error("字段无效（field 指明哪个字段）"),
}


def _errors(*codes: str) -> dict:
    return {code: ERRORS[code] for code in ("400", "401", *codes)}  # any request may be malformed


def _param(name: str, schema: dict, where: str = "query", required: bool = False, description: str = "") -> dict:
    return {"name": name, "in": where, "required": required, "schema": schema, "description": description}


ITEM_ID = _param("item_id", ID, "path", True)
PAGING = [_param("page", {"type": "integer", "minimum": 1, "maximum": 1000000}),
          _param("per_page", {"type": "integer", "minimum": 1, "maximum": 200})]
FILTERS = [
    _param("q", {"type": "string", "maxLength": 100},
           description="搜索：标题、问题、措施、销号说明、进展与意见、佐证材料文件名中含有的文字（空格分隔的词须都出现），标题含有的排在前面"),
    _param("status", STATUS),
    _param("overdue", {"type": "string", "enum": ["0", "1"]}, description="1：只看逾期"),
    _param("unit", {"type": "string", "maxLength": 200}, description="单位名称（含其下级单位）"),
    _param("year", {"type": "integer", "minimum": 2000, "maximum": 2100}),
    _param("category", {"type": "string", "maxLength": 50}),
    _param("owner", {"type": "string", "maxLength": 64}, description="责任人用户名或姓名"),
    _param("report", ID),
]

# The resources' components come from their schemas (items.schemas, reports.schemas); the error
# and the import result are described here.
SCHEMAS = {
    "Error": {"type": "object", "required": ["error"],
              "properties": {"error": {"type": "string"}, "field": {"type": "string"}}},
    "ImportResult": {
        "type": "object", "required": ["unit", "year", "title", "problems", "plans", "report_id", "item_ids"],
        "properties": {
            "unit": NULLABLE_STRING, "year": {"type": "integer", "nullable": True}, "title": {"type": "string"},
            "problems": {"type": "array", "items": {"type": "object", "properties": {
                "title": {"type": "string"}, "text": {"type": "string"},
                "categories": {"type": "array", "items": {"type": "string"}}}}},
            "plans": {"type": "array", "items": {"type": "object", "properties": {
                "title": {"type": "string"}, "text": {"type": "string"}}}},
            "report_id": {"type": "integer", "nullable": True},
            "item_ids": {"type": "array", "items": {"type": "integer"}, "nullable": True},
        },
    },
}


def _json_body(schema: str) -> dict:
    return {"required": True, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}


def _multipart(properties: dict, required: list[str]) -> dict:
    return {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": required, "properties": properties}}}}


DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

PATHS = {
    "/items": {"get": {"summary": "可见的事项", "parameters": [*FILTERS, *PAGING],
                       "responses": {"200": _ok("ItemPage"), **_errors("422")}}},
    "/overdue": {"get": {"summary": "逾期事项，逾期最久的在前", "parameters": [*FILTERS, *PAGING],
                         "responses": {"200": _ok("ItemPage"), **_errors("422")}}},
    "/items/{item_id}": {
        "get": {"summary": "一个事项及其佐证材料和历史", "parameters": [ITEM_ID],
                "responses": {"200": _ok("ItemDetail"), **_errors("404")}},
        "patch": {"summary": "修改事项", "parameters": [ITEM_ID, _param("If-Match", {"type": "string"}, "header")],
                  "requestBody": _json_body("ItemPatch"),
                  "responses": {"200": _ok("Item"), **_errors("400", "403", "404", "409", "422")}},
    },
    "/items/{item_id}/progress": {"post": {
        "summary": "记录进展", "parameters": [ITEM_ID],
        "requestBody": _json_body("Progress"),
        "responses": {"201": _ok("Event", "已记录"), **_errors("400", "403", "404", "409", "422")}}},
    "/items/{item_id}/evidence": {"post": {
        "summary": "上传佐证材料", "parameters": [ITEM_ID],
        "requestBody": _multipart({"file": {"type": "string", "format": "binary"},
                                   "description": {"type": "string"}}, ["file"]),
        "responses": {"201": _ok("Evidence", "已上传"), **_errors("400", "403", "404", "413", "415", "422")}}},
    "/items/{item_id}/transition": {"post": {
        "summary": "状态操作", "parameters": [ITEM_ID, _param("If-Match", {"type": "string"}, "header")],
        "requestBody": _json_body("Transition"),
        "responses": {"200": _ok("Item"), **_errors("400", "403", "404", "409", "422")}}},
    "/evidence/{evidence_id}": {"get": {
        "summary": "佐证材料文件", "parameters": [_param("evidence_id", ID, "path", True)],
        "responses": {"200": {"description": "文件内容", "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}},
                      **_errors("404")}}},
    "/reports": {"get": {"summary": "可见的报告及其事项（每份报告列前 items_per_report 项，共几项见 items_total）",
                         "parameters": [*PAGING, _param("items_per_report", {"type": "integer", "minimum": 1, "maximum": 200},
                                                        description="每份报告列出的事项数，默认 20")],
                         "responses": {"200": _ok("ReportPage"), **_errors("422")}}},
    "/reports/{report_id}": {"get": {"summary": "一份报告及其事项（按页）", "parameters": [
        _param("report_id", ID, "path", True), _param("items_page", {"type": "integer", "minimum": 1, "maximum": 1000000}),
        _param("items_per_page", {"type": "integer", "minimum": 1, "maximum": 200}, description="默认 200")],
        "responses": {"200": _ok("Report"), **_errors("404", "422")}}},
    "/items/{item_id}/urge": {"post": {
        "summary": "发督办单（催办 notice、黄牌督办 yellow、红牌督办 red），并立即通知责任人", "parameters": [ITEM_ID],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["level"], "properties": {
                "level": {"type": "string", "enum": ["notice", "yellow", "red"]}, "comment": {"type": "string"},
                "reply_by": {"type": "string", "format": "date"}}}}}},
        "responses": {"201": {"description": "已发出", "content": {"application/json": {"schema": {
            "type": "object", "properties": {"id": ID, "number": {"type": "string"}, "level": {"type": "string"},
                                             "item_id": ID, "issued_at": {"type": "string"}, "issued_by": {"type": "string"},
                                             "reply_by": {"type": "string", "format": "date"}}}}}},
                      **_errors("400", "403", "404", "409", "422")}}},
    "/urges/{urge_id}.docx": {"get": {
        "summary": "督办通知单（.docx）", "parameters": [_param("urge_id", ID, "path", True)],
        "responses": {"200": {"description": "Word 文档", "content": {DOCX: {"schema": {"type": "string", "format": "binary"}}}},
                      **_errors("404")}}},
    "/notifications": {"get": {
        "summary": "调用者的通知，最新的在前",
        "parameters": [_param("unread", {"type": "string", "enum": ["0", "1"]}, description="1：只看未读"), *PAGING],
        "responses": {"200": {"description": "成功", "content": {"application/json": {"schema": {
            "type": "object", "properties": {
                "items": {"type": "array", "items": {"type": "object", "properties": {
                    "id": ID, "at": {"type": "string"}, "kind": {"type": "string", "description":
                        "reminder、assigned、submitted、returned、approved、reopened、extension_requested、"
                        "extension_approved、extension_rejected、urged、bulletin"},
                    "item_id": {"type": "integer", "nullable": True}, "title": {"type": "string"},
                    "text": {"type": "string"}, "read": {"type": "boolean"}}}},
                "page": {"type": "integer"}, "per_page": {"type": "integer"}, "total": {"type": "integer"}}}}}},
            **_errors("422")}}},
    "/notifications/read": {"post": {
        "summary": "标为已读：{\"ids\": [...]} 或 {\"all\": true}",
        "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object", "properties": {
            "ids": {"type": "array", "items": ID}, "all": {"type": "boolean"}}}}}},
        "responses": {"200": {"description": "成功", "content": {"application/json": {"schema": {
            "type": "object", "properties": {"read": {"type": "integer"}}}}}}, **_errors("400", "422")}}},
    "/stats": {"get": {
        "summary": "单位及其下级的统计（截至某日）",
        "parameters": [
            _param("unit", {"type": "string", "maxLength": 200}, description="单位名称或路径；默认为调用者所在单位"),
            _param("year", {"type": "integer", "minimum": 2000, "maximum": 2100}),
            _param("category", {"type": "string", "maxLength": 50}, description="问题类别代码（按主类别，即第一个类别）"),
            _param("as_of", {"type": "string", "format": "date"}, description="截至日期 YYYY-MM-DD，默认今天"),
        ],
        "responses": {"200": _ok("Stats"), **_errors("403", "422")}}},
    "/reports/import": {"post": {
        "summary": "导入报告（同 import-report 命令）",
        "requestBody": _multipart({"file": {"type": "string", "format": "binary"}, "unit": {"type": "string"},
                                   "year": {"type": "integer"}, "dry_run": {"type": "string", "enum": ["0", "1"]},
                                   "allow_duplicate": {"type": "string", "enum": ["0", "1"]}}, ["file"]),
        "responses": {"200": _ok("ImportResult", "预览（dry_run）"), "201": _ok("ImportResult", "已导入"),
                      **_errors("400", "403", "409", "413", "415", "422")}}},
}


def spec(server_url: str = "/api/v1") -> dict:
    return {
        "openapi": "3.0.3",
        "info": {"title": "tracker 整改跟踪 API", "version": "1.0",
                 "description": "与网页相同的权限：看不到的返回 404，能看不能改的返回 403。错误均为 {\"error\", \"field\"}。"},
        "servers": [{"url": server_url}],
        "security": [{"bearer": []}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
                       "schemas": {**components(), **SCHEMAS}},
        "paths": PATHS,
    }
