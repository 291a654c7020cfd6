"""Benchmark of the member import against issue 2's target: 100,000 members from .xlsx in at most 2× the
time openpyxl alone needs to read the file (read-only mode), with peak memory under 500 MB.

`run(rows)`, for each file style (as Excel saves it, and as openpyxl saves it: the issue's reference),
prepares what the file refers to (a community with enough households, a staff account on
it, a work unit), writes a realistic member file (valid ID numbers, mobiles, addresses, skills), then
times, each in a fresh subprocess so that neither warms the other:
- openpyxl's bare read-only pass over every row of the file (the floor no import can go below);
- the full import job (read, validate, encrypt, write, commit), as the task worker runs it.
Peak memory is each process's own high-water mark (VmHWM); the import's figure adds the reader process
it starts for large files. Members left by the previous run are deleted first, so every run measures a
first import of 100,000 new members.

Used by the benchmark command; also runnable alone: `python -m huijia.core.bench_import [rows]`.
"""

import contextlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

from django.db import DatabaseError
from openpyxl.utils import get_column_letter

from huijia.core.personal import id_check_digit

TARGET_RATIO = 2.0
TARGET_RSS_MB = 500
HOUSEHOLDS_PER_BUILDING = 50
REGION = "710101"  # a region code no seed data uses, so bench members never clash with others
CITY, DISTRICT, STREET = "导入基准市", "基准区", "基准街道"
COMMUNITY, ESTATE = "导入基准社区", "导入基准小区"
UNIT_NAME = "导入基准单位"
USERNAME = "bench_importer"
HEADER = [
    "姓名",
    "身份证号",
    "手机号",
    "工作单位",
    "社区",
    "小区",
    "楼栋",
    "单元",
    "房号",
    "专长",
    "空闲时间",
]
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
)
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国红梅志海燕春文辉玉晓东"
SKILLS = ["医疗", "法律", "水电维修", "教育辅导", "心理咨询", "文艺", "驾驶", "电脑维修"]
FREE_TIME = ["周末", "工作日晚上", "节假日", "时间灵活"]


def _id_number(i: int) -> str:
    day = 1 + i // 1000  # 1,000 serials per birth date, 1960-01-01 onwards
    year, rest = 1960 + day // 336, day % 336
    first17 = f"{REGION}{year}{1 + rest // 28:02d}{1 + rest % 28:02d}{i % 1000:03d}"
    return first17 + id_check_digit(first17)


def _room(i: int) -> tuple[str, str]:
    k = i % HOUSEHOLDS_PER_BUILDING
    return f"{1 + i // HOUSEHOLDS_PER_BUILDING}栋", f"{1 + k // 2:02d}{1 + k % 2:02d}"


def _members(rows: int, seed: int):
    rnd = random.Random(seed)
    yield HEADER
    for i in range(rows):
        building, room = _room(i)
        name = rnd.choice(SURNAMES) + "".join(rnd.choice(GIVEN) for _ in range(rnd.choice((1, 2))))
        skills = "、".join(rnd.sample(SKILLS, rnd.choice((0, 1, 2))))
        address = [COMMUNITY, ESTATE, building, "1单元", room]
        yield [name, _id_number(i), f"13{i:09d}", UNIT_NAME, *address, skills, rnd.choice(FREE_TIME)]


# --- an .xlsx as Excel and WPS save it ------------------------------------------------------------
# openpyxl writes inline strings and no <dimension>, which makes reading its own files about twice as
# slow; measuring against such a file would flatter the import, so the parts are written here.

_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_PKG = "http://schemas.openxmlformats.org/package/2006"
_DOC = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_RELS = "application/vnd.openxmlformats-package.relationships+xml"


def write_member_file(path: Path, rows: int, seed: int = 7) -> None:
    """A member file as Excel saves it (shared strings, a <dimension>), one member per row."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        strings = _write_sheet(archive, _members(rows, seed), rows + 1, len(HEADER))
        shared = "".join(f"<si><t>{escape(s)}</t></si>" for s in strings)
        count = len(strings)
        archive.writestr(
            "xl/sharedStrings.xml",
            f'{_XML}<sst xmlns="{_MAIN}" count="{count}" uniqueCount="{count}">{shared}</sst>',
        )
        for name, text in _package_parts("党员").items():
            archive.writestr(name, text)


def _write_sheet(archive: zipfile.ZipFile, rows, height: int, width: int) -> dict[str, int]:
    strings: dict[str, int] = {}
    with archive.open("xl/worksheets/sheet1.xml", "w") as sheet:
        dimension = f"A1:{get_column_letter(width)}{height}"
        sheet.write(f'{_XML}<worksheet xmlns="{_MAIN}"><dimension ref="{dimension}"/><sheetData>'.encode())
        for number, row in enumerate(rows, start=1):
            cells = []
            for col, value in enumerate(row, start=1):
                if value in (None, ""):
                    continue
                index = strings.setdefault(str(value), len(strings))
                cells.append(f'<c r="{get_column_letter(col)}{number}" t="s"><v>{index}</v></c>')
            sheet.write(f'<row r="{number}">{"".join(cells)}</row>'.encode())
        sheet.write(b"</sheetData></worksheet>")
    return strings


def _package_parts(title: str) -> dict[str, str]:
    relationship = '<Relationship Id="{id}" Type="{doc}/{kind}" Target="{target}"/>'
    return {
        "[Content_Types].xml": (
            f'{_XML}<Types xmlns="{_PKG}/content-types">'
            f'<Default Extension="rels" ContentType="{_RELS}"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{_TYPE}.sheet.main+xml"/>'
            f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_TYPE}.worksheet+xml"/>'
            f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_TYPE}.sharedStrings+xml"/></Types>'
        ),
        "_rels/.rels": f'{_XML}<Relationships xmlns="{_PKG}/relationships">'
        + relationship.format(id="rId1", doc=_DOC, kind="officeDocument", target="xl/workbook.xml")
        + "</Relationships>",
        "xl/workbook.xml": (
            f'{_XML}<workbook xmlns="{_MAIN}" xmlns:r="{_DOC}">'
            f'<sheets><sheet name="{escape(title)}" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": f'{_XML}<Relationships xmlns="{_PKG}/relationships">'
        + relationship.format(id="rId1", doc=_DOC, kind="worksheet", target="worksheets/sheet1.xml")
        + relationship.format(id="rId2", doc=_DOC, kind="sharedStrings", target="sharedStrings.xml")
        + "</Relationships>",
    }


# --- the data the file refers to --------------------------------------------------------------------


def _prepare(rows: int):
    """The community, households, work unit and staff account the file needs; old bench members go."""
    from django.db import connection, transaction

    from huijia.accounts.models import RoleGrant, User
    from huijia.accounts.roles import Role
    from huijia.grid.models import Area, AreaKind, Household
    from huijia.grid.services import _new_area, get_or_create_child
    from huijia.members.models import Member, Registration
    from huijia.orgs.models import WorkUnit

    with transaction.atomic():
        node = Area.objects.filter(parent=None, name=CITY).first()
        node = node or _new_area(parent=None, kind=AreaKind.CITY, name=CITY)
        for kind, name in ((AreaKind.DISTRICT, DISTRICT), (AreaKind.STREET, STREET)):
            node, _ = get_or_create_child(parent=node, kind=kind, name=name)
        community, _ = get_or_create_child(parent=node, kind=AreaKind.COMMUNITY, name=COMMUNITY)
        estate, _ = get_or_create_child(parent=community, kind=AreaKind.ESTATE, name=ESTATE)
        _buildings_and_households(estate, -(-rows // HOUSEHOLDS_PER_BUILDING), Area, AreaKind, Household)
        unit, _ = WorkUnit.objects.get_or_create(name=UNIT_NAME)
        user = User.objects.filter(username=USERNAME).first() or User.objects.create_user(
            username=USERNAME, password=None, display_name="导入基准"
        )
        RoleGrant.objects.get_or_create(user=user, role=Role.COMMUNITY, area=community)
        _delete_members(connection, Member, Registration, unit.pk)
    if connection.vendor == "postgresql":
        tables = [Area, Household, Member, Member.skills.through, Registration, Registration.skills.through]
        _settle(connection, [m._meta.db_table for m in tables])
    return user


def _buildings_and_households(estate, buildings: int, Area, AreaKind, Household) -> None:
    have = set(Area.objects.filter(parent=estate).values_list("name", flat=True))
    new = [
        Area(
            parent=estate,
            kind=AreaKind.BUILDING,
            name=name,
            path=f"~bench-{estate.pk}-{b}",
            depth=estate.depth + 1,
        )
        for b in range(1, buildings + 1)
        if (name := f"{b}栋") not in have
    ]
    Area.objects.bulk_create(new, batch_size=2000)
    for area in new:
        area.path = f"{estate.path}{area.pk}/"
    Area.objects.bulk_update(new, ["path"], batch_size=2000)
    by_name = dict(Area.objects.filter(parent=estate).values_list("name", "pk"))
    households = []
    for i in range(buildings * HOUSEHOLDS_PER_BUILDING):
        building, room = _room(i)
        households.append(
            Household(building_id=by_name[building], unit="1单元", floor=int(room[:2]), room=room)
        )
    Household.objects.bulk_create(households, batch_size=5000, ignore_conflicts=True)


def _delete_members(connection, member_model, registration_model, unit_id: int) -> None:
    """Raw deletes: Django's cascade collector would spend minutes on 100,000 members."""
    registrations = registration_model._meta.db_table
    members = f"SELECT id FROM {member_model._meta.db_table} WHERE work_unit_id = %s"  # noqa: S608
    theirs = f"SELECT id FROM {registrations} WHERE member_id IN ({members})"  # noqa: S608
    statements = [
        f"UPDATE {registrations} SET previous_id = NULL WHERE previous_id IN ({theirs})",  # noqa: S608
        f"DELETE FROM {registration_model.skills.through._meta.db_table} WHERE registration_id IN ({theirs})",  # noqa: S608
        f"DELETE FROM {registrations} WHERE id IN ({theirs})",  # noqa: S608
        f"DELETE FROM {member_model.skills.through._meta.db_table} WHERE member_id IN ({members})",  # noqa: S608
        f"DELETE FROM {member_model._meta.db_table} WHERE id IN ({members})",  # noqa: S608
    ]
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement, [unit_id])


def _settle(connection, tables: list[str]) -> None:
    """Fresh statistics (autovacuum keeps them in production) and no checkpoint owed by the set-up,
    so that the import is not charged for cleaning up after the previous run."""
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(table)}")
        if os.environ.get("HUIJIA_BENCH_CHECKPOINT"):
            with contextlib.suppress(DatabaseError):  # needs superuser or pg_checkpoint
                cursor.execute("CHECKPOINT")


# --- measuring ----------------------------------------------------------------------------------------


def _child(args: list[str]) -> dict:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "huijia.settings"),
    }
    done = subprocess.run(  # noqa: S603 (our own interpreter and module)
        [sys.executable, "-m", "huijia.core.bench_import", *args],
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"benchmark child failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def write_member_file_openpyxl(path: Path, rows: int, seed: int = 7) -> None:
    """The same members saved by openpyxl itself (inline strings, no <dimension>): slower to read."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("党员")
    for row in _members(rows, seed):
        sheet.append(row)
    workbook.save(path)


FILE_STYLES = {
    # as Excel and WPS save a sheet: what community offices upload; about 4 s to read here
    "excel": write_member_file,
    # as openpyxl saves it: the reference ("about 11 s" for openpyxl to read)
    "openpyxl": write_member_file_openpyxl,
}


def run(rows: int = 100_000, styles: tuple[str, ...] = tuple(FILE_STYLES)) -> dict:
    """Times openpyxl's bare read and the full import of `rows` members, for each file style."""
    from django.db import connection

    files = {style: _run_style(rows, style) for style in styles}
    return {
        "rows": rows,
        "database": connection.vendor,
        "target_ratio": TARGET_RATIO,
        "target_rss_mb": TARGET_RSS_MB,
        "files": files,
        "ok": all(f["ok"] for f in files.values()),
    }


def _run_style(rows: int, style: str) -> dict:
    from django.core.files import File

    from huijia.core.models import ImportJob, ImportKind, ImportStatus

    user = _prepare(rows)
    with tempfile.TemporaryDirectory(prefix="huijia-bench-") as tmp:
        path = Path(tmp) / f"members-{rows}.xlsx"
        started = time.perf_counter()
        FILE_STYLES[style](path, rows)
        write_seconds = time.perf_counter() - started
        bare = _child(["--read", str(path)])
        job = ImportJob(kind=ImportKind.MEMBERS, created_by=user, original_name=path.name)
        with path.open("rb") as f:
            job.file.save(path.name, File(f), save=True)
        imported = _child(["--job", str(job.pk)])
        file_bytes = path.stat().st_size
    job.refresh_from_db()
    ratio = imported["seconds"] / bare["seconds"]
    peak = imported["peak_rss_mb"] + imported["reader_peak_rss_mb"]
    return {
        "file_bytes": file_bytes,
        "write_file_seconds": round(write_seconds, 2),
        "openpyxl_read_seconds": round(bare["seconds"], 2),
        "openpyxl_peak_rss_mb": bare["peak_rss_mb"],
        "import_seconds": round(imported["seconds"], 2),
        "import_peak_rss_mb": imported["peak_rss_mb"],
        "reader_process_peak_rss_mb": imported["reader_peak_rss_mb"],
        "import_total_peak_rss_mb": round(peak, 1),
        "ratio": round(ratio, 2),
        "ok": job.status == ImportStatus.DONE and ratio <= TARGET_RATIO and peak < TARGET_RSS_MB,
        "status": job.status,
        "message": job.message,
        "errors": job.error_count,
        "summary": job.summary,
    }


def _high_water_mb() -> float:
    """This process's own peak resident memory (ru_maxrss would include the parent's at exec)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _bare_read(path: str) -> dict:
    from openpyxl import load_workbook

    started = time.perf_counter()
    workbook = load_workbook(path, read_only=True, data_only=True, keep_links=False)
    count = 0
    for _row in workbook.worksheets[0].iter_rows(values_only=True):
        count += 1
    workbook.close()
    return {"seconds": time.perf_counter() - started, "rows": count, "peak_rss_mb": _high_water_mb()}


def _import(job_id: int) -> dict:
    import resource

    import django

    django.setup()
    from huijia.core.tasks import execute_import

    started = time.perf_counter()
    status = execute_import(job_id=job_id)
    seconds = time.perf_counter() - started
    reader = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the reader process, if any
    return {
        "seconds": seconds,
        "status": status,
        "peak_rss_mb": _high_water_mb(),
        "reader_peak_rss_mb": reader,
    }


def main(argv: list[str]) -> None:
    if argv[:1] == ["--read"]:
        print(json.dumps(_bare_read(argv[1])))
    elif argv[:1] == ["--job"]:
        print(json.dumps(_import(int(argv[1]))))
    else:
        import django

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "huijia.settings")
        django.setup()
        print(json.dumps(run(int(argv[0]) if argv else 100_000), ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])
