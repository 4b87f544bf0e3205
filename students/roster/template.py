"""The roster's columns (花名册模板) and the template workbook people fill in.

The column headers, the help texts of the 填写说明 sheet and the grade names are the file format
that offices exchange: they are Chinese whatever language the page is shown in, so they are
literals here and not translated messages.
"""

from dataclasses import dataclass

from students import codes


class Kind:
    NAME = "name"  # kept exactly as written, outer spaces trimmed
    TEXT = "text"
    DIGITS = "digits"  # phone numbers, postcodes: full-width digits made half-width
    ID = "id"  # 身份证件号: must be a text cell
    NUMBER = "number"  # 学籍号
    SCHOOL = "school"  # 学校标识码
    CODE = "code"  # a national code table: the code or its label
    DATE = "date"
    MONTH = "month"
    GRADE = "grade"
    CLASS = "class"
    BOOL = "bool"


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    kind: str
    required: bool = False
    table: str = ""
    help: str = ""
    aliases: tuple = ()
    width: int = 12

    @property
    def is_text_format(self):
        return self.kind in (Kind.ID, Kind.NUMBER, Kind.SCHOOL, Kind.DIGITS, Kind.DATE, Kind.MONTH)


DATE_HELP = "写成 2015-09-01，也可写 2015/9/1、2015.09.01、20150901 或 2015年9月1日。"
BOOL_HELP = "填“是”或“否”（也可填 1/0、Y/N），空着算“否”。"


def _guardian(number, required):
    prefix = f"监护人{number}"
    return (
        Column(
            f"guardian{number}_name",
            f"{prefix}姓名",
            Kind.NAME,
            required,
            help="按户口本或身份证填写。" + ("" if required else "没有第二位监护人时整组空着。"),
        ),
        Column(
            f"guardian{number}_relation",
            f"{prefix}关系",
            Kind.CODE,
            required,
            table="relation",
            help="与学生的关系：父亲、母亲、祖父……（可填代码或名称）。",
        ),
        Column(
            f"guardian{number}_phone",
            f"{prefix}联系电话",
            Kind.DIGITS,
            required,
            help="手机号或带区号的固定电话。",
            width=15,
        ),
        Column(
            f"guardian{number}_id_type",
            f"{prefix}身份证件类型",
            Kind.CODE,
            table="id_type",
            help="学生本人没有身份证件号时，至少一位监护人须填身份证件类型和号码。",
        ),
        Column(
            f"guardian{number}_id_number",
            f"{prefix}身份证件号",
            Kind.ID,
            help="单元格须为文本格式（本模板已设置），18 位居民身份证号末位可为 X。",
            width=22,
        ),
    )


# In the order of the template. `key` is the Student field name, or guardianN_… for the guardians,
# or school / grade / school_class for the placement.
COLUMNS = (
    Column(
        "school",
        "学校标识码",
        Kind.SCHOOL,
        help="10 位学校标识码。按区县或市批量导入时必填；学校自己导入时可空，填写则须是本校。",
    ),
    Column(
        "number",
        "学籍号",
        Kind.NUMBER,
        help="已有学籍号的学生填写（G、J 或 L 开头共 19 位）；新生空着，审核通过后由系统发放。",
        width=22,
    ),
    Column("name", "姓名", Kind.NAME, True, help="与户口本一致；生僻字、少数民族姓名中的“·”照原样填写。"),
    Column("gender", "性别", Kind.CODE, True, table="gender", help="男或女（也可填代码 1、2）。"),
    Column("birth_date", "出生日期", Kind.DATE, True, help=DATE_HELP + "须与居民身份证号中的出生日期一致。"),
    Column(
        "id_type",
        "身份证件类型",
        Kind.CODE,
        True,
        table="id_type",
        help="居民身份证、护照……（可填代码或名称）。",
        aliases=("证件类型",),
        width=16,
    ),
    Column(
        "id_number",
        "身份证件号",
        Kind.ID,
        True,
        help="单元格须为文本格式（本模板已设置）：数字格式会让 Excel 丢掉末几位或显示成 4.20102E+17。"
        "末位 x 会自动改为大写 X。",
        aliases=("身份证号", "身份证件号码", "证件号码", "身份证号码"),
        width=22,
    ),
    Column(
        "ethnicity",
        "民族",
        Kind.CODE,
        True,
        table="ethnicity",
        help="汉族、回族……（也可填代码 01、03 或简称“汉”）。",
    ),
    Column(
        "nationality",
        "国籍/地区",
        Kind.CODE,
        True,
        table="nationality",
        help="中国、中国香港……（也可填代码 156）。",
        aliases=("国籍", "国籍地区", "国籍／地区"),
    ),
    Column("overseas", "港澳台侨外", Kind.CODE, True, table="overseas", help="不是港澳台侨外的学生填“否”。"),
    Column("native_place", "籍贯", Kind.TEXT, True, help="如：湖北武汉。"),
    Column("birth_place", "出生地", Kind.TEXT, True, help="如：湖北省武汉市江岸区。", width=20),
    Column("hukou_place", "户口所在地", Kind.TEXT, True, help="户口本上的住址所在地。", width=24),
    Column("hukou_type", "户口性质", Kind.CODE, True, table="hukou_type", help="农业户口或非农业户口。"),
    Column("health", "健康状况", Kind.CODE, True, table="health", help="健康或良好、一般或较弱……"),
    Column(
        "grade",
        "年级",
        Kind.GRADE,
        True,
        help="一年级……九年级，也可写初一……初三、七年级……九年级、高一……高三；须是本校开设的年级。",
    ),
    Column(
        "school_class",
        "班级",
        Kind.CLASS,
        True,
        help="本校该年级已建立的班级名称，如“1班”；不能超过班额。",
        aliases=("班级名称",),
    ),
    Column(
        "enrolled_on",
        "入学年月",
        Kind.MONTH,
        True,
        help="写成 2015-09，也可写 201509、2015年9月或完整日期。",
        aliases=("入学时间", "入学日期"),
    ),
    Column("admission", "入学方式", Kind.CODE, True, table="admission", help="就近入学、普通入学……"),
    Column("attendance", "就读方式", Kind.CODE, True, table="attendance", help="走读或住校。"),
    Column("address", "现住址", Kind.TEXT, True, help="学生现在的居住地址。", width=28),
    Column("phone", "联系电话", Kind.DIGITS, True, help="家庭联系电话。", width=15),
    *_guardian(1, True),
    Column("auxiliary_number", "学籍辅号", Kind.DIGITS, help="省里另行编制的辅号，没有就空着。"),
    Column("class_number", "班内学号", Kind.DIGITS, help="学生在班里的学号。"),
    Column("name_pinyin", "姓名拼音", Kind.TEXT, help="如：ZHANG San。"),
    Column("former_name", "曾用名", Kind.NAME, help="户口本上登记的曾用名。"),
    Column("political_status", "政治面貌", Kind.CODE, table="political", help="共青团员、群众……小学生空着。"),
    Column("mailing_address", "通信地址", Kind.TEXT, help="与现住址不同时填写。", width=28),
    Column("home_address", "家庭地址", Kind.TEXT, help="与现住址不同时填写。", width=28),
    Column("postcode", "邮政编码", Kind.DIGITS, help="6 位数字。"),
    *_guardian(2, False),
    Column("only_child", "是否独生子女", Kind.BOOL, help=BOOL_HELP),
    Column("left_behind", "是否留守儿童", Kind.BOOL, help=BOOL_HELP),
    Column("migrant_child", "是否进城务工人员随迁子女", Kind.BOOL, help=BOOL_HELP, aliases=("是否随迁子女",)),
    Column("orphan", "是否孤儿", Kind.BOOL, help=BOOL_HELP),
    Column("martyr_child", "是否烈士或优抚子女", Kind.BOOL, help=BOOL_HELP),
    Column("disability", "残疾类型", Kind.CODE, table="disability", help="没有残疾的学生空着或填“无残疾”。"),
)
BY_KEY = {column.key: column for column in COLUMNS}
REQUIRED_KEYS = tuple(column.key for column in COLUMNS if column.required)
GUARDIAN_FIELDS = ("name", "relation", "phone", "id_type", "id_number")

# 年级 as written in the file and as exported: the names offices use.
GRADE_LABELS = {
    1: "一年级",
    2: "二年级",
    3: "三年级",
    4: "四年级",
    5: "五年级",
    6: "六年级",
    7: "七年级",
    8: "八年级",
    9: "九年级",
    10: "高一",
    11: "高二",
    12: "高三",
}
GRADE_LIST = (
    "一年级",
    "二年级",
    "三年级",
    "四年级",
    "五年级",
    "六年级",
    "七年级",
    "八年级",
    "九年级",
    "高一",
    "高二",
    "高三",
)

TEXT_FORMAT = "@"
HEADER_COLOUR = "DDE6F3"
REQUIRED_COLOUR = "B42318"
CODES_SHEET = "代码表"
HELP_SHEET = "填写说明"


def _code_labels(column):
    if column.kind == Kind.CODE:
        return [row["label"] for row in codes.table(column.table).rows]
    if column.kind == Kind.GRADE:
        return list(GRADE_LIST)
    if column.kind == Kind.BOOL:
        return ["是", "否"]
    return []


def allowed_values(column):
    """The values a code column takes, for the help sheet: 代码 名称."""
    if column.kind == Kind.CODE:
        return "；".join(f"{row['code']} {row['label']}" for row in codes.table(column.table).rows)
    if column.kind in (Kind.GRADE, Kind.BOOL):
        return "、".join(_code_labels(column))
    return ""


def build_template(columns=COLUMNS):
    """The template workbook: the header row, text formats, drop-down lists and 填写说明."""
    # openpyxl is loaded here, not with this module: the roster's columns are read by every import
    # and export, which write no template (loading it took 0.1 s of each import_roster's start).
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter, quote_sheetname
    from openpyxl.worksheet.datavalidation import DataValidation

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "花名册"
    lists = workbook.create_sheet(CODES_SHEET)
    help_sheet = workbook.create_sheet(HELP_SHEET)
    list_column = 0
    # Data rows the formats and drop-downs reach: enough for a large school's file.
    last_row = 5000
    for index, column in enumerate(columns, start=1):
        letter = get_column_letter(index)
        cell = sheet.cell(row=1, column=index, value=column.header)
        cell.fill = PatternFill("solid", fgColor=HEADER_COLOUR)
        cell.alignment = Alignment(horizontal="center", vertical="center")
        if column.required:
            cell.font = Font(bold=True, color=REQUIRED_COLOUR)
        sheet.column_dimensions[letter].width = max(column.width, len(column.header) * 2 + 2)
        if column.is_text_format:
            # Excel applies a column's style to the cells typed into it: IDs stay text.
            sheet.column_dimensions[letter].number_format = TEXT_FORMAT
        labels = _code_labels(column)
        if labels:
            list_column += 1
            list_letter = get_column_letter(list_column)
            lists.cell(row=1, column=list_column, value=column.header)
            for row, label in enumerate(labels, start=2):
                lists.cell(row=row, column=list_column, value=label)
            source = f"{quote_sheetname(CODES_SHEET)}!${list_letter}$2:${list_letter}${len(labels) + 1}"
            # Not strict: a code (01) or a short label (汉) is accepted too, so Excel only warns.
            validation = DataValidation(type="list", formula1=source, allow_blank=True, errorStyle="warning")
            validation.error = "请从下拉列表中选择，或填写代码。"
            validation.errorTitle = column.header
            validation.add(f"{letter}2:{letter}{last_row}")
            sheet.add_data_validation(validation)
    sheet.freeze_panes = "A2"
    lists.sheet_state = "hidden"
    _write_help(help_sheet, columns)
    return workbook


def _write_help(sheet, columns):
    from openpyxl.styles import Alignment, Font, PatternFill

    sheet.append(["列名", "是否必填", "填写说明", "可填的值"])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor=HEADER_COLOUR)
    for column in columns:
        sheet.append(
            [column.header, "必填" if column.required else "选填", column.help, allowed_values(column)]
        )
    sheet.append([])
    for line in (
        "表头必须在数据之上的一行，列的顺序可以调整；表头上方可以有标题行。",
        "身份证件号、学籍号、电话和日期列请保持文本格式，不要改成数字格式。",
        "整个文件全部正确才会导入；有错误时系统给出错误清单，每行标明行号和错误原因，改正后重新上传。",
        "同一文件重复导入不会重复建档；已有学生按学籍号或身份证件号匹配，只更新非关键信息。"
        "姓名、性别、出生日期、身份证件类型、身份证件号、民族须走关键数据变更。",
    ):
        sheet.append([line])
    for letter, width in (("A", 26), ("B", 10), ("C", 70), ("D", 70)):
        sheet.column_dimensions[letter].width = width
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")


def write_template(target):
    """Write the template to a path or a binary file object."""
    build_template().save(target)
