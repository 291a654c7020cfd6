"""Names for generated data: people (Faker zh_CN, drawn once into pools), places and work units.

Faker costs tens of microseconds per call; 100,000 names come from combining pools of surnames and
given names drawn once, which is as varied as the data needs.
"""

import random
from collections.abc import Iterator

from faker import Faker

DISTRICTS = ("芙蓉区", "天心区", "岳麓区", "开福区", "雨花区", "望城区", "长沙县", "浏阳市", "宁乡市")
_PLACE_A = "东西南北中新金银玉青白红湘麓岳桃杏枫松竹梅兰荷桂星月云霞阳明德仁和安康泰福"
_PLACE_B = "湖塘坡岭山桥港垸园林湾洲坪冲井街门院亭阁台城府堤溪泉源路"
_ESTATE_SUFFIXES = ("小区", "花园", "家园", "苑", "新村", "公寓", "雅居", "名城")
_BUREAUS = (
    "教育局", "卫生健康局", "财政局", "人力资源和社会保障局", "住房和城乡建设局", "交通运输局",
    "市场监督管理局", "民政局", "司法局", "自然资源局", "生态环境局", "农业农村局", "商务局",
    "文化旅游体育局", "应急管理局", "统计局", "审计局", "医疗保障局", "城市管理和综合执法局",
    "退役军人事务局", "水利局", "科学技术局", "发展和改革局", "人民法院", "人民检察院",
)  # fmt: skip
_FIRMS = ("城市建设投资集团有限公司", "水务集团有限公司", "燃气有限公司", "公交集团有限公司",
          "轨道交通集团有限公司", "供电公司", "文化旅游投资有限公司", "国有资产经营有限公司")  # fmt: skip


class PersonNames:
    """Chinese full names combined from Faker zh_CN pools drawn once with a fixed seed."""

    def __init__(self, seed: int, surnames: int = 600, given: int = 1500) -> None:
        faker = Faker("zh_CN")
        faker.seed_instance(seed)
        self._surnames = [faker.last_name() for _ in range(surnames)]  # keeps Faker's frequency weights
        self._given = [faker.first_name() for _ in range(given)]
        self._rng = random.Random(seed)

    def take(self, count: int) -> list[str]:
        rng, surnames, given = self._rng, self._surnames, self._given
        return [rng.choice(surnames) + rng.choice(given) for _ in range(count)]


def place_names(rng: random.Random, suffix: str) -> Iterator[str]:
    """Distinct two- or three-character place names ending in `suffix` (社区, 街道...), in random order."""
    pairs = [a + b for a in _PLACE_A for b in _PLACE_B]
    rng.shuffle(pairs)
    yield from (p + suffix for p in pairs)
    triples = [a + b + c for a in _PLACE_A for b in _PLACE_A for c in _PLACE_B if a != b]
    rng.shuffle(triples)
    yield from (t + suffix for t in triples)


def estate_names(rng: random.Random, count: int) -> list[str]:
    """`count` distinct estate names (within one community)."""
    names: set[str] = set()
    while len(names) < count:
        names.add(rng.choice(_PLACE_A) + rng.choice(_PLACE_B) + rng.choice(_ESTATE_SUFFIXES))
    return sorted(names, key=lambda _: rng.random())


def work_unit_names(districts: list[str]) -> Iterator[tuple[str, str]]:
    """Endless distinct (name, kind) pairs: city and district bureaus, schools, hospitals, state firms."""
    for bureau in _BUREAUS:
        yield f"长沙市{bureau}", "organ"
    for district in districts:
        for bureau in _BUREAUS:
            yield f"{district}{bureau}", "organ"
    for firm in _FIRMS:
        yield f"长沙市{firm}", "state_firm"
    n = 0
    while True:
        n += 1
        yield f"长沙市第{n}中学", "institution"
        yield f"长沙市第{n}人民医院", "institution"
        for district in districts:
            yield f"{district}第{n}小学", "institution"
