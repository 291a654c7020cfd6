from django.apps import AppConfig


class VolunteeringConfig(AppConfig):
    name = "huijia.volunteering"
    label = "volunteering"
    verbose_name = "志愿服务"
