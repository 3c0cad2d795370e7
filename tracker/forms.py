"""The base form: CSRF from Flask-WTF, WTForms' Chinese messages, shared field helpers."""

from datetime import date

from flask_wtf import FlaskForm
from wtforms import DateField


class Form(FlaskForm):
    class Meta:
        locales = ["zh"]


class ButtonForm(Form):
    """An empty form: CSRF protection for button-only POSTs."""


class ChineseDateField(DateField):
    """A date field (YYYY-MM-DD) whose parse error is a plain Chinese sentence."""

    def process_formdata(self, valuelist):
        if valuelist and valuelist[0].strip():
            try:
                self.data = date.fromisoformat(valuelist[0].strip())
            except ValueError:
                self.data = None
                raise ValueError("日期无效，请按“年-月-日”填写一个真实存在的日期。") from None
        else:
            self.data = None


DB_ID_MAX = 2**31 - 1


def db_id(value) -> int:
    """Coerce a posted id: a plain decimal number within the database's integer range."""
    text = str(value).strip()
    if not text.isascii() or not text.isdigit() or not 0 <= int(text) <= DB_ID_MAX:
        raise ValueError("无效的选项。")
    return int(text)
