from django.apps import AppConfig
from django.conf import settings


class SharingConfig(AppConfig):
    name = "sharing"
    verbose_name = "Image sharing"

    def ready(self) -> None:
        if settings.DEMO:
            # The demo's cloud is built in: its URL is served in-process from an SQLite file.
            from sharing import clouds

            clouds.use_builtin_cloud(clouds.demo_cloud())
