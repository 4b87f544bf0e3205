from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.i18n import set_language

from registrar import views, views_approvals

# Every app's admin.py (registrar/admin_config.py: not loaded at start).
admin.autodiscover()

registrar_patterns = [
    path("", views.dashboard, name="dashboard"),
    path("org/<str:code>/", views.node_detail, name="node"),
    path("org/<str:code>/history/", views.node_history, name="node_history"),
    path("org/<str:code>/grades/sync/", views.sync_grades, name="sync_grades"),
    path("org/<str:code>/classes/new/", views.class_create, name="class_create"),
    path("classes/<int:pk>/edit/", views.class_edit, name="class_edit"),
    path("classes/<int:pk>/history/", views.class_history, name="class_history"),
    path("approvals/", views_approvals.queue, name="approvals"),
    path("approvals/overdue/", views_approvals.overdue, name="approvals_overdue"),
    path("approvals/<int:pk>/", views_approvals.detail, name="approval"),
    path("approvals/<int:pk>/decide/", views_approvals.decide, name="approval_decide"),
]

urlpatterns = [
    path("", include((registrar_patterns, "registrar"))),
    path("students/", include("students.urls")),
    path("transfers/", include("transfers.urls")),
    path("corrections/", include("corrections.urls")),
    path("reports/", include("reports.urls")),
    path("graduation/", include("graduation.urls")),
    path("problems/", include("problems.urls")),
    path("rules/", include("rules.urls")),
    path("intake/", include("intake.urls")),
    path("schoolyear/", include("schoolyear.urls")),
    path("verification/", include("verification.urls")),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("admin/", admin.site.urls),
]
