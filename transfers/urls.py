from django.urls import path

from transfers import views

app_name = "transfers"

urlpatterns = [
    path("", views.request_list, name="list"),
    path("new/", views.start, name="start"),
    path("new/transfer/", views.start_transfer, name="start_transfer"),
    path("new/transfer/from-here/", views.start_transfer_by_current, name="start_transfer_by_current"),
    path("new/transfer-in/", views.start_transfer_in, name="start_transfer_in"),
    path("new/<str:kind>/", views.start_kind, name="start_kind"),
    path("suspensions/", views.suspensions, name="suspensions"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/edit/", views.edit, name="edit"),
    path("<int:pk>/submit/", views.submit, name="submit"),
    path("<int:pk>/withdraw/", views.withdraw, name="withdraw"),
    path("<int:pk>/print/", views.print_form, name="print"),
    path("<int:pk>/photo/", views.student_photo, name="student_photo"),
    path("<int:pk>/evidence/", views.evidence_add, name="evidence_add"),
    path("evidence/<int:pk>/", views.evidence_file, name="evidence"),
    path("evidence/<int:pk>/delete/", views.evidence_delete, name="evidence_delete"),
]
