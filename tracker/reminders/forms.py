"""The admin's forms for reminders: the rules, the working-day calendar, the chat robots."""

from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length

from tracker.forms import ChineseDateField, Form, db_id


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
