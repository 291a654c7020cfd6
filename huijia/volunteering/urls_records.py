"""Screens of volunteering: service records, the annual minimum, certificates and their public
verification page, the ledgers (see huijia/volunteering/urls.py)."""

from django.urls import path

from huijia.volunteering import views_records as views

urlpatterns = [
    # phone
    path("m/volunteer/records/", views.records_page, name="records"),
    path("m/volunteer/certificates/", views.certificate_new, name="certificate_new"),
    path("m/volunteer/certificates/<int:certificate_id>/pdf/", views.certificate_pdf, name="certificate_pdf"),
    # public, behind the certificate's QR code
    path("v/cert/<str:token>/", views.certificate_verify, name="certificate_verify"),
    # staff console
    path("console/volunteer/minimum/", views.minimum, name="minimum"),
    path("console/volunteer/ledgers/", views.ledgers_page, name="ledgers"),
    path("console/volunteer/ledgers/activities/", views.ledger_activities, name="ledger_activities"),
    path("console/volunteer/ledgers/members/", views.ledger_members, name="ledger_members"),
    path("console/volunteer/ledgers/unit-members/", views.ledger_unit_members, name="ledger_unit_members"),
    path("console/volunteer/policy/", views.policy, name="policy"),
]
