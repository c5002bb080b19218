from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "sharing.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks"
