"""The zoning part of `manage.py bench`: the proposal of teams and zones for a community of 600
members and 5,000 households (issue 3: under a second), built in memory, no database.

The community is shaped like a real one (S1's 鸿翔 and 江濱 communities: 300-600 members): several
estates of buildings from 6 to 33 floors with one to three units of two flats a floor, some buildings
where no member lives, about one member in ten asking for fewer duties.
"""

import random
import time

from huijia.members.zoning import HouseholdIn, MemberIn, propose

TARGET_MS = 1000.0


def build_community(*, members: int = 600, households: int = 5000, seed: int = 3) -> dict:
    """Members, households and names of a generated community (deterministic for a seed)."""
    rnd = random.Random(seed)
    rows: list[HouseholdIn] = []
    building_names: dict[int, str] = {}
    estate_names: dict[int, str] = {}
    estate, building, lived_in = 0, 0, []
    while len(rows) < households:
        estate += 1
        estate_names[estate] = f"第{estate}小区"
        for number in range(1, rnd.randint(4, 9)):
            building += 1
            building_names[building] = f"{number}栋"
            floors, units = rnd.randint(6, 33), rnd.randint(1, 3)
            start = len(rows)
            for unit in range(1, units + 1):
                for floor in range(1, floors + 1):
                    for flat in (1, 2):
                        rows.append(
                            HouseholdIn(
                                len(rows) + 1, building, estate, f"{unit}单元", floor, f"{floor}0{flat}"
                            )
                        )
            if rnd.random() > 0.15:  # about one building in seven has no member living in it
                lived_in.extend(rows[start:])
            if len(rows) >= households:
                break
    rows = rows[:households]
    lived_in = [h for h in lived_in if h.id <= households]
    homes = rnd.sample(lived_in, members)
    people = [
        MemberIn(i + 1, h.building_id, h.floor, rnd.random() < 0.1, household_id=h.id)
        for i, h in enumerate(homes)
    ]
    return {
        "members": people,
        "households": rows,
        "building_names": building_names,
        "estate_names": estate_names,
    }


def run(*, runs: int, warmup: int) -> tuple[dict, list[float]]:
    """What was proposed for the generated community, and the time of each of `runs` proposals
    (seconds) after `warmup` untimed ones."""
    community = build_community()
    for _ in range(warmup):
        propose(**community)
    samples = []
    proposal = None
    for _ in range(runs):
        started = time.perf_counter()
        proposal = propose(**community)
        samples.append(time.perf_counter() - started)
    held = [h for t in proposal.teams for h in t.household_ids]
    members = community["members"]
    facts = {
        "members": len(members),
        "light_duty": sum(m.light_duty for m in members),
        "households": len(community["households"]),
        "estates": len(community["estate_names"]),
        "buildings": len(community["building_names"]),
        "buildings_without_members": len(community["building_names"]) - len({m.building_id for m in members}),
        "teams": len(proposal.teams),
        "covered_once": len(held) == len(set(held)) == len(community["households"]),
    }
    return facts, samples
