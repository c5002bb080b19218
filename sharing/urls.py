from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from sharing import views

team_patterns = [
    path("images/", views.images, name="images"),
    path("incoming/", views.incoming, name="incoming"),
    path("requests/", views.requests, name="requests"),
    path("history/", views.history, name="history"),
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
