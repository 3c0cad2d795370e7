from wtforms import SelectField, TextAreaField
from wtforms.validators import Length, Optional

from tracker.forms import ChineseDateField, Form
from tracker.items.models import UrgeLevel
from tracker.urging.services import COMMENT_MAX


class UrgeForm(Form):
    level = SelectField("督办级别", choices={level.value: level.title for level in UrgeLevel}, default="notice")
    comment = TextAreaField("督办要求（可不填，按级别给出默认要求）",
                            validators=[Length(max=COMMENT_MAX, message=f"不能超过{COMMENT_MAX}字。")])
    reply_by = ChineseDateField("请于此日前反馈（可不填）", validators=[Optional()])
