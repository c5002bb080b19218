"""Included by django-allauth under /accounts/ (it includes each provider's `urls`)."""

from django.urls import path

from . import oauth

urlpatterns = [
    path("sso/login/", oauth.login, name="sso_login"),
    path("sso/login/callback/", oauth.callback, name="sso_callback"),
]
