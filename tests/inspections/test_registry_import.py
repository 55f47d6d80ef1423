import io
import zipfile
from datetime import date, datetime
from decimal import Decimal

import openpyxl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from backend.models import AuditEntry
from credit.models import Enterprise, EnterpriseStatus
from credit.validators import make_uscc
from inspections import registry_import as ri
from inspections import registry_sheet as rs
from inspections.models import ManagementContract, Project, ProjectType
from inspections.registry_import import KindCounts, registry_import
from inspections.registry_sheet import RowError
from tests.factories import ContractFactory, EnterpriseFactory, ProjectFactory, region

pytestmark = pytest.mark.django_db

USCC_A = make_uscc(region_code="150102", serial=501)
USCC_B = make_uscc(region_code="150203", serial=502)


def wrong_check_character(uscc: str) -> str:
    return uscc[:-1] + ("1" if uscc[-1] != "1" else "2")


BAD_USCC = wrong_check_character(make_uscc(region_code="150102", serial=503))
ENTERPRISE_HEADER = ["统一社会信用代码", "企业名称", "法定代表人", "区划代码", "经营状态"]
PROJECT_HEADER = [
    "项目名称",
    "地址",
    "区划代码",
    "纬度",
    "经度",
    "建筑面积（㎡）",
    "项目类型",
    "老旧小区",
    "物业企业信用代码",
    "合同起始日期",
    "合同终止日期",
    "是否招标",
    "合同编号",
]


def enterprise_row(**overrides) -> list:
    values = {
        "uscc": USCC_A,
        "name": "呼和浩特市青城物业服务有限公司",
        "legal": "王伟",
        "region": "150102",
        "status": "正常经营",
    } | overrides
    return [values["uscc"], values["name"], values["legal"], values["region"], values["status"]]


def project_row(**overrides) -> list:
    values = {
        "name": "阳光花园",
        "address": "新城区新华大街1号",
        "region": "150102",
        "lat": 40.86,
        "lon": 111.67,
        "area": 52000,
        "type": "住宅",
        "old": "否",
        "uscc": USCC_A,
        "start": date(2020, 1, 1),
        "end": None,
        "tender": "是",
        "no": "WY2020001",
    } | overrides
    return [
        values[k]
        for k in (
            "name", "address", "region", "lat", "lon", "area", "type", "old", "uscc",
            "start", "end", "tender", "no",
        )
    ]  # fmt: skip


def xlsx(*sheets: tuple[str, list[list]]) -> bytes:
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets:
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_bytes(rows: list[list], encoding: str = "utf-8-sig") -> bytes:
    def cell(value) -> str:
        return "" if value is None else str(value)

    return "\r\n".join(",".join(cell(v) for v in row) for row in rows).encode(encoding)


def run(data: bytes, filename: str = "registry.xlsx") -> ri.ImportReport:
    return registry_import(source=io.BytesIO(data), filename=filename, actor="tester")


def standard_workbook() -> bytes:
    return xlsx(
        ("企业", [ENTERPRISE_HEADER, enterprise_row(), enterprise_row(
            uscc=USCC_B, name="包头市鹿城物业管理有限公司", legal="巴特尔", region="150203"
        )]),
        ("项目", [
            PROJECT_HEADER,
            project_row(end=date(2023, 1, 1)),
            project_row(uscc=USCC_B, start=date(2023, 1, 1), tender="是", no="WY2023007"),
            project_row(
                name="钢城家园", address="昆都仑区钢铁大街8号", region="150203", lat=40.64,
                lon=109.84, area=88000.5, type="residential", old="是", uscc=USCC_B,
                start="2019/5/1", tender="否", no=None,
            ),
        ]),
    )  # fmt: skip


@pytest.fixture(autouse=True)
def regions():
    region("150102", "新城区")
    region("150203", "昆都仑区")


def test_a_valid_workbook_creates_enterprises_projects_and_contracts():
    report = run(standard_workbook())

    assert report.errors == ()
    assert report.enterprises == KindCounts(created=2, updated=0, unchanged=0)
    assert report.projects == KindCounts(created=2, updated=0, unchanged=0)
    assert report.contracts == KindCounts(created=3, updated=0, unchanged=0)
    a = Enterprise.objects.get(uscc=USCC_A)
    assert (a.name, a.legal_representative, a.region_id, a.status) == (
        "呼和浩特市青城物业服务有限公司",
        "王伟",
        "150102",
        EnterpriseStatus.ACTIVE,
    )
    steel = Project.objects.get(name="钢城家园")
    assert (steel.region_id, steel.lat, steel.lon) == ("150203", 40.64, 109.84)
    assert (steel.building_area_m2, steel.project_type, steel.is_old_compound) == (
        Decimal("88000.50"),
        ProjectType.RESIDENTIAL,
        True,
    )
    sunshine = Project.objects.get(name="阳光花园")
    contracts = list(sunshine.contracts.order_by("start_date"))
    assert [(c.enterprise.uscc, c.start_date, c.end_date, c.by_tender) for c in contracts] == [
        (USCC_A, date(2020, 1, 1), date(2023, 1, 1), True),
        (USCC_B, date(2023, 1, 1), None, True),
    ]
    steel_contract = steel.contracts.get()
    assert (steel_contract.start_date, steel_contract.by_tender, steel_contract.contract_no) == (
        date(2019, 5, 1),
        False,
        "",
    )


def test_import_refreshes_the_enterprises_managed_scale():
    run(standard_workbook())

    b = Enterprise.objects.get(uscc=USCC_B)
    a = Enterprise.objects.get(uscc=USCC_A)
    assert (b.managed_projects, b.managed_area_m2) == (2, Decimal("140000.50"))
    assert (a.managed_projects, a.managed_area_m2) == (0, Decimal("0.00"))


def updated_stamps() -> list:
    return [
        *Enterprise.objects.order_by("pk").values_list("updated_at", flat=True),
        *Project.objects.order_by("pk").values_list("updated_at", flat=True),
        *ManagementContract.objects.order_by("pk").values_list("updated_at", flat=True),
    ]


def test_importing_the_same_file_twice_changes_nothing():
    data = standard_workbook()
    run(data)
    stamps = updated_stamps()
    audit_count = AuditEntry.objects.count()

    second = run(data)

    assert second.errors == ()
    assert second.enterprises == KindCounts(created=0, updated=0, unchanged=2)
    assert second.projects == KindCounts(created=0, updated=0, unchanged=2)
    assert second.contracts == KindCounts(created=0, updated=0, unchanged=3)
    assert updated_stamps() == stamps
    assert AuditEntry.objects.count() == audit_count


def test_a_successful_import_is_audited_with_its_counts():
    run(standard_workbook())

    entry = AuditEntry.objects.get(action=ri.AUDIT_ACTION)
    assert entry.actor == "tester"
    assert entry.object_type == "registry_file"
    assert len(entry.object_id) == 64
    assert entry.payload["filename"] == "registry.xlsx"
    assert entry.payload["contracts"] == {"created": 3, "updated": 0, "unchanged": 0}


def test_a_changed_value_updates_only_that_row():
    run(standard_workbook())
    before = Enterprise.objects.get(uscc=USCC_B).updated_at
    changed = xlsx(
        ("企业", [ENTERPRISE_HEADER, enterprise_row(name="呼和浩特市青城物业集团有限公司")])
    )

    report = run(changed)

    assert report.enterprises == KindCounts(created=0, updated=1, unchanged=0)
    assert Enterprise.objects.get(uscc=USCC_A).name == "呼和浩特市青城物业集团有限公司"
    assert Enterprise.objects.get(uscc=USCC_B).updated_at == before


def test_a_blank_optional_text_cell_keeps_the_stored_value():
    run(standard_workbook())

    report = run(xlsx(("企业", [ENTERPRISE_HEADER, enterprise_row(legal=None, status=None)])))

    assert report.enterprises == KindCounts(created=0, updated=0, unchanged=1)
    assert Enterprise.objects.get(uscc=USCC_A).legal_representative == "王伟"


def test_ending_a_running_contract_is_an_update():
    run(standard_workbook())
    steel = project_row(
        name="钢城家园", address="昆都仑区钢铁大街8号", region="150203", lat=40.64, lon=109.84,
        area=88000.5, type="住宅", old="是", uscc=USCC_B, start=date(2019, 5, 1),
        end=date(2024, 6, 30), tender="否", no=None,
    )  # fmt: skip

    report = run(xlsx(("项目", [PROJECT_HEADER, steel])))

    assert report.contracts == KindCounts(created=0, updated=1, unchanged=0)
    assert report.projects == KindCounts(created=0, updated=0, unchanged=1)
    contract = ManagementContract.objects.get(project__name="钢城家园")
    assert contract.end_date == date(2024, 6, 30)
    assert Enterprise.objects.get(uscc=USCC_B).managed_projects == 1


def test_a_project_csv_may_reference_registered_enterprises():
    EnterpriseFactory(uscc=USCC_A, region=region("150102"))
    data = csv_bytes([PROJECT_HEADER, project_row(start="2021-03-01")])

    report = run(data, filename="项目.csv")

    assert report.errors == ()
    assert report.contracts == KindCounts(created=1, updated=0, unchanged=0)
    assert ManagementContract.objects.get().start_date == date(2021, 3, 1)


def test_a_gb18030_csv_from_chinese_excel_is_read():
    data = csv_bytes([ENTERPRISE_HEADER, enterprise_row()], encoding="gb18030")

    report = run(data, filename="企业.csv")

    assert report.errors == ()
    assert Enterprise.objects.get().name == "呼和浩特市青城物业服务有限公司"


def test_a_utf8_csv_without_bom_is_read():
    report = run(csv_bytes([ENTERPRISE_HEADER, enterprise_row()], "utf-8"), "企业.csv")

    assert report.enterprises == KindCounts(created=1, updated=0, unchanged=0)


def test_english_headers_title_rows_and_unknown_columns_are_accepted():
    rows = [
        ["物业企业名录（2024年）"],
        [],
        ["No.", "uscc", "name", "region_code", "备注"],
        [1, USCC_A, "呼和浩特市青城物业服务有限公司", 150102, "新登记"],
    ]

    report = run(xlsx(("Sheet1", rows)))

    assert report.errors == ()
    assert Enterprise.objects.get().region_id == "150102"


def test_a_workbook_without_a_recognisable_table_is_refused():
    report = run(xlsx(("说明", [["请按模板填写"], ["序号", "备注"]])))

    assert report.errors == (RowError(0, "", rs.ERR_NO_TABLE),)


def test_a_table_missing_required_columns_is_refused():
    report = run(xlsx(("项目", [["项目名称", "地址", "区划代码"], ["阳光花园", "x路", "150102"]])))

    assert report.errors == (
        RowError(
            1,
            "",
            rs.ERR_MISSING_COLUMNS.format(columns="纬度、经度、建筑面积、项目类型"),
            "项目",
        ),
    )


BAD_PROJECT_CELLS = [
    ({"region": "159999"}, "区划代码", rs.ERR_REGION_UNKNOWN.format(code="159999")),
    ({"region": "1501"}, "区划代码", rs.ERR_REGION_FORMAT),
    ({"area": 0}, "建筑面积（㎡）", rs.ERR_AREA_POSITIVE),
    ({"area": -5}, "建筑面积（㎡）", rs.ERR_AREA_POSITIVE),
    ({"area": "五万"}, "建筑面积（㎡）", rs.ERR_NUMBER),
    ({"area": 1e11}, "建筑面积（㎡）", rs.ERR_AREA_TOO_BIG),
    ({"lat": 0}, "纬度", rs.ERR_LAT_RANGE),
    ({"lon": 151.2}, "经度", rs.ERR_LON_RANGE),
    ({"lat": 111.67, "lon": 40.86}, "纬度", rs.ERR_LAT_LON_SWAPPED),
    ({"type": "别墅"}, "项目类型", rs.ERR_PROJECT_TYPE.format(choices=rs._PROJECT_TYPE_CHOICES)),
    ({"old": "也许"}, "老旧小区", rs.ERR_BOOLEAN),
    ({"start": "2020-13-01"}, "合同起始日期", rs.ERR_DATE),
    ({"start": "下个月"}, "合同起始日期", rs.ERR_DATE),
    ({"start": date(1900, 1, 1)}, "合同起始日期", rs.ERR_DATE_RANGE),
    ({"end": date(2019, 12, 31)}, "合同终止日期", rs.ERR_END_BEFORE_START),
    ({"uscc": None}, "物业企业信用代码", rs.ERR_CONTRACT_WITHOUT_ENTERPRISE),
    ({"start": None}, "合同起始日期", rs.ERR_CONTRACT_WITHOUT_START),
    ({"name": None}, "项目名称", rs.ERR_REQUIRED),
    ({"address": "x" * 301}, "地址", rs.ERR_CELL_TOO_LONG.format(limit=300)),
    ({"name": '=HYPERLINK("http://evil")'}, "项目名称", rs.ERR_FORMULA),
    ({"name": "+cmd|' /C calc'!A0"}, "项目名称", rs.ERR_INJECTION),
    ({"no": "@SUM(1)"}, "合同编号", rs.ERR_INJECTION),
    (
        {"uscc": wrong_check_character(USCC_A)},
        "物业企业信用代码",
        "统一社会信用代码无效（校验位错误）",
    ),
]


@pytest.mark.parametrize(("overrides", "column", "reason"), BAD_PROJECT_CELLS)
def test_each_bad_project_cell_is_reported_and_nothing_is_written(overrides, column, reason):
    workbook = xlsx(
        ("企业", [ENTERPRISE_HEADER, enterprise_row()]),
        ("项目", [PROJECT_HEADER, project_row(**overrides)]),
    )

    report = run(workbook)

    assert report.errors == (RowError(2, column, reason, "项目"),)
    assert Enterprise.objects.count() == 0
    assert Project.objects.count() == 0


BAD_ENTERPRISE_CELLS = [
    ({"uscc": BAD_USCC}, "统一社会信用代码", "统一社会信用代码无效（校验位错误）"),
    ({"uscc": "1234"}, "统一社会信用代码", "统一社会信用代码无效（长度应为18位）"),
    ({"uscc": 911501020000000000}, "统一社会信用代码", rs.ERR_NOT_TEXT_USCC),
    ({"name": None}, "企业名称", rs.ERR_REQUIRED),
    ({"region": "150999"}, "区划代码", rs.ERR_REGION_UNKNOWN.format(code="150999")),
    ({"status": "破产"}, "经营状态", rs.ERR_STATUS.format(choices=rs._STATUS_CHOICES)),
    ({"legal": "-1+1"}, "法定代表人", rs.ERR_INJECTION),
]


@pytest.mark.parametrize(("overrides", "column", "reason"), BAD_ENTERPRISE_CELLS)
def test_each_bad_enterprise_cell_is_reported(overrides, column, reason):
    report = run(xlsx(("企业", [ENTERPRISE_HEADER, enterprise_row(**overrides)])))

    assert report.errors == (RowError(2, column, reason, "企业"),)
    assert Enterprise.objects.count() == 0


def test_a_formula_cell_is_refused_even_when_its_result_would_be_valid():
    workbook = xlsx(("企业", [ENTERPRISE_HEADER, enterprise_row(region="=150100+2")]))

    report = run(workbook)

    assert report.errors == (RowError(2, "区划代码", rs.ERR_FORMULA, "企业"),)


def test_a_csv_formula_is_refused():
    data = csv_bytes([ENTERPRISE_HEADER, enterprise_row(name="=1+2")])

    report = run(data, filename="企业.csv")

    assert report.errors == (RowError(2, "企业名称", rs.ERR_FORMULA),)


def test_every_bad_row_is_reported_with_its_line_and_nothing_is_written():
    workbook = xlsx(
        ("企业", [
            ENTERPRISE_HEADER,
            enterprise_row(),
            enterprise_row(uscc=BAD_USCC),
            enterprise_row(uscc=USCC_B, region="150888", name=None),
        ]),
        ("项目", [
            PROJECT_HEADER,
            project_row(),
            project_row(name="b", lat=10.0),
            project_row(name="c", area=-1),
        ]),
    )  # fmt: skip

    report = run(workbook)

    assert [(e.sheet, e.line, e.column) for e in report.errors] == [
        ("企业", 3, "统一社会信用代码"),
        ("企业", 4, "企业名称"),
        ("企业", 4, "区划代码"),
        ("项目", 3, "纬度"),
        ("项目", 4, "建筑面积（㎡）"),
    ]
    assert (Enterprise.objects.count(), Project.objects.count()) == (0, 0)
    assert ManagementContract.objects.count() == 0
    assert AuditEntry.objects.filter(action=ri.AUDIT_ACTION).count() == 0


def test_a_credit_code_repeated_in_the_file_is_reported():
    report = run(xlsx(("企业", [ENTERPRISE_HEADER, enterprise_row(), enterprise_row(name="x")])))

    assert report.errors == (
        RowError(3, "统一社会信用代码", rs.ERR_DUPLICATE_ENTERPRISE.format(line=2), "企业"),
    )


def test_rows_of_one_project_must_agree_on_the_project():
    workbook = xlsx(
        ("企业", [ENTERPRISE_HEADER, enterprise_row()]),
        ("项目", [PROJECT_HEADER, project_row(end=date(2022, 1, 1)),
                  project_row(start=date(2022, 1, 1), area=60000, type="办公")]),
    )  # fmt: skip

    report = run(workbook)

    reason = rs.ERR_PROJECT_CONFLICT.format(line=2, fields="建筑面积、项目类型")
    assert report.errors == (RowError(3, "项目名称", reason, "项目"),)


def test_the_same_contract_twice_in_the_file_is_reported():
    workbook = xlsx(
        ("企业", [ENTERPRISE_HEADER, enterprise_row()]),
        ("项目", [PROJECT_HEADER, project_row(), project_row(no="again")]),
    )

    report = run(workbook)

    assert report.errors == (
        RowError(3, "合同起始日期", rs.ERR_DUPLICATE_CONTRACT.format(line=2), "项目"),
    )


def test_a_contract_with_an_unknown_enterprise_is_reported():
    report = run(xlsx(("项目", [PROJECT_HEADER, project_row(uscc=USCC_B)])))

    assert report.errors == (
        RowError(2, "物业企业信用代码", ri.ERR_ENTERPRISE_UNKNOWN.format(uscc=USCC_B), "项目"),
    )


def test_overlapping_contracts_in_the_file_are_reported():
    workbook = xlsx(
        ("企业", [ENTERPRISE_HEADER, enterprise_row()]),
        ("项目", [PROJECT_HEADER, project_row(end=None), project_row(start=date(2022, 1, 1))]),
    )

    report = run(workbook)

    reason = ri.ERR_CONTRACT_OVERLAP.format(start=date(2022, 1, 1))
    assert report.errors == (RowError(2, "合同起始日期", reason, "项目"),)


def test_a_new_contract_overlapping_a_stored_running_one_is_reported():
    enterprise = EnterpriseFactory(uscc=USCC_A, region=region("150102"))
    project = ProjectFactory(
        name="阳光花园", address="新城区新华大街1号", region=region("150102"), lat=40.86,
        lon=111.67, building_area_m2=Decimal("52000"),
    )  # fmt: skip
    ContractFactory(enterprise=enterprise, project=project, start_date=date(2018, 1, 1))

    report = run(xlsx(("项目", [PROJECT_HEADER, project_row(start=date(2022, 1, 1))])))

    reason = ri.ERR_CONTRACT_OVERLAP.format(start=date(2018, 1, 1))
    assert report.errors == (RowError(2, "合同起始日期", reason, "项目"),)


def test_a_file_over_the_size_limit_is_refused(monkeypatch):
    monkeypatch.setattr(rs, "MAX_FILE_BYTES", 100)

    report = run(csv_bytes([ENTERPRISE_HEADER] + [enterprise_row()] * 5), "企业.csv")

    assert report.errors == (RowError(0, "", rs.ERR_FILE_TOO_BIG),)


def test_a_file_over_the_row_limit_is_refused(monkeypatch):
    monkeypatch.setattr(rs, "MAX_DATA_ROWS", 3)
    rows = [enterprise_row(uscc=make_uscc(region_code="150102", serial=n)) for n in range(4)]

    report = run(xlsx(("企业", [ENTERPRISE_HEADER, *rows])))

    assert report.errors == (RowError(5, "", rs.ERR_TOO_MANY_ROWS, "企业"),)
    assert Enterprise.objects.count() == 0


def test_an_overlong_cell_is_refused():
    report = run(xlsx(("企业", [ENTERPRISE_HEADER, enterprise_row(status="正" * 501)])))

    reason = rs.ERR_CELL_TOO_LONG.format(limit=rs.MAX_CELL_CHARS)
    assert report.errors == (RowError(2, "经营状态", reason, "企业"),)


def test_an_xlsx_that_unpacks_too_large_is_refused(monkeypatch):
    monkeypatch.setattr(rs, "MAX_UNPACKED_BYTES", 1000)
    data = xlsx(("企业", [ENTERPRISE_HEADER] + [enterprise_row()] * 50))

    report = run(data)

    assert report.errors == (RowError(0, "", rs.ERR_UNPACKED_TOO_BIG),)


@pytest.mark.parametrize(
    ("data", "filename", "reason"),
    [
        (b"not a zip", "registry.xlsx", rs.ERR_NOT_XLSX),
        (b"\xd0\xcf\x11\xe0 old excel", "registry.xls", rs.ERR_FILE_TYPE),
        (b"", "registry.txt", rs.ERR_FILE_TYPE),
        (b"\xff\xfe\x00\xd8\x00\x00", "registry.csv", rs.ERR_ENCODING),
    ],
)
def test_unreadable_files_are_refused(data, filename, reason):
    report = run(data, filename)

    assert report.errors == (RowError(0, "", reason),)


def test_a_zip_that_is_not_a_workbook_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "hi")

    report = run(buffer.getvalue())

    assert report.errors == (RowError(0, "", rs.ERR_NOT_XLSX),)


def test_dates_numbers_and_booleans_accept_the_forms_staff_type():
    workbook = xlsx(
        ("企业", [ENTERPRISE_HEADER, enterprise_row()]),
        ("项目", [PROJECT_HEADER, project_row(
            start="2020年1月1日", end=datetime(2021, 6, 30, 0, 0), area="52,000.456",
            lat="40.860000001", tender="Y", old="", no=20200001,
        )]),
    )  # fmt: skip

    report = run(workbook)

    assert report.errors == ()
    project = Project.objects.get()
    assert (project.building_area_m2, project.lat, project.is_old_compound) == (
        Decimal("52000.46"),
        40.86,
        False,
    )
    contract = ManagementContract.objects.get()
    assert (contract.start_date, contract.end_date, contract.by_tender, contract.contract_no) == (
        date(2020, 1, 1),
        date(2021, 6, 30),
        True,
        "20200001",
    )


def test_the_command_prints_every_error_and_exits_non_zero(tmp_path, capsys):
    path = tmp_path / "bad.xlsx"
    path.write_bytes(xlsx(("企业", [ENTERPRISE_HEADER, enterprise_row(region="150999")])))

    with pytest.raises(CommandError, match="共 1 处错误"):
        call_command("import_registry", str(path))

    assert (
        "企业 第 2 行 “区划代码”列：区划代码 150999 不存在于行政区划表" in capsys.readouterr().err
    )


def test_the_command_prints_the_counts(tmp_path, capsys):
    path = tmp_path / "registry.xlsx"
    path.write_bytes(standard_workbook())

    call_command("import_registry", str(path), "--actor", "operator")

    out = capsys.readouterr().out
    assert "合同 contracts" in out
    assert AuditEntry.objects.get(action=ri.AUDIT_ACTION).actor == "operator"


def test_the_command_refuses_a_missing_file(tmp_path):
    with pytest.raises(CommandError, match="文件不存在"):
        call_command("import_registry", str(tmp_path / "nope.csv"))


def _big_workbook(count: int, *, bad_line: int | None = None) -> bytes:
    """`count` enterprises, each managing one project; row `bad_line` of 项目 (1-based, header
    = 1) names a credit code whose check character is wrong."""
    usccs = [make_uscc(region_code="150102", serial=10_000 + n) for n in range(count)]
    enterprises = [ENTERPRISE_HEADER] + [
        enterprise_row(uscc=u, name=f"测试物业服务有限公司{n}") for n, u in enumerate(usccs)
    ]
    projects = [PROJECT_HEADER]
    for n, uscc in enumerate(usccs):
        if n + 2 == bad_line:
            uscc = wrong_check_character(uscc)
        projects.append(
            project_row(
                name=f"小区{n}", address=f"新城区测试路{n}号", uscc=uscc, lat=40.8 + n / 1e5
            )
        )
    return xlsx(("企业", enterprises), ("项目", projects))


@pytest.mark.slow
def test_a_5000_row_file_with_one_bad_code_names_that_row_then_the_fixed_file_imports():
    bad = run(_big_workbook(2500, bad_line=1234))

    assert [(e.sheet, e.line, e.column) for e in bad.errors] == [("项目", 1234, "物业企业信用代码")]
    assert (Enterprise.objects.count(), Project.objects.count()) == (0, 0)

    good = run(_big_workbook(2500))

    assert good.errors == ()
    assert good.enterprises.created == good.projects.created == good.contracts.created == 2500

    again = run(_big_workbook(2500))

    assert (again.projects.created, again.projects.updated, again.projects.unchanged) == (
        0,
        0,
        2500,
    )
    assert again.contracts == KindCounts(created=0, updated=0, unchanged=2500)


def test_a_concurrent_write_of_the_same_key_is_reported_and_rolled_back(monkeypatch):
    def collide(rows, snapshot):
        Enterprise.objects.create(uscc=USCC_A, name="并发写入", region_id="150102")
        Enterprise.objects.create(uscc=USCC_A, name="并发写入", region_id="150102")

    monkeypatch.setattr(ri, "write_enterprises", collide)

    report = run(standard_workbook())

    assert report.errors == (RowError(0, "", ri.ERR_CONCURRENT),)
    assert Enterprise.objects.count() == 0


def test_an_address_column_sets_the_firms_registered_address_and_a_missing_one_keeps_it():
    header = [*ENTERPRISE_HEADER, "住所"]
    with_address = xlsx(("企业", [header, [*enterprise_row(), "新城区新华大街128号"]]))
    without_column = xlsx(("企业", [ENTERPRISE_HEADER, enterprise_row()]))

    run(with_address)
    stored = Enterprise.objects.get(uscc=USCC_A).address
    run(without_column)

    assert stored == "新城区新华大街128号"
    assert Enterprise.objects.get(uscc=USCC_A).address == stored
