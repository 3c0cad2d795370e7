from flask_wtf.file import FileField
from wtforms import BooleanField, FieldList, FormField, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms import Form as SubForm
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from tracker.forms import ChineseDateField, Form, db_id
from tracker.items.forms import MultiCheckboxField
from tracker.items.services import TEXT_MAX, TITLE_MAX

PASTE_MAX = 500_000


class UploadForm(Form):
    file = FileField("报告文件（.docx、.pdf、.txt）")
    pasted = TextAreaField("或粘贴报告文字", validators=[Length(max=PASTE_MAX, message="粘贴的文字过长。")])


class RowForm(SubForm):
    """One proposed problem on the preview page."""

    include = BooleanField("导入", default=True)
    merge_up = BooleanField("并入上一条")
    title = StringField("标题", validators=[Length(max=TITLE_MAX, message=f"标题不能超过{TITLE_MAX}字。")])
    text = TextAreaField("问题描述", validators=[Length(max=TEXT_MAX, message=f"不能超过{TEXT_MAX}字。")])
    measures = TextAreaField("整改措施（据报告的工作打算建议）", validators=[Length(max=TEXT_MAX, message=f"不能超过{TEXT_MAX}字。")])
    progress = TextAreaField("整改情况（报告所写，导入后作为首条进展）",
                             validators=[Length(max=2000, message="整改情况不能超过2000字。")])
    primary_category = SelectField("主要类别", validate_choice=False)
    other_categories = MultiCheckboxField("其他类别", validate_choice=False)
    proposed = HiddenField()  # the primary category the rules proposed: a change is offered as a rule
    deadline = ChineseDateField("整改时限（留空则用上方的时限）", validators=[Optional()])


class ConfirmForm(Form):
    token = HiddenField()
    unit = SelectField("报告单位", coerce=db_id, validate_choice=False)
    # An admin may create the unit a report names when the system has none (the preview offers it).
    create_unit = BooleanField("在系统中新建这个单位")
    new_unit_name = StringField("新单位名称", validators=[Length(max=100, message="单位名称不能超过100字。")])
    new_unit_parent = SelectField("新单位的上级单位", coerce=db_id, validate_choice=False)
    year = IntegerField(
        "年度", validators=[InputRequired("请填写年度。"), NumberRange(2000, 2100, "年度应在2000至2100之间。")]
    )
    title = StringField("报告标题", validators=[DataRequired("请填写报告标题。"), Length(max=300, message="标题不能超过300字。")])
    deadline = ChineseDateField("整改时限（各问题默认）", validators=[Optional()])
    allow_duplicate = BooleanField("这份文件导入过，我确认要再次导入")
    rows = FieldList(FormField(RowForm))


class RuleForm(Form):
    category = SelectField("类别", coerce=db_id, validate_choice=False)
    keyword = StringField("关键词", validators=[DataRequired("请填写关键词。"), Length(max=50, message="关键词不能超过50字。")])
    weight = IntegerField("权重", default=2, validators=[InputRequired("请填写权重。"), NumberRange(1, 10, "权重应在1至10之间。")])


class LedgerUploadForm(Form):
    file = FileField("台账文件（Excel .xlsx）")
    unit = SelectField("台账所属单位", coerce=db_id, validate_choice=False)
    year = IntegerField("问题年度", validators=[Optional(), NumberRange(min=2000, max=2100, message="年度应在2000至2100之间。")])
