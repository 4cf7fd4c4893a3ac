"""Synthetic registration events for demos, tests and benchmarks — never real people.

Identity numbers and credit codes are generated with the real check rules over random
sequence numbers; names, addresses and institutions are composed from common parts.
``generate(event_type, rng)`` returns a submission dict exactly as a department would POST it.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from hub.domain import identifiers
from hub.domain.common import CHINA_TZ
from hub.domain.envelope import EventType

REGIONS = {  # 行政区划代码 → district (Hangzhou)
    "330102": "上城区", "330105": "拱墅区", "330106": "西湖区",
    "330109": "萧山区", "330110": "余杭区", "330127": "淳安县",
}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国晓文博宇浩然子涵欣怡梓轩思远嘉诚雨桐"
STREETS = ["人民路", "文化路", "市心中路", "城厢街道金城路", "北干街道建设一路", "西湖大道", "江南大道"]
ORG_WORDS = ["瑜伽", "书画", "摄影", "太极拳", "志愿者", "老年体育", "围棋", "茶文化"]
TRADES = ["科技", "贸易", "电子商务", "机械制造", "文化传媒", "新材料", "食品"]
COUNTRIES = ["US", "DE", "JP", "SG", "KR", "GB", "FR"]
HOSPITALS = ["萧山区第一人民医院", "浙江大学医学院附属妇产科医院", "杭州市妇产科医院", "淳安县第一人民医院"]


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def resident_id(rng: random.Random, born: date, male: bool) -> str:
    """A well-formed identity number for a synthetic person born on ``born``."""
    region = rng.choice(list(REGIONS))
    seq = rng.randrange(0, 500) * 2 + (1 if male else 0)
    first17 = f"{region}{born:%Y%m%d}{seq:03d}"
    return first17 + identifiers.id_check_character(first17)


def uscc(rng: random.Random, prefix: str) -> str:
    """A well-formed unified social credit code starting with ``prefix`` (e.g. ``91``)."""
    body = prefix + rng.choice(list(REGIONS)) + "".join(
        rng.choice(identifiers.USCC_ALPHABET) for _ in range(17 - len(prefix) - 6)
    )
    return body + identifiers.uscc_check_character(body)


def person(rng: random.Random, min_age: int, max_age: int, today: date, male: bool | None = None) -> dict:
    male = rng.random() < 0.5 if male is None else male
    # Born between (max_age + 1) years ago (exclusive) and min_age years ago: age in range today.
    day = min(today.day, 28)
    oldest = date(today.year - max_age - 1, today.month, day) + timedelta(days=1)
    youngest = date(today.year - min_age, today.month, day)
    born = oldest + timedelta(days=rng.randint(0, (youngest - oldest).days))
    return {"name": _name(rng), "id_number": resident_id(rng, born, male), "sex": "MALE" if male else "FEMALE"}


def _address(rng: random.Random) -> str:
    region = rng.choice(list(REGIONS.values()))
    return f"浙江省杭州市{region}{rng.choice(STREETS)}{rng.randint(1, 999)}号"


def _day(rng: random.Random, today: date, back: int = 30) -> str:
    return (today - timedelta(days=rng.randint(0, back))).isoformat()


def _social_org(rng, now):
    today = now.astimezone(CHINA_TZ).date()
    return {
        "organisation_name": f"杭州市萧山区{rng.choice(ORG_WORDS)}协会",
        "organisation_type": "SOCIAL_GROUP",
        "uscc": uscc(rng, "51"),
        "legal_representative": person(rng, 30, 65, today),
        "registered_address": _address(rng),
        "business_scope": "组织会员交流、培训与公益推广活动",
        "registered_funds": f"{rng.randint(3, 50) * 1000}.00",
        "supervising_unit": "杭州市萧山区文化和广电旅游体育局",
        "registration_authority": "杭州市萧山区民政局",
        "registered_on": _day(rng, today),
    }


def _enterprise(rng, now):
    today = now.astimezone(CHINA_TZ).date()
    foreign = rng.random() < 0.3
    return {
        "enterprise_name": f"杭州{rng.choice(SURNAMES)}{rng.choice(GIVEN)}{rng.choice(TRADES)}有限公司",
        "enterprise_type": "LIMITED_LIABILITY_COMPANY",
        "uscc": uscc(rng, "91"),
        "foreign_invested": foreign,
        "investor_countries": [rng.choice(COUNTRIES)] if foreign else [],
        "legal_representative": person(rng, 25, 60, today),
        "registered_capital": f"{rng.randint(10, 5000) * 10000}.00",
        "registered_address": _address(rng),
        "business_scope": "技术开发、技术咨询；货物进出口",
        "registration_authority": "杭州市市场监督管理局",
        "established_on": _day(rng, today),
    }


def _marriage(rng, now):
    today = now.astimezone(CHINA_TZ).date()
    return {
        "certificate_number": f"J{rng.choice(list(REGIONS))}-{today.year}-{rng.randint(1, 999999):06d}",
        "registered_on": _day(rng, today),
        "registration_office": "杭州市萧山区婚姻登记处",
        "spouse_a": person(rng, 24, 40, today, male=True),
        "spouse_b": person(rng, 22, 38, today, male=False),
    }


def _instant(rng, now: datetime, back_hours: int) -> str:
    moment = now - timedelta(hours=rng.randint(1, back_hours))
    return moment.replace(microsecond=0).isoformat()


def _birth(rng, now):
    today = now.astimezone(CHINA_TZ).date()
    father = person(rng, 24, 45, today, male=True) if rng.random() < 0.9 else None
    return {
        "certificate_number": f"{rng.choice('NPQR')}{rng.randint(0, 999999999):09d}",
        "child_name": _name(rng),
        "child_sex": rng.choice(["MALE", "FEMALE"]),
        "born_at": _instant(rng, now, 72),
        "birth_place": rng.choice(HOSPITALS),
        "birth_weight_grams": rng.randint(2400, 4200),
        "mother": person(rng, 22, 42, today, male=False),
        "father": father,
    }


def _death(rng, now):
    today = now.astimezone(CHINA_TZ).date()
    return {
        "certificate_number": f"{rng.randint(0, 10**12 - 1):012d}",
        "deceased": person(rng, 55, 98, today),
        "died_at": _instant(rng, now, 72),
        "place_of_death": rng.choice(HOSPITALS),
        "cause_category": rng.choice(["DISEASE", "DISEASE", "INJURY", "OTHER"]),
        "certifying_institution": rng.choice(HOSPITALS),
    }


def _retirement(rng, now):
    today = now.astimezone(CHINA_TZ).date()
    male = rng.random() < 0.5
    retire_on = today.replace(day=1)
    return {
        "approval_number": f"TX-{today.year}-{rng.randint(1, 99999):05d}",
        "person": person(rng, 60 if male else 50, 60 if male else 50, retire_on, male=male),
        "retirement_type": "NORMAL",
        "retirement_date": retire_on.isoformat(),
        "approved_on": _day(rng, today, back=10),
        "monthly_pension": f"{rng.randint(2500, 9000)}.{rng.randint(0, 99):02d}",
        "insured_region": rng.choice(list(REGIONS)),
    }


def _supplement(rng, now):
    # Shape only: a real supplement names an event that was accepted with documents missing.
    return {
        "supplements_event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "subject_id": resident_id(rng, now.date().replace(year=now.year - 30), rng.random() < 0.5),
        "documents": [rng.choice(["身份证复印件", "住所证明", "章程", "出生医学证明原件"])],
    }


def _consent_withdrawal(rng, now):
    # Shape only: a real withdrawal names an event that carried the consent.
    return {
        "withdraws_consent_of": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "subject_id": resident_id(rng, now.date().replace(year=now.year - 30), rng.random() < 0.5),
        "items": ["marriage_housing_loan_notice"],
        "withdrawn_on": _day(rng, now.astimezone(CHINA_TZ).date()),
    }


GENERATORS: dict[EventType, Callable[[random.Random, datetime], dict]] = {
    EventType.SOCIAL_ORGANISATION_REGISTERED: _social_org,
    EventType.ENTERPRISE_REGISTERED: _enterprise,
    EventType.MARRIAGE_REGISTERED: _marriage,
    EventType.BIRTH_CERTIFIED: _birth,
    EventType.DEATH_CERTIFIED: _death,
    EventType.RETIREMENT_APPROVED: _retirement,
    EventType.DOCUMENTS_SUPPLEMENTED: _supplement,
    EventType.CONSENT_WITHDRAWN: _consent_withdrawal,
}


def generate(
    event_type: EventType, rng: random.Random, today: date | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """A valid submission for ``event_type``: payload plus the time it occurred.

    Every date and time is derived from ``now`` (or the start of ``today`` in China time, or the real
    clock), so the same seed and clock give the same submission. Given only ``today``, instants
    fall before its first moment, so they are in the past for any clock on that day.
    """
    if now is None:
        now = (datetime.combine(today, time(0), CHINA_TZ) if today else datetime.now(timezone.utc))
    payload = GENERATORS[event_type](rng, now)
    return {"occurred_at": _instant(rng, now, 2), "payload": payload}
