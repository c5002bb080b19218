from django.urls import path

from . import views

urlpatterns = [
    path("", views.endpoints, name="webhooks"),
    path("<int:pk>/", views.endpoint, name="webhook"),
    path("<int:pk>/ping/", views.endpoint_ping, name="webhook_ping"),
    path("<int:pk>/rotate/", views.endpoint_rotate, name="webhook_rotate"),
    path("<int:pk>/disable/", views.endpoint_disable, name="webhook_disable"),
    path("<int:pk>/enable/", views.endpoint_enable, name="webhook_enable"),
    path("<int:pk>/delete/", views.endpoint_delete, name="webhook_delete"),
    path(
        "<int:pk>/deliveries/<int:delivery_pk>/redeliver/",
        views.delivery_redeliver,
        name="webhook_redeliver",
    ),
]
