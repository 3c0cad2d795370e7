from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from tracker.forms import Form


class LoginForm(Form):
    username = StringField("用户名", validators=[DataRequired("请填写用户名。"), Length(max=64)])
    password = PasswordField("密码", validators=[DataRequired("请填写密码。"), Length(max=128)])


class PasswordForm(Form):
    current = PasswordField("当前密码", validators=[DataRequired("请填写当前密码。")])
    new = PasswordField("新密码", validators=[DataRequired("请填写新密码。"), Length(min=8, max=128, message="密码应为8至128位。")])
    confirm = PasswordField("确认新密码", validators=[EqualTo("new", message="两次输入的新密码不一致。")])


class TokenForm(Form):
    name = StringField("令牌名称", validators=[Length(max=100, message="名称不能超过100字。")])
