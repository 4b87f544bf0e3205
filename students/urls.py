from django.urls import include, path

from students import views

app_name = "students"

urlpatterns = [
    path("", views.roster, name="roster"),
    path("print/", views.roster_print, name="roster_print"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/card/", views.card, name="card"),
    path("<int:pk>/photo/", views.photo, name="photo"),
    path("roster-files/", include("students.roster.urls")),
]
