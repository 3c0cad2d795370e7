from flask_wtf.file import FileRequired, MultipleFileField
from wtforms import (
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from tracker.forms import ChineseDateField, Form, db_id
from tracker.items.evidence import DESCRIPTION_MAX
from tracker.items.models import MeasureType
from tracker.items.services import NOTE_MAX, TEXT_MAX, TITLE_MAX
from tracker.items.workflow import COMMENT_MAX


class TransitionForm(Form):
    action = HiddenField(validators=[DataRequired("未知的操作。")])
    version = IntegerField(validators=[Optional()])
    comment = TextAreaField("意见", validators=[Length(max=COMMENT_MAX, message=f"不能超过{COMMENT_MAX}字。")])
    summary = TextAreaField(
        "整改完成情况", validators=[Length(max=COMMENT_MAX, message=f"不能超过{COMMENT_MAX}字。")]
    )
    deadline = ChineseDateField("延期至", validators=[Optional()])


class EvidenceForm(Form):
    file = MultipleFileField("佐证材料", validators=[FileRequired("请选择要上传的文件。")])
    description = StringField(
        "说明", validators=[Length(max=DESCRIPTION_MAX, message=f"说明不能超过{DESCRIPTION_MAX}字。")]
    )


class ProgressForm(Form):
    note = TextAreaField(
        "进展情况",
        validators=[
            DataRequired("请填写进展情况。"),
            Length(max=NOTE_MAX, message=f"进展情况不能超过{NOTE_MAX}字。"),
        ],
    )


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ItemForm(Form):
    """Edit an item (supervisors). Owners use ``MeasuresForm``."""

    version = IntegerField(validators=[Optional()])
    title = StringField(
        "标题", validators=[DataRequired("请填写标题。"), Length(max=TITLE_MAX, message=f"标题不能超过{TITLE_MAX}字。")]
    )
    text = TextAreaField("问题描述", validators=[Length(max=TEXT_MAX, message=f"不能超过{TEXT_MAX}字。")])
    measures = TextAreaField("整改措施", validators=[Length(max=TEXT_MAX, message=f"不能超过{TEXT_MAX}字。")])
    primary_category = SelectField("主要类别", validate_choice=False)
    other_categories = MultiCheckboxField("其他类别", validate_choice=False)
    owner = StringField("责任人（输入姓名、用户名或单位查找）", validators=[Length(max=64, message="用户名过长。")])
    deadline = ChineseDateField("整改时限", validators=[Optional()])
    unit = SelectField("责任单位", coerce=db_id, validate_choice=False)
    leader = StringField("责任领导（姓名，可不是系统用户）", validators=[Length(max=64, message="责任领导不能超过64字。")])
    measure_type = SelectField("整改类型", default=MeasureType.deadline.value, validate_choice=False)
    co_units = SelectMultipleField("配合单位（可多选）", coerce=db_id, validate_choice=False)
    review_every_days = IntegerField("进展报送周期（天，长期坚持事项；不填为默认周期）", validators=[
        Optional(), NumberRange(1, 366, "进展报送周期应为1至366天。")])


class NewItemForm(ItemForm):
    """Create an item: the edit fields plus its year."""

    year = IntegerField(
        "年度", validators=[InputRequired("请填写年度。"), NumberRange(2000, 2100, "年度应在2000至2100之间。")]
    )


class AssignForm(Form):
    item_ids = SelectMultipleField(coerce=db_id, validate_choice=False)
    owner = StringField("责任人（用户名）", validators=[Length(max=64, message="用户名过长。")])
    deadline = ChineseDateField("整改时限", validators=[Optional()])


class MeasuresForm(Form):
    """What an owner may change on their own item: the measures."""

    version = IntegerField(validators=[Optional()])
    measures = TextAreaField("整改措施", validators=[Length(max=TEXT_MAX, message=f"不能超过{TEXT_MAX}字。")])


class CategoryForm(Form):
    code = StringField("代码", validators=[DataRequired("请填写代码。"), Length(max=50, message="代码不能超过50字符。")])
    name = StringField("名称", validators=[DataRequired("请填写名称。"), Length(max=50, message="名称不能超过50字。")])
    position = IntegerField("排序", validators=[Optional(), NumberRange(0, 10000, "排序应在0至10000之间。")])
