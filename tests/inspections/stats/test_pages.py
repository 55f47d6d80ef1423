"""The statistics pages, exports, drill-down lists and API against the world of `world.py`:
the CSV, the XLSX, the page and the API hold the same numbers; every linked figure opens a list
of exactly that many records; other regions are refused; bad input is a clear 4xx."""

import csv
import io
import re
from urllib.parse import parse_qs, urlparse

import openpyxl
import pytest
from django.test import Client

from credit.stats.periods import parse_period
from inspections.stats.dashboard import compute_dashboard
from inspections.stats.regions import statistics_region
from inspections.stats.tables import dashboard_tables
from tests.factories import DEFAULT_PASSWORD
from tests.inspections.stats.world import build_world

pytestmark = pytest.mark.django_db
URL = "/bureau/statistics/"
MARCH = "region=150100&period=2026-03"


@pytest.fixture
def world():
    return build_world()


def client_for(profile) -> Client:
    client = Client()
    client.force_login(profile.user)
    return client


def plain(value):
    """A cell as an export writes it, to compare across formats."""
    if value is None or value == "":
        return ""
    return str(value)


def csv_tables(data: bytes) -> dict[str, list[list[str]]]:
    """title → rows (header first) of the sectioned CSV."""
    text = data.decode("utf-8")
    assert text.startswith("\ufeff")
    blocks = text.lstrip("\ufeff").split("\r\n\r\n")
    tables = {}
    for block in blocks[1:]:
        rows = list(csv.reader(io.StringIO(block)))
        tables[rows[0][0]] = rows[1:]
    return tables


def page_tables(html: str) -> dict[str, list[list[str]]]:
    """caption → rows (header first) of the page's tables, as text."""
    tables = {}
    for match in re.finditer(r"<table[^>]*>(.*?)</table>", html, re.S):
        body = match.group(1)
        caption = re.search(r"<caption[^>]*>(.*?)</caption>", body, re.S)
        rows = []
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
            cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
            rows.append([re.sub(r"<[^>]+>", "", c).strip() for c in cells])
        if caption:
            tables[caption.group(1).strip()] = rows
    return tables


def test_the_csv_and_xlsx_exports_hold_the_tables_the_page_shows(world):
    client = client_for(world.reviewer_150100)
    figures = compute_dashboard(
        statistics_region(world.admin.user, "150100"), parse_period("2026-03")
    )
    expected = dashboard_tables(figures)

    page = client.get(f"{URL}?{MARCH}")
    exported = client.get(f"{URL}?{MARCH}&format=csv")
    book = client.get(f"{URL}?{MARCH}&format=xlsx")

    assert page.status_code == exported.status_code == book.status_code == 200
    assert exported["Content-Type"].startswith("text/csv")
    assert 'filename="statistics-150100-2026-03.csv"' in exported["Content-Disposition"]
    from_csv = csv_tables(exported.content)
    from_page = page_tables(page.content.decode())
    workbook = openpyxl.load_workbook(io.BytesIO(book.content), read_only=True)
    sheets = {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in workbook}
    for table in expected:
        values = [[plain(cell.value) for cell in row] for row in table.rows]
        assert from_csv[table.title] == [list(table.columns), *values], table.id
        shown = [[_number(v) for v in row[1:]] for row in from_page[table.title][1:]]
        assert shown == [[_number(v) for v in row[1:]] for row in values], table.id
        sheet = sheets[table.title[:31]]
        width = len(table.columns)
        assert sheet[0] == list(table.columns)
        stored = [_padded([_number(plain(v)) for v in row], width) for row in sheet[1:]]
        assert stored[: len(values)] == [[_number(v) for v in row] for row in values], table.id


def _padded(row: list, width: int) -> list:
    """openpyxl leaves out a row's trailing empty cells."""
    return (row + [None] * width)[:width]


def _number(value: str):
    """A figure as a number whichever way it is written: the page shows 25.0 as "25%" and
    nothing as a dash, a file as "25.0" and an empty cell."""
    text = value.removesuffix("%")
    if text in ("", "—"):
        return None
    try:
        return float(text)
    except ValueError:
        return text


def test_every_linked_figure_opens_a_list_of_that_many_records(world):
    client = client_for(world.reviewer_150100)
    figures = compute_dashboard(
        statistics_region(world.admin.user, "150100"), parse_period("2026-03")
    )
    checked = 0
    for table in dashboard_tables(figures):
        for row in table.rows:
            for cell in row:
                if not cell.href or not isinstance(cell.value, int) or "/list/" not in cell.href:
                    continue
                html = client.get(cell.href).content.decode()
                total = re.search(r"共 (\d+) 条", html)
                assert total, cell.href
                assert int(total.group(1)) == cell.value, (table.id, cell.href)
                checked += 1
    assert checked > 60


def test_a_list_exports_the_rows_it_shows(world):
    client = client_for(world.reviewer_150100)
    url = "/bureau/statistics/list/findings/?region=150100&period=2026-03"
    rows = list(
        csv.reader(
            io.StringIO(
                b"".join(client.get(url + "&format=csv").streaming_content).decode("utf-8-sig")
            )
        )
    )
    book = openpyxl.load_workbook(
        io.BytesIO(client.get(url + "&format=xlsx").content), read_only=True
    )
    sheet = [list(r) for r in book.active.iter_rows(values_only=True)]

    assert rows[0] == ["发现时间", "项目", "违规行为", "审核结果", "审核时间"]
    assert len(rows) == len(sheet) == 4  # three findings of March and the header
    assert [r[2] for r in rows[1:]].count("电梯日常运行管理不到位") == 2
    assert {r[1] for r in rows[1:]} == {"统计小区A", "统计小区C"}


@pytest.mark.parametrize(
    ("who", "region", "status"),
    [
        ("reviewer_150200", "150100", 404),  # a sibling's region
        ("reviewer_150102", "150100", 404),  # the parent of one's own: staff see down, not up
        ("reviewer_150102", "150103", 404),
        ("reviewer_150102", "150102", 200),
        ("reviewer_150100", "150102", 200),  # a child of one's own
        ("reviewer_150100", "999999", 404),
        ("inspector", "150100", 403),
    ],
)
def test_staff_see_their_regions_and_below_only(world, who, region, status):
    client = client_for(getattr(world, who))
    for url in (
        f"{URL}?region={region}&period=2026-03",
        f"{URL}?region={region}&period=2026-03&format=csv",
        f"/bureau/statistics/list/inspections/?region={region}&period=2026-03",
    ):
        assert client.get(url).status_code == status, url


def test_the_default_region_is_the_broadest_of_ones_own(world):
    html = client_for(world.reviewer_150100).get(f"{URL}?period=2026-03").content.decode()
    assert "监管统计：呼和浩特市，2026年3月" in html
    options = re.findall(r'<option value="(\d+)"', html)
    assert options[0] == "150100" and "150102" in options and "150200" not in options


@pytest.mark.parametrize(
    ("query", "status", "text"),
    [
        ("period=2026-13", 400, "统计期间应写作"),
        ("period=1999", 400, "2000 年至 2099 年"),
        ("period=2020-01..2026-03", 400, "不超过 60 个月"),
        ("period=2026-03..2026-01", 400, "起始月份不能晚于"),
        ("period=2026-03&format=pdf", 400, "csv 或 xlsx"),
        ("region=15%00&period=2026-03", None, ""),
    ],
)
def test_bad_input_is_a_clear_refusal(world, query, status, text):
    response = client_for(world.reviewer_150100).get(f"{URL}?{query}")
    if status is None:
        assert 400 <= response.status_code < 500
        return
    assert response.status_code == status
    assert text in response.content.decode()


@pytest.mark.parametrize(
    "path",
    [
        "/bureau/statistics/list/nothing/?period=2026-03",
        "/bureau/statistics/list/inspections/?period=2026-03&kind=bogus",
        "/bureau/statistics/list/findings/?period=2026-03&rule=<script>",
        "/bureau/statistics/list/compounds/?period=2026-03&covered=maybe",
        "/bureau/statistics/reports/999999.pdf",
    ],
)
def test_bad_lists_are_refused_not_guessed(world, path):
    response = client_for(world.reviewer_150100).get(path)
    assert response.status_code in (400, 404)
    assert "<script>" not in response.content.decode()


def bureau_token(profile) -> str:
    answer = Client().post(
        "/api/bureau/v1/auth/token",
        {"username": profile.user.username, "password": DEFAULT_PASSWORD, "device_id": "pc"},
        content_type="application/json",
    )
    assert answer.status_code == 200
    return answer.json()["access_token"]


def test_the_bureau_api_answers_the_same_tables(world):
    token = bureau_token(world.reviewer_150100)
    client = Client()
    answer = client.get(f"/api/bureau/v1/statistics?{MARCH}", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert answer.status_code == 200
    body = answer.json()
    figures = compute_dashboard(
        statistics_region(world.admin.user, "150100"), parse_period("2026-03")
    )
    assert body["region"]["code"] == "150100"
    assert body["period"] == {
        "key": "2026-03",
        "label": "2026年3月",
        "start": "2026-03-01",
        "end": "2026-04-01",
    }
    tables = {t["id"]: t for t in body["tables"]}
    for table in dashboard_tables(figures):
        assert tables[table.id]["rows"] == [[cell.value for cell in row] for row in table.rows]
    other = client.get(
        "/api/bureau/v1/statistics?region=150200&period=2026-03",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert other.status_code == 404 and other.json()["code"] == "unknown_region"
    bad = client.get(
        "/api/bureau/v1/statistics?period=2026-14", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_period"


def test_a_drilldown_link_keeps_the_dashboards_region_and_period(world):
    figures = compute_dashboard(
        statistics_region(world.admin.user, "150100"), parse_period("2026-03")
    )
    hrefs = [c.href for t in dashboard_tables(figures) for r in t.rows for c in r if c.href]
    for href in hrefs:
        query = parse_qs(urlparse(href).query)
        assert query["region"][0] in {"150100", "150102", "150103"}
        assert query["period"][0].startswith(("2025-", "2026-"))
