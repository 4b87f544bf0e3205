from django.urls import path

from corrections import views

app_name = "corrections"

urlpatterns = [
    path("", views.correction_list, name="list"),
    path("review/", views.review, name="review"),
    path("packet/", views.packet, name="packet"),
    path("new/<int:student_pk>/", views.create, name="create"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/edit/", views.edit, name="edit"),
    path("<int:pk>/withdraw/", views.withdraw, name="withdraw"),
    path("<int:pk>/evidence/", views.evidence_add, name="evidence_add"),
    path("<int:pk>/evidence/<int:evidence_pk>/", views.evidence_file, name="evidence_file"),
    path("<int:pk>/evidence/<int:evidence_pk>/delete/", views.evidence_delete, name="evidence_delete"),
]
