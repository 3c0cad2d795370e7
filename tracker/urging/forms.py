from wtforms import BooleanField, IntegerField, SelectField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from tracker.forms import ChineseDateField, Form
from tracker.items.models import UrgeLevel
from tracker.urging.services import COMMENT_MAX


class UrgeForm(Form):
    level = SelectField("督办级别", choices={level.value: level.title for level in UrgeLevel}, default="notice")
    comment = TextAreaField("督办要求（可不填，按级别给出默认要求）",
                            validators=[Length(max=COMMENT_MAX, message=f"不能超过{COMMENT_MAX}字。")])
    reply_by = ChineseDateField("请于此日前反馈（可不填）", validators=[Optional()])


class UrgeRuleForm(Form):
    yellow_after_days = IntegerField("逾期多少天起建议黄牌督办", validators=[InputRequired("请填写天数。")])
    red_after_days = IntegerField("逾期多少天起建议红牌督办", validators=[InputRequired("请填写天数。")])
    red_after_yellows = IntegerField("已发几次黄牌后建议红牌督办", validators=[InputRequired("请填写次数。")])
    auto_issue = BooleanField("每天早上8点按建议级别自动发出督办单（以事项所属单位的上级单位名义）")
    monthly_bulletin = BooleanField("每月1日为每个有督办人的单位生成上月情况通报，发到其督办人的站内通知")
