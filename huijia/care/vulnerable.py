"""Recording vulnerable people learnt in a visit (入户走访) into the care file (F10).

Kept apart from the care services (care pairings, the overdue list) so that the visits app can add to
the file without depending on the rest of care. The caller has checked that the actor may visit the
household.
"""

from collections.abc import Iterable

from django.db import transaction
from django.utils.translation import gettext as _

from huijia.accounts.scope import Actor
from huijia.care.models import VulnerableKind, VulnerablePerson
from huijia.core.errors import InvalidInput
from huijia.grid.models import Household

MAX_NOTE = 200


@transaction.atomic
def record_vulnerable(
    *, actor: Actor, household: Household, kinds_with_notes: Iterable[tuple[str, str]], visit_id: int | None
) -> list[VulnerablePerson]:
    """Adds one active VulnerablePerson per kind not already on file for the household.

    A kind already recorded and still active (not ended) is skipped, so visiting the same elderly
    person every month does not fill the file with copies. Returns the rows it created.
    """
    wanted: dict[str, str] = {}
    for kind, note in kinds_with_notes:
        if kind not in VulnerableKind.values:
            raise InvalidInput(_("困难群体类别不正确"), code="vulnerable_kind")
        note = (note or "").strip()
        if len(note) > MAX_NOTE:
            raise InvalidInput(_("情况说明不超过200个字"), code="vulnerable_note_too_long")
        wanted.setdefault(kind, note)
    if not wanted:
        return []
    active = set(
        VulnerablePerson.objects.filter(
            household=household, kind__in=list(wanted), ended_at__isnull=True
        ).values_list("kind", flat=True)
    )
    rows = [
        VulnerablePerson(
            household=household, kind=kind, note=note, recorded_by_id=actor.user_id, visit_id=visit_id
        )
        for kind, note in wanted.items()
        if kind not in active
    ]
    return VulnerablePerson.objects.bulk_create(rows)
