"""The Django admin of volunteering: the cities' policies only, read-mostly.

The policy is set on the console (volunteering:policy, by the city's organisation department, audited
by minimum.set_policy); the admin lists the rows for the site's operators and lets a superuser correct
a value in an emergency, never add a second row for a city or delete one.
"""

from django.contrib import admin

from huijia.volunteering.models import VolunteerPolicy


@admin.register(VolunteerPolicy)
class VolunteerPolicyAdmin(admin.ModelAdmin):
    list_display = ("city", "annual_minimum", "remind_days_before_year_end")
    list_select_related = ("city",)
    search_fields = ("city__name",)
    ordering = ("city__name",)

    def get_readonly_fields(self, request, obj=None):
        return ("city",) if obj is not None else ()

    def has_add_permission(self, request) -> bool:
        return False  # a city's row is created by the console's first change

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
