"""Certificates of volunteer service records (志愿服务记录证明): issue, PDF, public verification.

"Who records, certifies" (民政部令第67号): the certificate is issued in the name of the community the
member reports to (its Party committee, orgs.PartyOrg of kind community_committee, or "<社区名>党委"),
names the member, lists the service (date, content, hours, organiser) and the totals, and carries a
serial number and a QR code of the public verification page /v/cert/<token>/. The records are frozen
into the Certificate row when it is issued, so the PDF and the verification page always show what was
issued, whatever happens to the records later.

Who may issue: a member for themself; staff with MANAGE_VOLUNTEERING over the community a member
reports to, for that member. Anyone else gets NotFound, as for a record they may not see.

The PDF is drawn with reportlab in WenQuanYi Micro Hei (settings.HUIJIA_CJK_FONT), registered once per
process; 100 records take well under a second.
"""

import threading
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from io import BytesIO
from xml.sax.saxutils import escape

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from huijia.accounts.roles import Perm
from huijia.accounts.scope import Actor, get_visible, restrict
from huijia.accounts.services import audit
from huijia.core.errors import InvalidInput, NotFound
from huijia.core.personal import mask_name
from huijia.core.web import public_url
from huijia.members.models import Member
from huijia.orgs.models import OrgKind, PartyOrg
from huijia.volunteering.minimum import counted, period_bounds
from huijia.volunteering.models import Certificate, ServiceRecord
from huijia.volunteering.records import RECORD_RELATED, organiser_label

DEFAULT_CJK_FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
FONT_NAME = "HuijiaCJK"
SERIAL_PREFIX = "ZYFW"
EARLIEST = date(2000, 1, 1)
MAX_TOKEN = 64

_font_lock = threading.Lock()


# --- issuing ---------------------------------------------------------------------------------------


def _bad(field: str, message: str, code: str) -> InvalidInput:
    return InvalidInput(message, code=code, fields={field: [message]})


def check_period(period_from: date | None, period_to: date | None) -> tuple[date, date]:
    """The period to certify: this calendar year up to today by default; never in the future."""
    today = timezone.localdate()
    first = period_from or date(today.year, 1, 1)
    last = period_to or today
    if last > today:
        raise _bad("period_to", _("截止日期不能晚于今天"), "period_in_future")
    if first > last:
        raise _bad("period_from", _("起始日期不能晚于截止日期"), "period_order")
    if first < EARLIEST:
        raise _bad("period_from", _("起始日期不能早于2000年"), "period_too_early")
    return first, last


def _member_to_certify(actor: Actor, member_id: int | None) -> Member:
    """Oneself, or a member of a community where the actor manages volunteering; else NotFound."""
    if member_id is None or member_id == actor.member_id:
        if not actor.member_id:
            raise NotFound(_("只有报到党员可以开具志愿服务记录证明"))
        return Member.objects.select_related("community").get(pk=actor.member_id)
    member = Member.objects.select_related("community").filter(pk=member_id).first()
    if member is None or member.community is None:
        raise NotFound()
    if not actor.covers(Perm.MANAGE_VOLUNTEERING, member.community.path):
        raise NotFound()
    return member


def issuer_of(community) -> str:
    """The community's Party committee by name, or "<社区名>党委" when none is on file."""
    org = (
        PartyOrg.objects.filter(kind=OrgKind.COMMUNITY_COMMITTEE, area_id=community.pk)
        .order_by("pk")
        .values_list("name", flat=True)
        .first()
    )
    return org or f"{community.name}党委"


def _frozen(record: ServiceRecord) -> dict:
    return {
        "date": timezone.localdate(record.checked_in_at).isoformat(),
        "content": record.activity.title,
        "hours": f"{record.hours:.2f}",
        "organiser": organiser_label(record.activity),
    }


def serial_of(certificate: Certificate) -> str:
    return f"{SERIAL_PREFIX}-{timezone.localdate(certificate.issued_at).year}-{certificate.pk:08d}"


def issue_certificate(
    *,
    actor: Actor,
    member_id: int | None = None,
    period_from: date | None = None,
    period_to: date | None = None,
) -> Certificate:
    """Issues a certificate of the member's records that count (minimum.counted: closed, hours above
    zero) in the period (one transaction, audited).

    The records are copied into the row; a period without any such record is a clear error, since a
    certificate of nothing helps nobody (an open check-in or a record of 0 hours is not listed).
    """
    first, last = check_period(period_from, period_to)
    member = _member_to_certify(actor, member_id)
    start, end = period_bounds(first, last)
    records = list(
        ServiceRecord.objects.filter(
            counted(), member_id=member.pk, checked_in_at__gte=start, checked_in_at__lt=end
        )
        .select_related(*RECORD_RELATED)
        .order_by("checked_in_at", "pk")
    )
    if not records:
        raise _bad("period_from", _("这段时间内还没有已完成的志愿服务记录，暂时不能开具证明"), "no_records")
    community = member.community or records[-1].activity.community
    with transaction.atomic():
        certificate = Certificate.objects.create(
            serial=f"tmp-{member.pk}-{timezone.now().timestamp()}",
            member=member,
            community=community,
            issuer=issuer_of(community),
            member_name=member.name,
            period_from=first,
            period_to=last,
            records=[_frozen(r) for r in records],
            record_count=len(records),
            total_hours=sum((r.hours for r in records), Decimal("0.00")),
            issued_by_id=actor.user_id,
        )
        certificate.serial = serial_of(certificate)
        Certificate.objects.filter(pk=certificate.pk).update(serial=certificate.serial)
        audit(
            actor=actor,
            action="volunteer.certificate_issue",
            target=certificate,
            member=member.pk,
            serial=certificate.serial,
            records=len(records),
        )
    return certificate


# --- reading ---------------------------------------------------------------------------------------


def certificates_for(*, actor: Actor, member_id: int | None = None) -> QuerySet[Certificate]:
    """Certificates the actor may see (their own; staff their community's; a unit its members'),
    newest first; `member_id` narrows to one member."""
    qs = restrict(Certificate.objects.all(), actor)
    if member_id is not None:
        qs = qs.filter(member_id=member_id)
    return qs.order_by("-issued_at", "-pk")


def certificate_for(*, actor: Actor, certificate_id: int) -> Certificate:
    """One certificate in scope, with the member (for the PDF); NotFound otherwise."""
    return get_visible(Certificate.objects.select_related("member"), actor, certificate_id)


def certificate_by_token(*, token: str) -> Certificate:
    """The certificate behind a verification QR code (public); NotFound for any other token."""
    certificate = Certificate.objects.filter(verify_token=token).first() if len(token) <= MAX_TOKEN else None
    if certificate is None:
        raise NotFound(_("没有找到这份证明，请核对二维码或链接"))
    return certificate


def verify_url(certificate: Certificate) -> str:
    path = reverse("volunteering:certificate_verify", args=[certificate.verify_token])
    return public_url(path)


@dataclass(frozen=True)
class PublicView:
    """What the public verification page and endpoint show: nothing that identifies the person beyond
    a masked name (no phone, no ID number, no volunteer number)."""

    serial: str
    masked_name: str
    issuer: str
    period_from: date
    period_to: date
    record_count: int
    total_hours: Decimal
    issued_on: date
    records: list[dict]


def public_view(certificate: Certificate) -> PublicView:
    return PublicView(
        serial=certificate.serial,
        masked_name=mask_name(certificate.member_name),
        issuer=certificate.issuer,
        period_from=certificate.period_from,
        period_to=certificate.period_to,
        record_count=certificate.record_count,
        total_hours=certificate.total_hours,
        issued_on=timezone.localdate(certificate.issued_at),
        records=list(certificate.records),
    )


# --- the PDF ---------------------------------------------------------------------------------------


def cjk_font() -> str:
    """Registers the CJK font once per process (loading it is the slow part) and returns its name."""
    if FONT_NAME in pdfmetrics.getRegisteredFontNames():
        return FONT_NAME
    with _font_lock:
        if FONT_NAME not in pdfmetrics.getRegisteredFontNames():
            path = getattr(settings, "HUIJIA_CJK_FONT", DEFAULT_CJK_FONT)
            pdfmetrics.registerFont(TTFont(FONT_NAME, path, subfontIndex=0))
    return FONT_NAME


def _styles(font: str) -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName=font, fontSize=11, leading=17, wordWrap="CJK")
    return {
        "title": ParagraphStyle("title", parent=base, fontSize=22, leading=30, alignment=TA_CENTER),
        "serial": ParagraphStyle(
            "serial", parent=base, fontSize=9, alignment=TA_RIGHT, textColor=colors.grey
        ),
        "body": ParagraphStyle("body", parent=base, fontSize=12, leading=22, firstLineIndent=24),
        "cell": ParagraphStyle("cell", parent=base, fontSize=10, leading=14),
        "cell_c": ParagraphStyle("cell_c", parent=base, fontSize=10, leading=14, alignment=TA_CENTER),
        "head": ParagraphStyle("head", parent=base, fontSize=10, leading=14, alignment=TA_CENTER),
        "sign": ParagraphStyle("sign", parent=base, fontSize=12, leading=22, alignment=TA_RIGHT),
        "small": ParagraphStyle("small", parent=base, fontSize=8, leading=11, textColor=colors.grey),
    }


def _cn_date(value: date | str) -> str:
    if isinstance(value, str):
        value = date.fromisoformat(value)
    return f"{value.year}年{value.month}月{value.day}日"


def _table(certificate: Certificate, st: dict[str, ParagraphStyle], font: str) -> Table:
    head = [Paragraph(h, st["head"]) for h in ("序号", "日期", "服务内容", "时长（小时）", "组织方")]
    rows = [head]
    for index, r in enumerate(certificate.records, start=1):
        rows.append(
            [
                Paragraph(str(index), st["cell_c"]),
                Paragraph(escape(r["date"]), st["cell_c"]),
                Paragraph(escape(r["content"]), st["cell"]),
                Paragraph(escape(r["hours"]), st["cell_c"]),
                Paragraph(escape(r["organiser"]), st["cell"]),
            ]
        )
    total = f"{certificate.record_count} 次，{certificate.total_hours:.2f} 小时"
    rows.append([Paragraph("合计", st["head"]), "", Paragraph(total, st["cell"]), "", ""])
    table = Table(rows, colWidths=[12 * mm, 26 * mm, 66 * mm, 24 * mm, 38 * mm], repeatRows=1)
    last = len(rows) - 1
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), font, 10),
                ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#EDEDED")),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("SPAN", (0, last), (1, last)),
                ("SPAN", (2, last), (4, last)),
            ]
        )
    )
    return table


def _qr(url: str, size: float) -> Drawing:
    widget = QrCodeWidget(url, barLevel="M")
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(widget)
    return drawing


def _footer(serial: str, font: str):
    def draw(canvas, doc) -> None:
        canvas.saveState()
        canvas.setFont(font, 8)
        canvas.setFillColor(colors.grey)
        canvas.drawString(20 * mm, 12 * mm, f"证明编号 {serial}")
        canvas.drawRightString(A4[0] - 20 * mm, 12 * mm, f"第 {doc.page} 页")
        canvas.restoreState()

    return draw


def render_certificate_pdf(certificate: Certificate) -> bytes:
    """The certificate as a PDF (A4): title, the statement, the table of records with totals, the
    issuer and date, and a QR code of the public verification page."""
    font = cjk_font()
    st = _styles(font)
    member = certificate.member
    url = verify_url(certificate)
    statement = (
        f"兹证明 <u>{escape(certificate.member_name)}</u> 同志（志愿者编号：{escape(member.volunteer_no)}）于"
        f"{_cn_date(certificate.period_from)}至{_cn_date(certificate.period_to)}期间参加志愿服务"
        f" <u>{certificate.record_count}</u> 次，累计服务 <u>{certificate.total_hours:.2f}</u> 小时。"
        "服务记录如下："
    )
    sign = Table(
        [
            [
                [_qr(url, 28 * mm), Paragraph("扫码核验本证明", st["small"])],
                [
                    Paragraph(f"出具单位：{escape(certificate.issuer)}（盖章）", st["sign"]),
                    Paragraph(f"出具日期：{_cn_date(timezone.localdate(certificate.issued_at))}", st["sign"]),
                ],
            ]
        ],
        colWidths=[40 * mm, 126 * mm],
        style=TableStyle([("VALIGN", (0, 0), (-1, -1), "BOTTOM"), ("LEFTPADDING", (0, 0), (0, 0), 0)]),
    )
    story = [
        Paragraph(f"编号：{escape(certificate.serial)}", st["serial"]),
        Spacer(1, 4 * mm),
        Paragraph("志愿服务记录证明", st["title"]),
        Spacer(1, 8 * mm),
        Paragraph(statement, st["body"]),
        Spacer(1, 4 * mm),
        _table(certificate, st, font),
        Spacer(1, 6 * mm),
        Paragraph("特此证明。", st["body"]),
        Spacer(1, 8 * mm),
        KeepTogether([sign, Spacer(1, 2 * mm), Paragraph(f"核验地址：{escape(url)}", st["small"])]),
    ]
    buffer = BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=18 * mm,
        bottomMargin=20 * mm,
        title=f"志愿服务记录证明 {certificate.serial}",
        author=certificate.issuer,
        subject=certificate.member_name,
    )
    footer = _footer(certificate.serial, font)
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()


def certificate_filename(certificate: Certificate) -> str:
    return f"志愿服务记录证明-{certificate.serial}.pdf"
