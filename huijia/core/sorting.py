"""The order people count buildings, units and rooms in: 2栋 before 10栋, 1单元 before 2单元."""

import re
from functools import lru_cache


@lru_cache(maxsize=4096)
def natural_key(text: str | None) -> tuple:
    """Sort key comparing the runs of digits in a name as numbers (None and "" sort first)."""
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", text or "") if p)
