"""JSON API router (结对帮扶). Mounted by huijia/api.py."""

from ninja import Router

router = Router(tags=["结对帮扶"])
