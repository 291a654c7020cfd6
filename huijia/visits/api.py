"""JSON API router (入户走访). Mounted by huijia/api.py."""

from ninja import Router

router = Router(tags=["入户走访"])
