"""The policy the credit rules rest on, in the words the public reads: the Inner Mongolia
government opinion of 2015-08-17 (../shared/seed/000_c02221130dbd231e.txt). A rule of the
rulebook names the clauses it rests on by number — "二十一" — and the public pages print the
clause with its heading, as the opinion itself words it: "（二十一）建立物业服务收费动态调节
机制". Headings are Chinese message ids (English comes from the translation files)."""

from __future__ import annotations

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

POLICY_TITLE = _("内蒙古自治区人民政府关于加强物业管理促进物业服务业发展的意见")
POLICY_DATE = "2015-08-17"

# Clause number → its heading, from the opinion's text (each clause opens with it).
CLAUSE_HEADINGS = {
    "一": _("总体要求"),
    "二": _("目标任务"),
    "三": _("放开搞活物业服务市场"),
    "四": _("积极推进物业服务专业化发展"),
    "五": _("建立健全物业管理招投标制度"),
    "六": _("全面规范前期物业管理和物业项目承接验收工作"),
    "七": _("着力加强新建商品住宅交付使用和管理"),
    "八": _("充分发挥业主委员会职能作用"),
    "九": _("加快老旧住宅小区综合整治改造"),
    "十": _("加大资金投入力度"),
    "十一": _("加强物业或准物业管理"),
    "十二": _("规范住宅维修资金交存"),
    "十三": _("提高住宅专项维修资金使用效率"),
    "十四": _("加大对资金安全运行监管力度"),
    "十五": _("拓宽物业服务领域和范围"),
    "十六": _("简化行政审批程序"),
    "十七": _("鼓励和扶持物业服务企业发展壮大"),
    "十八": _("引导物业服务企业兼并重组"),
    "十九": _("提高物业服务从业人员素质"),
    "二十": _("建立质价相符的物业服务新机制"),
    "二十一": _("建立物业服务收费动态调节机制"),
    "二十二": _("建立健全行业诚信体系"),
    "二十三": _("建立完善物业服务纠纷快速调处机制"),
    "二十四": _("建立健全统计制度"),
    "二十五": _("加强财政补贴支持"),
    "二十六": _("落实税收扶持政策"),
    "二十七": _("落实相关补贴政策"),
    "二十八": _("落实其他扶持政策"),
    "二十九": _("加强组织领导，形成工作合力"),
    "三十": _("强化目标考核，推动工作落实"),
    "三十一": _("加强宣传引导，营造舆论氛围"),
}


def clause_text(number: str) -> str:
    """ "（二十一）建立物业服务收费动态调节机制"; a number the opinion lacks stands alone."""
    heading = CLAUSE_HEADINGS.get(number)
    if heading is None:
        return gettext("（%(number)s）") % {"number": number}
    return gettext("（%(number)s）%(heading)s") % {"number": number, "heading": heading}
