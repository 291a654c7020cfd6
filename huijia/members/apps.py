from django.apps import AppConfig


class MembersConfig(AppConfig):
    name = "huijia.members"
    label = "members"
    verbose_name = "党员报到"
