"""A small demo province with one user per role. Running it again changes nothing."""

import json

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from registrar.choices import Role
from registrar.models import Grade, Organisation, SchoolClass, User
from registrar.orgimport import HEADER, import_organisations, parse_rows
from registrar.services import create_class

DEMO_PASSWORD = "Demo2026!"

# The demo tree, in the columns of an import_orgs workbook.
DEMO_TREE_FILE = settings.BASE_DIR / "fixtures" / "demo_tree.json"

# username, full name, node code, roles
DEMO_USERS = [
    ("xueji_yucai", "王芳", "1420102001", [Role.SCHOOL_REGISTRAR]),
    ("banzhuren_yucai", "李娜", "1420102001", [Role.CLASS_TEACHER]),
    ("xiaozhang_yucai", "张伟", "1420102001", [Role.PRINCIPAL]),
    ("xueji_liuzhong", "陈静", "1420102004", [Role.SCHOOL_REGISTRAR]),
    ("xueji_yiling", "刘洋", "1420506003", [Role.SCHOOL_REGISTRAR]),
    ("shenhe_jiangan", "赵敏", "420102", [Role.COUNTY_REVIEWER]),
    ("shenhe_yiling", "周杰", "420506", [Role.COUNTY_REVIEWER]),
    ("shenhe_xiaoxita", "郑红", "1420506900", [Role.TOWNSHIP_REVIEWER]),
    ("shenhe_wuhan", "吴刚", "420100", [Role.CITY_REVIEWER]),
    ("guanli_hubei", "孙丽", "420000", [Role.PROVINCE_ADMIN]),
]


def demo_tree_rows():
    columns = {label: key for key, label in HEADER.items()}
    rows = json.loads(DEMO_TREE_FILE.read_text(encoding="utf-8"))
    return [
        {columns[label]: value for label, value in row.items()} | {"number": n}
        for n, row in enumerate(rows, 2)
    ]


class Command(BaseCommand):
    help = "Build the demo province: cities, counties, schools, grades, classes and one user per role."

    def add_arguments(self, parser):
        parser.add_argument(
            "--class-size",
            type=int,
            default=None,
            help="students per class (default: 12–14 by stage, about 2,000 in all)",
        )

    @transaction.atomic
    def handle(self, *args, class_size=None, **options):
        result = import_organisations(parse_rows(demo_tree_rows()))
        classes = self.seed_classes()
        users = self.seed_users()
        from students.demo import seed_students

        students = seed_students([row["code"] for row in demo_tree_rows()], per_class=class_size)
        from corrections.demo import seed_correction_demo
        from transfers.demo import seed_transfer_demo

        seed_transfer_demo()
        seed_correction_demo()
        from graduation.demo import seed_graduation_demo

        seed_graduation_demo()
        from problems.demo import seed_problem_demo

        seed_problem_demo()
        from rules.demo import seed_rules

        seed_rules()
        from intake.demo import seed_intake_demo

        graduates = seed_intake_demo()
        from verification.demo import seed_verification_demo

        seed_verification_demo()
        self.stdout.write(
            f"Organisations: {len(result.created)} created, {result.unchanged} unchanged; "
            f"classes created: {classes}; users created: {users}; students created: {students}."
        )
        self.stdout.write(f"\nDemo logins (password {DEMO_PASSWORD} for everyone):")
        for username, full_name, code, roles in [("admin", "系统管理员", "", []), *DEMO_USERS]:
            node = Organisation.objects.filter(code=code).first()
            role_names = "、".join(str(Role(role).label) for role in roles) or "superuser"
            self.stdout.write(f"  {username:<18} {full_name:<6} {node.name if node else '—'} · {role_names}")
        if graduates:
            self.stdout.write("\nGraduates 第六中学 (xueji_liuzhong) can take in (升学):")
            self.stdout.write("  学籍号 姓名 身份证件号")
            for student in graduates:
                self.stdout.write(f"  {student.number} {student.name} {student.id_number}")

    def seed_classes(self):
        created = 0
        for grade in Grade.objects.select_related("school").filter(
            school__code__in=[row["code"] for row in demo_tree_rows()]
        ):
            count = 1 if grade.segment == "special" else 2
            for number in range(1, count + 1):
                name = f"{number}班"
                if not SchoolClass.objects.filter(grade=grade, name=name).exists():
                    create_class(grade, by=None, name=name)
                    created += 1
        return created

    def seed_users(self):
        created = 0
        if not User.objects.filter(username="admin").exists():
            User.objects.create_superuser("admin", "admin@example.org", DEMO_PASSWORD, full_name="系统管理员")
            created += 1
        for username, full_name, code, roles in DEMO_USERS:
            if User.objects.filter(username=username).exists():
                continue
            user = User(
                username=username,
                full_name=full_name,
                node=Organisation.objects.get(code=code),
                roles=list(roles),
            )
            user.set_password(DEMO_PASSWORD)
            user.full_clean()
            user.save()
            if Role.CLASS_TEACHER in roles:
                user.classes.set(
                    SchoolClass.objects.filter(grade__school__code=code, grade__level=1, name="1班")
                )
            created += 1
        return created
