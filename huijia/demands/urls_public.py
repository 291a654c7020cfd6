"""URLs of huijia.demands.views_public (see huijia/demands/urls.py).

Short addresses on purpose: /d/b/<building>/ is printed under each building's QR code and a tracking
address (/d/t/<code>/) may be typed in by hand.
"""

from django.urls import path

from huijia.demands import views_public

urlpatterns = [
    path("console/demands/qr/", views_public.building_qr, name="building_qr"),
    path("d/b/<int:building_id>/", views_public.report, name="report"),
    path("d/b/<int:building_id>/hints/", views_public.report_hints, name="report_hints"),
    path("d/b/<int:building_id>/follow/<int:demand_id>/", views_public.follow, name="report_follow"),
    path("d/ok/<str:code>/", views_public.reported, name="reported"),
    path("d/t/", views_public.track_lookup, name="track_lookup"),
    path("d/t/<str:code>/", views_public.track, name="track"),
    path("d/t/<str:code>/rate/", views_public.rate, name="track_rate"),
    path("d/t/<str:code>/reopen/", views_public.reopen, name="track_reopen"),
    path("d/t/<str:code>/photos/<int:photo_id>/", views_public.photo, name="track_photo"),
    path("d/mine/", views_public.mine, name="my_reported"),
    path("d/feedback/", views_public.feedback, name="feedback_new"),
    path("d/feedback/t/", views_public.feedback_lookup, name="feedback_lookup"),
    path("d/feedback/t/<str:code>/", views_public.feedback_track, name="feedback_track"),
]
