"""JSON API of volunteering: activities, mounted under /api/v1/ by huijia/api.py."""

from ninja import Router

router = Router(tags=["志愿服务"])
