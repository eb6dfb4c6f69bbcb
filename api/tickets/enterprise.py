"""企业诉求: a business (not a private person) asking — the county analyses these on their own (便企、利企).

Judged from how the demand is put: the speaker talks for a company, factory or shop, or asks about
what only businesses deal with (营业执照, 税费发票, 用工招工, 用电报装, 融资贷款, 审批). A citizen who
merely complains *about* a company (噪音, 排污) is not an enterprise demand.
"""

from __future__ import annotations

import re

# "我们公司"、"我司"、"本厂"、"我是XX公司的"… — the speaker is the business.
_SPEAKER = re.compile(
    r"(我们|我|本|我司|咱们)(公司|企业|厂|工厂|店|门店|合作社)|我司|我厂|我店|"
    r"我是[^，。,.]{0,12}(公司|企业|厂|合作社|个体户|商户)的?(负责人|法人|老板|经理|员工)?|"
    r"(作为|身为)[^，。,.]{0,6}(企业|个体户|商户|纳税人)"
)
# Matters only a business has.
_BUSINESS_MATTER = re.compile(
    r"营业执照|企业开办|工商注册|税务登记|增值税|发票|纳税|用工|招工|社保补贴申领|稳岗|"
    r"用电报装|增容|融资|贷款贴息|政府采购|招投标|中标|货款|环评批复|营商环境|惠企|涉企"
)


def is_enterprise(text: str | None) -> bool:
    """True when the text is a business's own demand: a business speaker and a business matter,
    or a business speaker at all (a company asking is 企业诉求 whatever it asks about)."""
    if not text:
        return False
    return bool(_SPEAKER.search(text)) or (
        bool(_BUSINESS_MATTER.search(text)) and bool(re.search(r"公司|企业|厂|商户|个体户|店铺|老板", text))
    )
