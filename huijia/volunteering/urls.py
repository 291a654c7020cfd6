"""HTML screens of volunteer service (志愿服务). Each part lives in its own module:

- urls_activities: activities, service posts and tasks with their slots; sign-up, waitlist, cancel
  (console /console/volunteer/activities/, phone /m/volunteer/);
- urls_attendance: check-in QR (changes every minute), scanning it, roll call, hours corrections,
  people served, and the served resident's confirmation (/v/confirm/<token>/);
- urls_teams: service teams (服务队) and their members, areas, activities and record;
- urls_pairings: unit–community pairings (结对共建), coverage, a work unit's members' service;
- urls_records: a member's service record, the annual minimum, certificates and their public
  verification page (/v/cert/<token>/), the ledgers in Excel.
Included by huijia/urls.py.
"""

from django.urls import include, path

app_name = "volunteering"

urlpatterns = [
    path("", include("huijia.volunteering.urls_activities")),
    path("", include("huijia.volunteering.urls_attendance")),
    path("", include("huijia.volunteering.urls_teams")),
    path("", include("huijia.volunteering.urls_pairings")),
    path("", include("huijia.volunteering.urls_records")),
]
