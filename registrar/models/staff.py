"""Staff: each user belongs to one node of the tree and holds roles there."""

from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from registrar.choices import ROLE_NODE_KINDS, Role
from registrar.models.tree import Organisation, SchoolClass, ScopedQuerySet


class UserQuerySet(ScopedQuerySet):
    scope_path = "node__path"


class StaffManager(UserManager.from_queryset(UserQuerySet)):
    pass


class User(AbstractUser):
    """A member of staff: belongs to one node of the tree and holds one or more roles there."""

    full_name = models.CharField(_("full name"), max_length=50, blank=True)
    node = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="staff",
    )
    roles = models.JSONField(_("roles"), default=list, blank=True)
    # A class teacher (班主任) acts only for the classes named here.
    classes = models.ManyToManyField(
        SchoolClass,
        verbose_name=_("classes taught as class teacher"),
        blank=True,
        related_name="class_teachers",
    )

    history = HistoricalRecords(excluded_fields=["password", "last_login"], m2m_fields=[classes])
    objects = StaffManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self):
        return self.full_name or self.username

    def clean(self):
        super().clean()
        unknown = [role for role in self.roles if role not in Role.values]
        if unknown:
            raise ValidationError({"roles": _("Unknown role: %(roles)s") % {"roles": ", ".join(unknown)}})
        if self.roles and self.node_id is None:
            raise ValidationError({"node": _("A user with roles belongs to a node of the tree.")})
        for role in self.roles:
            if self.node.kind not in ROLE_NODE_KINDS[Role(role)]:
                raise ValidationError(
                    {
                        "roles": _("The role %(role)s does not belong at a %(kind)s.")
                        % {"role": Role(role).label, "kind": self.node.get_kind_display()}
                    }
                )

    def has_role(self, *roles):
        return any(role in self.roles for role in roles)

    def get_roles_display(self):
        return "、".join(str(Role(role).label) for role in self.roles if role in Role.values)
