from wtforms import BooleanField, IntegerField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from tracker.auth.models import Role
from tracker.forms import Form, db_id


class UnitForm(Form):
    name = StringField("单位名称", validators=[DataRequired("请填写单位名称。"), Length(max=100, message="单位名称不能超过100字。")])
    parent = SelectField("上级单位", coerce=db_id, validate_choice=False)


class UserForm(Form):
    username = StringField("用户名", validators=[DataRequired("请填写用户名。"), Length(max=64, message="用户名不能超过64位。")])
    name = StringField("姓名", validators=[DataRequired("请填写姓名。"), Length(max=64, message="姓名不能超过64字。")])
    role = SelectField("角色", choices={role.value: role.title for role in Role})
    unit = SelectField("所属单位", coerce=db_id, validate_choice=False)
    email = StringField("邮箱", validators=[Length(max=254, message="邮箱过长。")])
    password = PasswordField("密码", validators=[Optional(), Length(min=8, max=128, message="密码应为8至128位。")])
    active = BooleanField("启用", default=True)


class CategoryForm(Form):
    code = StringField("代码", validators=[DataRequired("请填写代码。"), Length(max=50, message="代码不能超过50字符。")])
    name = StringField("名称", validators=[DataRequired("请填写名称。"), Length(max=50, message="名称不能超过50字。")])
    position = IntegerField("排序", validators=[Optional(), NumberRange(0, 10000, "排序应在0至10000之间。")])


class RuleForm(Form):
    category = SelectField("类别", coerce=db_id, validate_choice=False)
    keyword = StringField("关键词", validators=[DataRequired("请填写关键词。"), Length(max=50, message="关键词不能超过50字。")])
    weight = IntegerField("权重", default=2, validators=[InputRequired("请填写权重。"), NumberRange(1, 10, "权重应在1至10之间。")])
