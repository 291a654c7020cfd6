"""JSON API router (敲门行动). Mounted by huijia/api.py."""

from ninja import Router

router = Router(tags=["敲门行动"])
