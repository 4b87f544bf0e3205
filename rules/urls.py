from django.urls import path

from rules import views

app_name = "rules"

urlpatterns = [
    path("", views.home, name="home"),
    path("exceptions/", views.exceptions, name="exceptions"),
    path("<str:code>/", views.node_rules, name="node"),
    path("<str:code>/set/", views.set_rule, name="set"),
    path("<str:code>/delete/", views.delete_rule, name="delete"),
]
