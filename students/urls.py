from django.urls import include, path

from students import views

app_name = "students"

urlpatterns = [
    path("", views.roster, name="roster"),
    path("print/", views.roster_print, name="roster_print"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/card/", views.card, name="card"),
    path("<int:pk>/photo/", views.photo, name="photo"),
    path("<int:pk>/photo/upload/", views.photo_upload, name="photo_upload"),
    path("<int:pk>/edit/", views.edit, name="edit"),
    path("new/", views.create, name="create"),
    path("<int:pk>/submit-registration/", views.submit_registration, name="submit_registration"),
    path("registrations/<int:pk>/", views.registration_request, name="registration"),
    path(
        "registrations/<int:pk>/take-out/<int:student_pk>/",
        views.registration_take_out,
        name="registration_take_out",
    ),
    path("roster-files/", include("students.roster.urls")),
]
