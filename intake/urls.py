from django.urls import path

from intake import views

app_name = "intake"

urlpatterns = [
    path("", views.home, name="home"),
    path("find/", views.find, name="find"),
    path("admission-list/", views.admission_list, name="admission_list"),
    path("<int:pk>/", views.detail, name="detail"),
]
