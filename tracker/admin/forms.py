from wtforms import BooleanField, IntegerField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from tracker.forms import ChineseDateField, Form, db_id
from tracker.org.models import Role


class UnitForm(Form):
    name = StringField("单位名称", validators=[DataRequired("请填写单位名称。"), Length(max=100, message="单位名称不能超过100字。")])
    parent = SelectField("上级单位", coerce=db_id, validate_choice=False)


class UserForm(Form):
    username = StringField("用户名", validators=[DataRequired("请填写用户名。"), Length(max=64, message="用户名不能超过64位。")])
    name = StringField("姓名", validators=[DataRequired("请填写姓名。"), Length(max=64, message="姓名不能超过64字。")])
    role = SelectField("角色", choices={role.value: role.title for role in Role})
    unit = SelectField("所属单位", coerce=db_id, validate_choice=False)
    email = StringField("邮箱", validators=[Length(max=254, message="邮箱过长。")])
    password = PasswordField("临时密码", validators=[Optional(), Length(min=8, max=128, message="密码应为8至128位。")])
    active = BooleanField("启用", default=True)


class CategoryForm(Form):
    code = StringField("代码", validators=[DataRequired("请填写代码。"), Length(max=50, message="代码不能超过50字符。")])
    name = StringField("名称", validators=[DataRequired("请填写名称。"), Length(max=50, message="名称不能超过50字。")])
    position = IntegerField("排序", validators=[Optional(), NumberRange(0, 10000, "排序应在0至10000之间。")])


class RuleForm(Form):
    category = SelectField("类别", coerce=db_id, validate_choice=False)
    keyword = StringField("关键词", validators=[DataRequired("请填写关键词。"), Length(max=50, message="关键词不能超过50字。")])
    weight = IntegerField("权重", default=2, validators=[InputRequired("请填写权重。"), NumberRange(1, 10, "权重应在1至10之间。")])


class ReminderSettingsForm(Form):
    days_before = StringField("到期前提醒（天，逗号分隔）", validators=[DataRequired("请填写提前提醒天数。"), Length(max=100)])
    overdue_repeat_days = StringField("逾期后每隔几天提醒一次", validators=[DataRequired("请填写天数。")])
    escalate_after_days = StringField("逾期几天后同时提醒督办人", validators=[InputRequired("请填写天数。")])
    review_wait_days = StringField("待审核或延期申请等待几天后提醒审核人", validators=[DataRequired("请填写天数。")])
    remind_at = StringField("每日提醒时间", validators=[DataRequired("请填写时间。")])
    working_days_only = BooleanField("只在工作日提醒（周末及下方登记的节假日不发，调休上班日照常发）")


class CalendarDayForm(Form):
    day = ChineseDateField("日期")
    kind = SelectField("类型", choices={"holiday": "放假（工作日休息）", "workday": "调休上班（周末上班）"})
    name = StringField("名称", validators=[Length(max=50, message="名称不能超过50字。")])


class RobotForm(Form):
    unit = SelectField("所属单位", coerce=db_id, validate_choice=False)
    kind = SelectField("类型", choices={"wecom": "企业微信群机器人", "dingtalk": "钉钉自定义机器人", "feishu": "飞书群机器人",
                                      "webhook": "通用 JSON Webhook"})
    name = StringField("名称", validators=[Length(max=100, message="名称不能超过100字。")])
    url = StringField("Webhook 地址", validators=[DataRequired("请填写 Webhook 地址。"), Length(max=1000, message="地址过长。")])
    secret = StringField("加签密钥（钉钉、飞书开启“加签”时填写）", validators=[Length(max=200, message="密钥过长。")])
    active = BooleanField("启用", default=True)
