"""HTML screens of demands. Each part lives in its own module:

- views_public: the resident's side, no account needed (building QR report form, tracking page with
  confirm/rate/reopen, complaints and suggestions), under /d/; a signed-in resident's own list;
- views_member: the member's side on the phone (demands assigned to them or their team, the
  opinion-collection post form), under /m/demands/;
- views_console: the staff console (list, detail and every step, staff entry 代录, what is late,
  the 接哨 inbox of streets and work units, complaints and suggestions to answer), /console/demands/;
- views_lists: the three lists (三单: resources, needs, services) and matching, /console/lists/ and
  the member's service list under /m/services/;
- views_stats: the three rates per estate, community and street for a period, /console/demands/rates/.
Included by huijia/urls.py.
"""

from django.urls import include, path

app_name = "demands"

urlpatterns = [
    path("", include("huijia.demands.urls_public")),
    path("", include("huijia.demands.urls_member")),
    path("", include("huijia.demands.urls_console")),
    path("", include("huijia.demands.urls_lists")),
    path("", include("huijia.demands.urls_stats")),
]
