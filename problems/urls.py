from django.urls import path

from problems import views

app_name = "problems"

urlpatterns = [
    path("", views.problem_list, name="list"),
    path("detect/", views.detect, name="detect"),
    path("runs/<int:pk>/", views.run, name="run"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/resolve/", views.resolve, name="resolve"),
    path("<int:pk>/arbitrate/", views.arbitrate, name="arbitrate"),
    path("resolutions/<int:pk>/", views.resolution, name="resolution"),
    path("resolutions/<int:pk>/evidence/", views.evidence_add, name="evidence_add"),
    path("resolutions/<int:pk>/evidence/<int:evidence_pk>/", views.evidence_file, name="evidence_file"),
    path(
        "resolutions/<int:pk>/evidence/<int:evidence_pk>/delete/",
        views.evidence_delete,
        name="evidence_delete",
    ),
]
