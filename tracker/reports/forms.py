from wtforms import IntegerField, SelectField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange

from tracker.forms import Form


class RolloverForm(Form):
    year = IntegerField("结转年度", validators=[
        InputRequired(message="请填写要结转的年度。"),
        NumberRange(min=2000, max=2099, message="年度应在2000至2099之间。"),
    ])
    # "" = every unit (admins only); else a unit id among the user's supervised units
    unit = SelectField("单位范围", choices=[], validate_choice=False)


class WithdrawForm(Form):
    reason = TextAreaField("撤回理由（必填，如“导入单位有误，应为××局”）",
                           validators=[Length(max=500, message="撤回理由不能超过500字。")])
