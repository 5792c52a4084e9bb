# ruff: noqa: RUF001, RUF100
"""Deterministic generators of Chinese demo buildings, enterprises and scenarios in the SPEC record format."""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from itertools import accumulate
from typing import Generic, TypeVar

from demo import vocabulary_buildings as vb
from demo import vocabulary_firms as vf
from demo import vocabulary_scenarios as vs
from demo.geography import DISTRICT_INFO, DISTRICTS, HOME_CITIES, OTHER_REGION_CODES, DistrictInfo
from models.credit_code import check_character
from models.enums import (
    District,
    EnterpriseTag,
    FitOut,
    Grade,
    Industry,
    Origin,
    OwnerType,
    ScenarioBatch,
    ScenarioDomain,
    ScenarioStatus,
)

Record = dict[str, object]
Generator = Callable[[int, int], list[Record]]
_T = TypeVar("_T")

DEMO_SEED: int = 2022
DEMO_SIZES: dict[str, int] = {"buildings": 320, "enterprises": 1200, "scenarios": 320}
DEMO_REFERENCE_DATE: date = date(2026, 12, 1)


class _Weighted(Generic[_T]):
    """A fixed weighted population that draws one item quickly."""

    def __init__(self, items: Sequence[_T], weights: Sequence[float]) -> None:
        """Store the items and their cumulative weights."""
        self.items: list[_T] = list(items)
        self.cumulative: list[float] = list(accumulate(weights))

    def draw(self, rng: random.Random) -> _T:
        """Return one item drawn in proportion to its weight."""
        return rng.choices(self.items, cum_weights=self.cumulative)[0]


def _pick(rng: random.Random, items: Sequence[_T], weights: Sequence[float]) -> _T:
    """Return one item drawn in proportion to its weight."""
    return rng.choices(items, weights=weights)[0]


def _quota(rng: random.Random, items: Sequence[_T], weights: Sequence[float], count: int) -> list[_T]:
    """Return `count` items in shuffled order whose shares follow the weights (largest remainder)."""
    total = sum(weights)
    exact = [count * weight / total for weight in weights]
    numbers = [math.floor(share) for share in exact]
    by_remainder = sorted(range(len(items)), key=lambda index: numbers[index] - exact[index])
    for index in by_remainder[: count - sum(numbers)]:
        numbers[index] += 1
    sequence = [item for item, number in zip(items, numbers, strict=True) for _ in range(number)]
    rng.shuffle(sequence)
    return sequence


def _join(words: Sequence[str]) -> str:
    """Join Chinese list items as 甲、乙和丙."""
    if len(words) <= 1:
        return "".join(words)
    return "、".join(words[:-1]) + "和" + words[-1]


_CJK_THEN_LATIN = re.compile(r"([\u4e00-\u9fff])([A-Za-z0-9])")
_LATIN_THEN_CJK = re.compile(r"([A-Za-z0-9%])([\u4e00-\u9fff])")


def _spaced(text: str) -> str:
    """Put a space between Chinese characters and Latin letters or digits, as in 3 号线 and EDA 工具."""
    return _LATIN_THEN_CJK.sub(r"\1 \2", _CJK_THEN_LATIN.sub(r"\1 \2", text))


def _iso(day: date) -> str:
    """Return a date as ISO YYYY-MM-DD."""
    return day.isoformat()


# ---------------------------------------------------------------- buildings

_DISTRICT_WEIGHTS = [info.weight for info in DISTRICTS]
_GRADES: tuple[str | None, ...] = (Grade.A.value, Grade.B.value, Grade.C.value, None)
_GRADE_WEIGHTS = (30, 45, 20, 5)
_FIT_OUTS = (FitOut.move_in_ready.value, FitOut.basic.value, FitOut.shell.value)
_FIT_OUT_BY_GRADE: dict[str | None, tuple[int, int, int]] = {
    "A": (58, 32, 10),
    "B": (45, 36, 19),
    "C": (32, 36, 32),
    None: (40, 35, 25),
}
_RENT_BAND: dict[str | None, tuple[float, float]] = {
    "A": (0.55, 1.0),
    "B": (0.25, 0.75),
    "C": (0.0, 0.45),
    None: (0.0, 1.0),
}
_UNIT_OPTIONS = (100.0, 150.0, 200.0, 300.0, 400.0, 500.0, 800.0, 1000.0, 1500.0, 2000.0)
_BUILDING_NAMES = _Weighted([pattern for pattern, _ in vb.NAME_PATTERNS], [w for _, w in vb.NAME_PATTERNS])
_ALL_INDUSTRIES = tuple(Industry)


def _building_name(rng: random.Random, place_name: str, used: set[str]) -> str:
    """Return a building name not used before."""
    for attempt in range(40):
        pattern = _BUILDING_NAMES.draw(rng)
        name = pattern.format(
            p=place_name,
            b=rng.choice(vb.TOWER_BRANDS),
            k=rng.choice(vb.TOWER_KINDS),
            g=rng.choice(vb.PARK_KINDS),
            o=rng.choice(vb.OLD_USES),
            u=rng.choice(vb.NEW_USES),
            x=rng.choice(vb.WINGS),
            n=rng.randint(1, 12 + attempt),
        )
        if name not in used:
            used.add(name)
            return name
    serial = len(used)
    name = ""
    while not name or name in used:
        serial += 1
        name = f"{place_name}{rng.choice(vb.TOWER_BRANDS)}{rng.choice(vb.PARK_KINDS)} {serial} 号楼"
    used.add(name)
    return name


def _focus_industries(rng: random.Random, info: DistrictInfo, number: int) -> list[Industry]:
    """Pick distinct industries a building wants, mostly ones its district favours."""
    chosen: list[Industry] = []
    while len(chosen) < number:
        pool = info.favoured if rng.random() < 0.7 else _ALL_INDUSTRIES
        industry = rng.choice(pool)
        if industry not in chosen:
            chosen.append(industry)
    return chosen


def _building_amenities(rng: random.Random, has_metro: bool, grade: str | None) -> list[str]:
    """Return the amenity tokens of a building in a stable order."""
    tokens: list[str] = []
    for token in vb.AMENITY_LABELS:
        if token == "metro":
            if has_metro and rng.random() < 0.85:
                tokens.append(token)
            continue
        chance = vb.AMENITY_WEIGHTS[token] * (1.25 if grade == "A" else 0.8 if grade == "C" else 1.0)
        if rng.random() < chance:
            tokens.append(token)
    return tokens


def _incentives(rng: random.Random, fit_out: str) -> str:
    """Compose a varied 入驻政策 text from rent, fit-out and other clauses."""
    values = {
        "n": rng.choice((3, 6, 6, 9, 12)),
        "a": rng.choice((20, 30, 50, 80, 100, 150)),
        "w": rng.choice((10, 20, 30, 50, 100)),
        "s": rng.choice((100, 150, 200, 200, 300)),
        "c": rng.choice((30, 50, 50, 70)),
    }
    clauses: list[str] = []
    if rng.random() < 0.85:
        clauses.append(rng.choice(vb.RENT_INCENTIVES))
    if rng.random() < 0.6:
        clauses.append(rng.choice(vb.FIT_OUT_INCENTIVES[fit_out]))
    clauses.extend(rng.sample(vb.OTHER_INCENTIVES, rng.choice((0, 1, 1, 2))))
    if not clauses:
        clauses.append(rng.choice(vb.OTHER_INCENTIVES))
    text = "；".join(clause.format(**values) for clause in clauses)
    if rng.random() < 0.25:
        text += rng.choice(vb.INCENTIVE_NOTES)
    return _spaced(text)


def _building_description(
    rng: random.Random,
    info: DistrictInfo,
    place_name: str,
    road: str,
    grade: str | None,
    amenities: list[str],
    metro: tuple[str, str] | None,
    focus: list[Industry],
) -> str:
    """Write the 一楼一策 prose: location, transport, services and the industries wanted."""
    locations = [text for text in vb.LOCATIONS if grade is not None or "{q}" not in text]
    sentences = [
        rng.choice(locations).format(
            p=place_name,
            r=road,
            d=info.district.value,
            o=rng.choice(vb.TOWER_BRANDS) + rng.choice(vb.OLD_USES),
            q=vb.GRADE_WORDS.get(grade or "", ""),
        )
    ]
    if metro is not None and rng.random() < 0.85:
        sentences.append(
            rng.choice(vb.METRO_SENTENCES).format(
                l=metro[0],
                t=metro[1],
                n=rng.randint(2, 10),
                m=rng.randrange(100, 850, 50),
            )
        )
    elif rng.random() < 0.6:
        sentences.append(rng.choice(vb.ROAD_SENTENCES).format(h=rng.choice(info.hubs), n=rng.randint(8, 35)))
    services = [vb.AMENITY_LABELS[token] for token in amenities if token not in ("metro", "incubator")]
    if "incubator" in amenities and (not services or rng.random() < 0.5):
        sentences.append(vb.INCUBATOR_SENTENCE)
    elif services and rng.random() < 0.7:
        sentences.append(rng.choice(vb.SERVICE_SENTENCES).format(a=_join(services)))
    if len(sentences) > 3:
        sentences.pop(rng.randint(1, 2))
    if focus:
        phrases = [rng.choice(vf.WORDS_BY_INDUSTRY[industry].building_focus) for industry in focus[:2]]
        sentences.append(
            rng.choice(vb.FOCUS_SENTENCES).format(
                f="以及".join(phrases),
                c=vf.WORDS_BY_INDUSTRY[focus[0]].cluster,
                n=rng.randint(3, 25),
            )
        )
    else:
        sentences.append(rng.choice(vb.GENERIC_FOCUS_SENTENCES))
    return _spaced("".join(sentences))


def _street_number(rng: random.Random) -> str:
    """Return a street number, sometimes with an annex (附 N 号)."""
    number = rng.randint(1, 99) if rng.random() < 0.6 else rng.randint(100, 399)
    return f"{number} 号附 {rng.randint(1, 9)}" if rng.random() < 0.1 else str(number)


def _vacant_area(rng: random.Random, grade: str | None) -> float:
    """Return a vacant area between 200 and 20,000 m², mostly small."""
    centre = math.log(1400 if grade == "A" else 1000)
    area = min(20_000.0, max(200.0, math.exp(rng.gauss(centre, 0.95))))
    return float(round(area / 10) * 10) if rng.random() < 0.7 else round(area, 1)


def _min_unit(rng: random.Random, vacant: float) -> float | None:
    """Return the smallest leasable unit, never above the vacant area, or None."""
    if rng.random() >= 0.55:
        return None
    options = [unit for unit in _UNIT_OPTIONS if unit <= vacant * 0.6]
    if not options or rng.random() < 0.08:
        return vacant
    return rng.choice(options[:6])


def generate_buildings(count: int, *, seed: int) -> list[dict[str, object]]:
    """Return `count` demo buildings spread over all districts, the same for the same seed."""
    rng = random.Random(seed)
    used: set[str] = set()
    records: list[Record] = []
    for number, info in enumerate(_quota(rng, DISTRICTS, _DISTRICT_WEIGHTS, count), start=1):
        place = rng.choice(info.places)
        place_name = rng.choice(place.names)
        road = rng.choice(place.roads)
        grade = _pick(rng, _GRADES, _GRADE_WEIGHTS)
        fit_out = _pick(rng, _FIT_OUTS, _FIT_OUT_BY_GRADE[grade])
        vacant = _vacant_area(rng, grade)
        low, high = _RENT_BAND[grade]
        rent = info.rent[0] + rng.uniform(low, high) * (info.rent[1] - info.rent[0])
        rent *= {"move_in_ready": 1.08, "basic": 1.0, "shell": 0.9}[fit_out]
        metro = rng.choice(place.metro) if place.metro else None
        amenities = _building_amenities(rng, metro is not None, grade)
        declared: list[Industry] = []
        if rng.random() < 0.55:
            declared = _focus_industries(rng, info, _pick(rng, (1, 2, 3), (55, 35, 10)))
        focus = declared
        if not focus and rng.random() < 0.8:
            focus = _focus_industries(rng, info, rng.choice((1, 1, 2)))
        located = rng.random() >= 0.04
        available = date(2026, 1, 1) + timedelta(days=rng.randrange(730))
        if rng.random() < 0.5:
            available = available.replace(day=1)
        records.append(
            {
                "id": f"B{number:05d}",
                "name": _building_name(rng, place.name, used),
                "district": info.district.value,
                "address": f"重庆市{info.district.value.removeprefix('重庆')}{road} {_street_number(rng)} 号",
                "lat": round(place.lat + rng.uniform(-0.012, 0.012), 6) if located else None,
                "lon": round(place.lon + rng.uniform(-0.014, 0.014), 6) if located else None,
                "vacant_area_m2": vacant,
                "min_unit_m2": _min_unit(rng, vacant),
                "rent_yuan_m2_month": min(150.0, max(30.0, round(rent * 2) / 2)),
                "fit_out": fit_out,
                "grade": grade,
                "focus_industries": [industry.value for industry in declared] or None,
                "amenities": amenities or None,
                "incentives": _incentives(rng, fit_out) if rng.random() < 0.88 else None,
                "description": _building_description(
                    rng,
                    info,
                    place_name,
                    road,
                    grade,
                    amenities,
                    metro,
                    focus,
                ),
                "available_from": _iso(available) if rng.random() < 0.4 else None,
            }
        )
    return records


# ---------------------------------------------------------------- enterprises

_INDUSTRY_ORDER = [words.industry for words in vf.INDUSTRY_WORDS]
_INDUSTRY_WEIGHTS = [words.weight for words in vf.INDUSTRY_WORDS]
_FIRM_NAMES = _Weighted([pattern for pattern, _ in vf.NAME_PATTERNS], [w for _, w in vf.NAME_PATTERNS])
_LEADING_NAMES = _Weighted(
    [pattern for pattern, _ in vf.LEADING_NAME_PATTERNS], [w for _, w in vf.LEADING_NAME_PATTERNS]
)
_ORIGINS: tuple[str | None, ...] = (
    Origin.outside_city.value,
    Origin.in_city_relocation.value,
    Origin.new_startup.value,
    None,
)
_ORIGIN_WEIGHTS = (42, 20, 30, 8)
_TAGGED_ORIGIN_WEIGHTS = (55, 35, 0, 10)
_DISTRICT_PREFERENCE = {
    industry: [3 if industry in info.favoured else 1 for info in DISTRICTS] for industry in Industry
}
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_BODY = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def _org_code(rng: random.Random, year: int) -> str:
    """Return a 9-character organisation code (GB 11714 check digit), new-style `MA…` after 2015."""
    if year >= 2015:
        body = "MA" + rng.choice("56789") + "".join(rng.choice(_ORG_BODY) for _ in range(5))
    else:
        body = "".join(rng.choice("0123456789") for _ in range(8))
    total = sum(int(char, 36) * weight for char, weight in zip(body, _ORG_WEIGHTS, strict=True))
    remainder = 11 - total % 11
    check = "X" if remainder == 10 else "0" if remainder == 11 else str(remainder)
    return body + check


def _credit_code(rng: random.Random, year: int, district: District | None, used: set[str]) -> str:
    """Return a valid unified social credit code registered in Chongqing, not used before."""
    code = _new_credit_code(rng, year, district)
    while code in used:
        code = _new_credit_code(rng, year, district)
    used.add(code)
    return code


def _new_credit_code(rng: random.Random, year: int, district: District | None) -> str:
    """Return a valid unified social credit code registered in Chongqing."""
    roll = rng.random()
    if roll < 0.1:
        region = rng.choice(OTHER_REGION_CODES)
    elif roll < 0.35 or district is None:
        region = "500000"
    else:
        region = rng.choice(DISTRICT_INFO[district].region_codes)
    first17 = "91" + region + _org_code(rng, year)
    return first17 + check_character(first17)


def _firm_name(rng: random.Random, words: vf.IndustryWords, leading: bool, used: set[str]) -> tuple[str, str]:
    """Return a company name not used before and a short name for prose."""
    patterns = _LEADING_NAMES if leading else _FIRM_NAMES
    for attempt in range(60):
        brand = rng.choice(vf.BRAND_FIRST) + rng.choice(vf.BRAND_SECOND)
        if attempt >= 30:
            brand += rng.choice(vf.BRAND_SECOND)
        if brand[0] == brand[1]:
            continue
        word = rng.choice(words.name_words)
        name = patterns.draw(rng).format(b=brand, w=word)
        if name not in used:
            used.add(name)
            return name, brand + vf.SHORT_FORMS.get(word, "科技")
    name = ""
    while not name or name in used:
        brand = "".join(rng.choice(vf.BRAND_FIRST + vf.BRAND_SECOND) for _ in range(4))
        name = f"重庆{brand}{words.name_words[0]}有限公司"
    used.add(name)
    return name, brand


def _headcount(rng: random.Random, tags: list[str], origin: str | None) -> int:
    """Return a head count from 3 to 3,000, mostly small; leading firms are big."""
    if "leading" in tags:
        return rng.randint(500, 3000)
    if "little_giant" in tags or "hidden_champion" in tags:
        return rng.randint(80, 600)
    centre = math.log(60 if "specialized_sme" in tags else 8 if origin == "new_startup" else 20)
    return int(min(1200.0, max(3.0, math.exp(rng.gauss(centre, 0.85)))))


def _tags(rng: random.Random) -> list[str]:
    """Return the recognitions of a firm: mostly none."""
    roll = rng.random()
    if roll < 0.02:
        return [EnterpriseTag.leading.value]
    if roll < 0.05:
        little = [EnterpriseTag.specialized_sme.value, EnterpriseTag.little_giant.value]
        return little if rng.random() < 0.6 else [EnterpriseTag.little_giant.value]
    if roll < 0.07:
        return [EnterpriseTag.hidden_champion.value]
    if roll < 0.17:
        return [EnterpriseTag.specialized_sme.value]
    return []


def _founding_year(rng: random.Random, origin: str | None, tags: list[str]) -> int:
    """Return the year a firm was founded; startups are new, leading firms old."""
    if origin == "new_startup":
        return rng.choice((2025, 2026, 2026))
    if "leading" in tags:
        return rng.randint(1998, 2012)
    return max(1996, 2026 - int(rng.expovariate(1 / 6)))


def _enterprise_description(
    rng: random.Random,
    words: vf.IndustryWords,
    short: str,
    year: int,
    tags: list[str],
    origin: str | None,
    headcount: int,
    area: float | None,
    district: District,
    registered: bool,
) -> str:
    """Write one to three sentences on what a firm does, usually without naming its industry."""
    focus = rng.choice(words.focuses)
    values: dict[str, object] = {
        "f": focus.text,
        "s": short,
        "y": year,
        "l": words.industry.label,
        "e": headcount,
        "x": int(area) if area else 0,
        "k": rng.randint(5, 120),
        "n": rng.choice((10, 10, 20, 30)) if headcount < 20 else rng.randint(2, 30) * 10,
        "m": rng.randint(1, 30),
        "j": rng.randint(8, 40),
        "v": rng.randint(5, 80),
        "t": rng.randint(10, 80),
        "a": rng.choice(words.plans),
        "h": rng.choice(HOME_CITIES),
        "u": rng.choice(vf.UNITS),
        "g": rng.choice(vf.FOUNDERS),
    }
    startup = origin == "new_startup"
    if "leading" in tags:
        intro = rng.choice(vf.LEADING_INTROS)
    elif startup:
        intro = rng.choice(vf.STARTUP_INTROS)
    elif rng.random() < 0.18:
        intro = rng.choice(vf.LABELLED_INTROS)
    else:
        intro = rng.choice(vf.INTROS)
    sentences = [intro]
    products = rng.sample(focus.products, 2)
    customers = rng.sample(focus.customers, 2)
    values.update(p=products[0], q=products[1], c=customers[0], d=customers[1])
    optional: list[str] = []
    if rng.random() < 0.75:
        optional.append(rng.choice(vf.STARTUP_PRODUCT_SENTENCES if startup else vf.PRODUCT_SENTENCES))
    tag_lines = [line for tag in tags for line in vf.TAG_QUALIFICATIONS.get(tag, ())]
    if tag_lines and rng.random() < 0.8:
        optional.append(rng.choice(tag_lines))
    elif rng.random() < 0.25:
        optional.append(rng.choice(vf.STARTUP_QUALIFICATIONS if startup else vf.QUALIFICATIONS))
    if rng.random() < 0.6:
        optional.append(_origin_sentence(rng, origin, area, district, registered, values))
    if len(optional) > 2:
        optional.pop(rng.randrange(len(optional) - 1))
    sentences.extend(optional)
    return _spaced("".join(sentence.format(**values) for sentence in sentences))


def _origin_sentence(
    rng: random.Random,
    origin: str | None,
    area: float | None,
    district: District,
    registered: bool,
    values: dict[str, object],
) -> str:
    """Return a sentence about where the firm comes from and what it plans."""
    info = DISTRICT_INFO[district]
    values["r"] = district.value + (rng.choice(info.places).name if rng.random() < 0.5 else "")
    if origin == "outside_city":
        templates = vf.OUTSIDE_CITY
    elif origin == "in_city_relocation":
        templates = vf.IN_CITY
    elif origin == "new_startup":
        templates = vf.NEW_STARTUP
    else:
        templates = vf.PLAN_ONLY
    usable = [
        text
        for text in templates
        if (area is not None or "{x}" not in text) and not (registered and "工商注册" in text)
    ]
    return rng.choice(usable)


def generate_enterprises_with_industries(count: int, *, seed: int) -> list[tuple[Record, Industry]]:
    """Return demo enterprises, each with the industry it was generated from (declared or not)."""
    rng = random.Random(seed)
    used: set[str] = set()
    codes: set[str] = set()
    rows: list[tuple[Record, Industry]] = []
    districts = [info.district for info in DISTRICTS]
    for number, industry in enumerate(_quota(rng, _INDUSTRY_ORDER, _INDUSTRY_WEIGHTS, count), start=1):
        words = vf.WORDS_BY_INDUSTRY[industry]
        tags = _tags(rng)
        leading = "leading" in tags
        if leading and rng.random() < 0.8:
            origin: str | None = Origin.outside_city.value
        else:
            origin = _pick(rng, _ORIGINS, _TAGGED_ORIGIN_WEIGHTS if tags else _ORIGIN_WEIGHTS)
        year = _founding_year(rng, origin, tags)
        headcount = _headcount(rng, tags, origin)
        name, short = _firm_name(rng, words, leading, used)
        home = _pick(rng, districts, _DISTRICT_PREFERENCE[industry])
        growth = rng.uniform(1.0, 1.6) if origin in ("outside_city", "in_city_relocation") else 1.0
        # Big firms only move a team (a regional HQ, an R&D centre) into a building, not the whole company.
        staff_here = headcount if headcount <= 300 else rng.randint(150, min(headcount, 900))
        area = float(max(20, round(staff_here * rng.uniform(8.0, 15.0) * growth / 10) * 10))
        required = area if rng.random() < 0.88 else None
        declared = [industry]
        if rng.random() < 0.12:
            declared.append(rng.choice(vf.RELATED[industry]))
        preferred: list[str] = []
        for _ in range(_pick(rng, (0, 1, 2, 3), (30, 35, 22, 13))):
            choice = (
                home
                if not preferred and origin == "in_city_relocation"
                else _pick(rng, districts, _DISTRICT_PREFERENCE[industry])
            )
            if choice.value not in preferred:
                preferred.append(choice.value)
        has_rent = rng.random() < 0.78
        has_code = rng.random() < (0.5 if origin == "new_startup" else 0.8)
        record: Record = {
            "id": f"E{number:06d}",
            "name": name,
            "credit_code": _credit_code(rng, year, home, codes) if has_code else None,
            "description": _enterprise_description(
                rng, words, short, year, tags, origin, headcount, required, home, has_code
            ),
            "industries": [code.value for code in declared] if rng.random() < 0.35 else None,
            "headcount": headcount,
            "required_area_m2": required,
            "max_rent_yuan_m2_month": float(round(rng.triangular(35, 160, 70))) if has_rent else None,
            "preferred_districts": preferred or None,
            "needs_move_in_ready": rng.random() < (0.6 if headcount < 50 else 0.3),
            "origin": origin,
            "tags": tags or None,
        }
        rows.append((record, industry))
    return rows


def generate_enterprises(count: int, *, seed: int) -> list[dict[str, object]]:
    """Return `count` demo enterprises of all twelve industries, the same for the same seed."""
    return [record for record, _ in generate_enterprises_with_industries(count, seed=seed)]


# ---------------------------------------------------------------- scenarios

_STATUSES = (
    ScenarioStatus.open.value,
    ScenarioStatus.draft.value,
    ScenarioStatus.closed.value,
    ScenarioStatus.awarded.value,
)
_STATUS_WEIGHTS = (75, 10, 10, 5)
_BATCHES = (ScenarioBatch.collect.value, ScenarioBatch.develop.value, ScenarioBatch.expand.value)
_BATCH_WEIGHTS: dict[str, tuple[int, int, int]] = {
    "open": (50, 35, 15),
    "draft": (1, 0, 0),
    "closed": (40, 40, 20),
    "awarded": (0, 60, 40),
}
_PROBLEMS = _Weighted(
    vs.PROBLEMS, [0.5 if problem.domain == ScenarioDomain.other else 1.0 for problem in vs.PROBLEMS]
)
_OWNERS_BY_PROBLEM: dict[int, _Weighted[vs.Owner]] = {
    index: _Weighted(
        [owner for owner in vs.OWNERS if set(owner.sectors) & set(problem.sectors)],
        [owner.weight for owner in vs.OWNERS if set(owner.sectors) & set(problem.sectors)],
    )
    for index, problem in enumerate(vs.PROBLEMS)
}
_MISSING_FIELDS = ("budget_wan_yuan", "scope", "owner")
_REQUIREMENTS = {
    OwnerType.government: vs.GOV_REQUIREMENTS,
    OwnerType.soe: vs.SOE_REQUIREMENTS,
    OwnerType.enterprise: vs.FIRM_REQUIREMENTS,
}


def _budget(rng: random.Random, problem: vs.Problem, owner: vs.Owner) -> float:
    """Return a budget in 万元 between 20 and 5,000, rounded as tenders are."""
    low, high = problem.budget
    value = math.exp(rng.uniform(math.log(low), math.log(high)))
    if owner.level.value == "district":
        value *= 0.6
    value = min(5000.0, max(20.0, value))
    step = 1 if value < 100 else 5 if value < 1000 else 50
    return float(max(20, round(value / step) * step))


def _deadline(rng: random.Random, status: str, reference: date) -> date | None:
    """Return a deadline: mostly within a year after the reference date for open calls."""
    if status == "open":
        if rng.random() < 0.85:
            return reference + timedelta(days=rng.randint(10, 360))
        return reference - timedelta(days=rng.randint(5, 120))
    if status == "draft":
        return reference + timedelta(days=rng.randint(30, 360)) if rng.random() < 0.5 else None
    if status == "closed":
        return reference - timedelta(days=rng.randint(10, 330))
    return reference - timedelta(days=rng.randint(60, 400))


def _unused_title(title: str, used: dict[str, int]) -> str:
    """Return the title, or a phased variant of it (二期, 试点, then a number) when it is taken."""
    base = title
    repeats = used.get(base, 0)
    while title in used:
        repeats += 1
        phase = repeats - 1
        title = base + (vs.TITLE_SUFFIXES[phase] if phase < len(vs.TITLE_SUFFIXES) else f"（{phase + 2}）")
    used[base] = repeats
    used[title] = used.get(title, 0)
    return title


def _draw_scenario(
    rng: random.Random, used: dict[str, int]
) -> tuple[vs.Problem, vs.Owner, str, str, int | None]:
    """Draw a problem, an owner, a site and a title not used before; return them with the text variant."""
    for attempt in range(8):
        index = rng.choices(range(len(vs.PROBLEMS)), cum_weights=_PROBLEMS.cumulative)[0]
        problem = vs.PROBLEMS[index]
        owner = _OWNERS_BY_PROBLEM[index].draw(rng)
        site = rng.choice(owner.sites)
        title_index = rng.randrange(len(problem.titles))
        title = problem.titles[title_index].format(s=site)
        if title in used and attempt < 7:
            continue
        title = _unused_title(title, used)
        theme = problem.theme_of(title_index)
        if theme is None and not problem.mixable:
            theme = rng.randrange(len(problem.pains))
        return problem, owner, site, title, theme
    raise AssertionError("unreachable")


def generate_scenarios(count: int, *, seed: int, reference_date: date) -> list[dict[str, object]]:
    """Return `count` demo scenarios; open ones always have an owner, a scope and a budget."""
    rng = random.Random(seed)
    used: dict[str, int] = {}
    records: list[Record] = []
    districts = [info.district for info in DISTRICTS]
    for number, status in enumerate(_quota(rng, _STATUSES, _STATUS_WEIGHTS, count), start=1):
        problem, owner, site, title, theme = _draw_scenario(rng, used)
        values = {
            "s": site,
            "n": rng.randint(3, 20),
            "m": rng.randrange(30, 600, 10),
            "p": rng.randint(8, 30),
            "t": rng.choice((6, 8, 10, 12, 12, 18, 24)),
        }
        if theme is None:
            pain, build = rng.choice(problem.pains), rng.choice(problem.builds)
            scope = rng.choice(problem.scopes)
        else:
            pain, build, scope = problem.pains[theme], problem.builds[theme], problem.scopes[theme]
        requirements = _REQUIREMENTS[owner.owner_type]
        parts = [pain, build]
        if rng.random() < 0.7:
            parts.append(rng.choice(requirements))
        missing: set[str] = set()
        if status == "draft":
            missing.add(_pick(rng, _MISSING_FIELDS, (50, 30, 20)))
            if rng.random() < 0.2:
                missing.add(rng.choice(_MISSING_FIELDS))
            parts.extend(vs.DRAFT_NOTES[field] for field in _MISSING_FIELDS if field in missing)
        district = owner.district
        if owner.level.value == "city" and district is None and rng.random() < 0.25:
            district = rng.choice(districts)
        declared = sorted(
            rng.sample(problem.industries, rng.randint(1, len(problem.industries))), key=_INDUSTRY_ORDER.index
        )
        deadline = _deadline(rng, status, reference_date)
        records.append(
            {
                "id": f"S{number:05d}",
                "title": _spaced(title),
                "owner": None if "owner" in missing else owner.name,
                "owner_type": None if "owner" in missing else owner.owner_type.value,
                "level": owner.level.value,
                "district": district.value if district else None,
                "domain": problem.domain.value,
                "description": _spaced("".join(part.format(**values) for part in parts)),
                "scope": None if "scope" in missing else _spaced(scope.format(**values)),
                "industries": [industry.value for industry in declared] if rng.random() < 0.65 else None,
                "budget_wan_yuan": None if "budget_wan_yuan" in missing else _budget(rng, problem, owner),
                "deadline": _iso(deadline) if deadline else None,
                "batch": _pick(rng, _BATCHES, _BATCH_WEIGHTS[status]),
                "status": status,
            }
        )
    return records


# ---------------------------------------------------------------- catalogue


def _buildings(count: int, seed: int) -> list[Record]:
    """Generate buildings for the `gen` command."""
    return generate_buildings(count, seed=seed)


def _enterprises(count: int, seed: int) -> list[Record]:
    """Generate enterprises for the `gen` command."""
    return generate_enterprises(count, seed=seed)


def _scenarios(count: int, seed: int) -> list[Record]:
    """Generate scenarios relative to the demo reference date for the `gen` command."""
    return generate_scenarios(count, seed=seed, reference_date=DEMO_REFERENCE_DATE)


GENERATORS: dict[str, Generator] = {
    "buildings": _buildings,
    "enterprises": _enterprises,
    "scenarios": _scenarios,
}


def demo_catalogue() -> dict[str, list[dict[str, object]]]:
    """Return the bundled demo data set: every kind at its demo size with the demo seed."""
    return {kind: GENERATORS[kind](size, DEMO_SEED) for kind, size in DEMO_SIZES.items()}
