"""HTML screens of care (结对帮扶) and the ledgers (台账): console under /console/care/ and
/console/ledgers/, the member's pairings under /m/care/. Included by huijia/urls.py."""

from django.urls import path

from huijia.care import views

app_name = "care"
urlpatterns = [
    # staff console
    path("console/care/", views.care_file, name="file"),
    path("console/care/vulnerable/add/", views.vulnerable_add, name="vulnerable_add"),
    path("console/care/vulnerable/<int:person_id>/end/", views.vulnerable_end, name="vulnerable_end"),
    path("console/care/households/<int:household_id>/pair/", views.pairing_new, name="pair"),
    path("console/care/pairings/<int:pairing_id>/end/", views.pairing_end, name="pairing_end"),
    path("console/care/overdue/", views.overdue, name="overdue"),
    path("console/ledgers/", views.ledgers, name="ledgers"),
    path("console/ledgers/visits/", views.ledger_visits, name="ledger_visits"),
    path("console/ledgers/care/", views.ledger_care, name="ledger_care"),
    # phone
    path("m/care/", views.mine, name="mine"),
]
