"""JSON API of the three rates (see huijia/demands/rates.py)."""

from ninja import Router

router = Router(tags=["demands"])
