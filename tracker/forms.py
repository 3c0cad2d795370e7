"""The base form: CSRF from Flask-WTF, WTForms' Chinese messages, shared field helpers."""

from flask_wtf import FlaskForm
from wtforms import DateField

from tracker.errors import Invalid
from tracker.web import params


class Form(FlaskForm):
    class Meta:
        locales = ["zh"]


class ButtonForm(Form):
    """An empty form: CSRF protection for button-only POSTs."""


class ChineseDateField(DateField):
    """A date field (YYYY-MM-DD) whose parse error is a plain Chinese sentence."""

    def process_formdata(self, valuelist):
        self.data = None
        if valuelist and valuelist[0].strip():
            try:
                self.data = params.day(valuelist[0], self.name)
            except Invalid:
                raise ValueError("日期无效，请按“年-月-日”填写一个真实存在的日期。") from None


def db_id(value) -> int:
    """Coerce a posted id: a plain decimal number within the database's integer range (0: none)."""
    try:
        return params.integer(value, "id", low=0)
    except Invalid:
        raise ValueError("无效的选项。") from None
