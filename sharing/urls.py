from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path

from sharing import views

team_patterns = [
    path("images/", views.images, name="images"),
    path("images/<str:image_id>/", views.image, name="image"),
    path("images/<str:image_id>/share/", views.image_share, name="image_share"),
    path(
        "images/<str:image_id>/members/<str:member_id>/revoke/",
        views.member_revoke,
        name="member_revoke",
    ),
    path("incoming/", views.incoming, name="incoming"),
    re_path(
        r"^incoming/(?P<image_id>[^/]+)/(?P<decision>accept|reject|pending)/$",
        views.incoming_set,
        name="incoming_set",
    ),
    path("requests/", views.requests, name="requests"),
    path("history/", views.history, name="history"),
    path("history.csv", views.history_csv, name="history_csv"),
    path("partners/", views.partners, name="partners"),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("t/<slug:team>/", include(team_patterns)),
    path("admin/", admin.site.urls),
]
