from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path, re_path

from sharing import views, views_incoming, views_lines
from sharing.api import endpoints as api_endpoints
from sharing.api import pages as api_pages
from sharing.api.problems import not_found_view
from sharing.signin import views as signin_views

# Django admin's own log-in page would skip the second factor: it sends people to ours instead.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]

team_patterns: list[URLPattern | URLResolver] = [
    path("images/", views.images, name="images"),
    path("images/<str:image_id>/", views.image, name="image"),
    path("images/<str:image_id>/share/", views.image_share, name="image_share"),
    path(
        "images/<str:image_id>/members/<str:tenant>/revoke/",
        views.member_revoke,
        name="member_revoke",
    ),
    path("incoming/", views.incoming, name="incoming"),
    path("incoming/rules/", views_incoming.incoming_rules, name="incoming_rules"),
    path(
        "incoming/rules/<int:pk>/delete/",
        views_incoming.incoming_rule_delete,
        name="incoming_rule_delete",
    ),
    re_path(
        r"^incoming/(?P<image_id>[^/]+)/(?P<decision>accept|reject|pending)/$",
        views.incoming_set,
        name="incoming_set",
    ),
    path("requests/", views.requests, name="requests"),
    path("requests/new/", views.request_new, name="request_new"),
    path("requests/<int:pk>/", views.access_request, name="request"),
    path("requests/<int:pk>/approve/", views.request_approve, name="request_approve"),
    path("requests/<int:pk>/reject/", views.request_reject, name="request_reject"),
    path("requests/<int:pk>/cancel/", views.request_cancel, name="request_cancel"),
    path("history/", views.history, name="history"),
    path("history.csv", views.history_csv, name="history_csv"),
    path("partners/", views.partners, name="partners"),
    path("partners/<int:pk>/delete/", views.partner_delete, name="partner_delete"),
    path("settings/", views.team_settings, name="team_settings"),
    path("settings/link/rotate/", views.link_rotate, name="link_rotate"),
    path("settings/link/revoke/", views.link_revoke, name="link_revoke"),
    path("settings/link/images/", views.link_images, name="link_images"),
    path("lines/", views_lines.lines, name="lines"),
    path("lines/<slug:slug>/", views_lines.line, name="line"),
    path("lines/<slug:slug>/publish/", views_lines.line_publish, name="line_publish"),
    path("lines/<slug:slug>/subscribers/", views_lines.line_subscribers, name="line_subscribers"),
    path(
        "lines/<slug:slug>/subscribers/<str:tenant>/remove/",
        views_lines.line_subscriber_remove,
        name="line_subscriber_remove",
    ),
    path("lines/<slug:slug>/channels/<slug:name>/", views_lines.line_channel, name="line_channel"),
    path(
        "lines/<slug:slug>/versions/<str:image_id>/deprecate/",
        views_lines.line_version_deprecate,
        name="line_version_deprecate",
    ),
    path(
        "lines/<slug:slug>/versions/<str:image_id>/restore/",
        views_lines.line_version_restore,
        name="line_version_restore",
    ),
    path("settings/tokens/", api_pages.tokens, name="api_tokens"),
    path("settings/tokens/<int:pk>/revoke/", api_pages.token_revoke, name="api_token_revoke"),
    path("settings/webhooks/", include("sharing.webhooks.urls")),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon),
    path("accounts/login/", signin_views.log_in, name="login"),
    path("accounts/logout/", signin_views.sign_out, name="logout"),
    path("accounts/", include("allauth.urls")),
    path("t/<slug:team_slug>/", include(team_patterns)),
    path("r/status/<str:status_token>/", views.outside_status, name="outside_status"),
    path("r/<str:token>/", views.outside_request, name="outside_request"),
    path(
        "r/<str:token>/lines/<slug:slug>/",
        views_lines.outside_line_request,
        name="outside_line_request",
    ),
    path("api/v1/", api_endpoints.urls()),
    re_path(r"^api/", not_found_view),
    path("admin/", admin.site.urls),
]
