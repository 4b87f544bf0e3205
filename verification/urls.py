from django.urls import path

from verification import views

app_name = "verification"

urlpatterns = [
    path("", views.home, name="home"),
    path("open/", views.campaign_open, name="open"),
    path("<int:pk>/", views.campaign_detail, name="campaign"),
    path("<int:pk>/close/", views.campaign_close, name="close"),
    path("<int:pk>/classes/<int:class_pk>/", views.class_detail, name="class"),
    path("<int:pk>/classes/<int:class_pk>/print/", views.class_print, name="print"),
    path("<int:pk>/classes/<int:class_pk>/upload/", views.upload_bulk, name="upload_bulk"),
    path("<int:pk>/classes/<int:class_pk>/confirm/", views.class_confirm, name="confirm"),
    path("<int:pk>/students/<int:student_pk>/upload/", views.upload_one, name="upload"),
    path("forms/<int:pk>/", views.form_detail, name="form"),
    path("forms/<int:pk>/scan/", views.scan, name="scan"),
    path("forms/<int:pk>/handle/", views.form_handle, name="handle"),
    path("attendance/", views.attendance, name="attendance"),
    path("attendance/<int:class_pk>/", views.attendance_class, name="attendance_class"),
]
