"""Field paths in words, for a citizen's eyes (``payload.spouse_a.id_number`` → 配偶甲 · 公民身份号码).

Each segment of a path has a label in Chinese and English; a segment without one is shown as it
is written (underscores as spaces), so a new field is never hidden, only less friendly.
"""

from __future__ import annotations

WORDS: dict[str, tuple[str, str]] = {
    # who
    "spouse_a": ("配偶甲", "spouse A"), "spouse_b": ("配偶乙", "spouse B"), "person": ("本人", "the person"),
    "deceased": ("逝者", "the deceased"), "mother": ("母亲", "mother"), "father": ("父亲", "father"),
    "legal_representative": ("法定代表人", "legal representative"),
    # what
    "name": ("姓名", "name"), "id_number": ("公民身份号码", "identity number"), "sex": ("性别", "sex"),
    "child_name": ("新生儿姓名", "child's name"), "child_sex": ("新生儿性别", "child's sex"),
    "born_at": ("出生时间", "born at"), "birth_place": ("出生地点", "birth place"),
    "birth_weight_grams": ("出生体重（克）", "birth weight (g)"),
    "certificate_number": ("证书编号", "certificate number"), "registered_on": ("登记日期", "registered on"),
    "registration_office": ("登记机关", "registration office"),
    "registration_authority": ("登记机关", "registration authority"),
    "organisation_name": ("组织名称", "organisation name"), "organisation_type": ("组织类型", "organisation type"),
    "enterprise_name": ("企业名称", "enterprise name"), "enterprise_type": ("企业类型", "enterprise type"),
    "uscc": ("统一社会信用代码", "unified social credit code"),
    "registered_address": ("住所", "registered address"), "business_scope": ("业务范围", "business scope"),
    "registered_capital": ("注册资本", "registered capital"), "registered_funds": ("注册资金", "registered funds"),
    "established_on": ("成立日期", "established on"), "foreign_invested": ("是否外商投资", "foreign-invested"),
    "investor_countries": ("投资者国别", "investors' countries"), "supervising_unit": ("业务主管单位", "supervising unit"),
    "died_at": ("死亡时间", "died at"), "place_of_death": ("死亡地点", "place of death"),
    "cause_category": ("死亡原因类别", "cause of death (category)"),
    "certifying_institution": ("出具机构", "certifying institution"),
    "approval_number": ("审批编号", "approval number"), "retirement_type": ("退休类型", "retirement type"),
    "retirement_date": ("退休日期", "retirement date"), "approved_on": ("审批日期", "approved on"),
    "monthly_pension": ("月养老金", "monthly pension"), "insured_region": ("参保地", "insured region"),
}


def field_label(path: str, lang: str = "zh") -> str:
    """``path`` (``payload.…``) in words, ``lang`` ``"zh"`` or ``"en"``."""
    column = 0 if lang == "zh" else 1
    parts = [p for p in path.split(".") if p and p != "payload"]
    return " · ".join(WORDS[p][column] if p in WORDS else p.replace("_", " ") for p in parts) or path
