from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from tracker.forms import Form, db_id
from tracker.org.models import Role


class LoginForm(Form):
    username = StringField("用户名", validators=[DataRequired("请填写用户名。"), Length(max=64)])
    password = PasswordField("密码", validators=[DataRequired("请填写密码。"), Length(max=128)])


class PasswordForm(Form):
    current = PasswordField("当前密码", validators=[DataRequired("请填写当前密码。")])
    new = PasswordField("新密码", validators=[DataRequired("请填写新密码。"), Length(min=8, max=128, message="密码应为8至128位。")])
    confirm = PasswordField("确认新密码", validators=[EqualTo("new", message="两次输入的新密码不一致。")])


class TokenForm(Form):
    name = StringField("令牌名称", validators=[Length(max=100, message="名称不能超过100字。")])


class UnitForm(Form):
    name = StringField("单位名称", validators=[DataRequired("请填写单位名称。"), Length(max=100, message="单位名称不能超过100字。")])
    parent = SelectField("上级单位", coerce=db_id, validate_choice=False)
    short_name = StringField("简称（督办单编号的前缀，如“南岸交”；不填则用单位名称）",
                             validators=[Length(max=30, message="简称不能超过30字。")])
    two_level_review = BooleanField("两级审核：本单位及下级单位的销号申请，先由本级初审，再由上一级单位复审")


class UserForm(Form):
    username = StringField("用户名", validators=[DataRequired("请填写用户名。"), Length(max=64, message="用户名不能超过64位。")])
    name = StringField("姓名", validators=[DataRequired("请填写姓名。"), Length(max=64, message="姓名不能超过64字。")])
    role = SelectField("角色", choices={role.value: role.title for role in Role})
    unit = SelectField("所属单位", coerce=db_id, validate_choice=False)
    email = StringField("邮箱", validators=[Length(max=254, message="邮箱过长。")])
    password = PasswordField("临时密码", validators=[Optional(), Length(min=8, max=128, message="密码应为8至128位。")])
    active = BooleanField("启用", default=True)
