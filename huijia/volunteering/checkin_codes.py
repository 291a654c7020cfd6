"""The check-in QR code of a slot, which changes every minute.

code = HMAC-SHA256(slot.qr_secret, "<slot id>:<minute>"), shortened to 8 base32 letters. The code of
the current minute and of the one before are accepted (a member who scans at 10:00:59 and taps at
10:01:05 is still in); an older code of the same slot is "expired" — a photo of the code passed around
a group chat stops working within two minutes; anything else (another slot's code, a typo) is
"invalid". Nothing is stored: the secret and the clock are enough.
"""

import base64
import hashlib
import hmac
from datetime import datetime
from enum import StrEnum

from django.utils import timezone

from huijia.volunteering.models import Slot

CODE_LENGTH = 8
PERIOD = 60  # seconds a code is shown
LOOKBACK_MINUTES = 24 * 60  # how far back an old code is still recognised as "expired" (not "invalid")


class CodeCheck(StrEnum):
    OK = "ok"
    EXPIRED = "expired"
    INVALID = "invalid"


def minute_of(moment: datetime) -> int:
    return int(moment.timestamp() // PERIOD)


def code_at(slot: Slot, minute: int) -> str:
    digest = hmac.new(slot.qr_secret.encode(), f"{slot.pk}:{minute}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode()[:CODE_LENGTH].lower()


def current_code(slot: Slot, now: datetime | None = None) -> tuple[str, int]:
    """(the code to show now, seconds until it changes)."""
    now = now or timezone.now()
    seconds_left = PERIOD - int(now.timestamp()) % PERIOD
    return code_at(slot, minute_of(now)), seconds_left


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def check_code(slot: Slot, code: str, now: datetime | None = None) -> CodeCheck:
    """Whether `code` opens this slot now: the current or the previous minute's code."""
    code = (code or "").strip().lower()
    if len(code) != CODE_LENGTH:
        return CodeCheck.INVALID
    minute = minute_of(now or timezone.now())
    if any(_same(code, code_at(slot, m)) for m in (minute, minute - 1)):
        return CodeCheck.OK
    if any(_same(code, code_at(slot, m)) for m in range(minute - 2, minute - LOOKBACK_MINUTES, -1)):
        return CodeCheck.EXPIRED
    return CodeCheck.INVALID
