from wtforms import IntegerField, SelectField
from wtforms.validators import InputRequired, NumberRange

from tracker.forms import Form


class RolloverForm(Form):
    year = IntegerField("结转年度", validators=[
        InputRequired(message="请填写要结转的年度。"),
        NumberRange(min=2000, max=2099, message="年度应在2000至2099之间。"),
    ])
    # "" = every unit (admins only); else a unit id among the user's supervised units
    unit = SelectField("单位范围", choices=[], validate_choice=False)
