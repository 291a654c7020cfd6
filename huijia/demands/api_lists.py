"""JSON API of demands (see the module list in huijia/demands/urls.py)."""

from ninja import Router

router = Router(tags=["demands"])
