"""Reading the registry spreadsheet, with no database access: it imports only the apps'
vocabularies (`credit.choices`, `inspections.choices`) and validators, never a model (an
import-linter contract keeps it so).

bytes + file name → typed tables → parsed rows and a `RowError` for every bad cell. The file is
treated as hostile: size, row, column and cell-length limits, zip-bomb check, formula cells and
text a spreadsheet would run as a formula (=, +, -, @) refused, every value type-checked.
`FORMAT_HELP` is the format staff fill in (printed by `import_registry --help` and shown on the
admin import page). Checks that need the database (known enterprises, stored contracts) live in
`inspections.registry_import`.
"""

import csv
import io
import math
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import BinaryIO, Literal

from openpyxl import load_workbook
from openpyxl.utils.datetime import from_excel

from credit.choices import EnterpriseStatus
from credit.validators import normalise_uscc
from inspections.choices import CHINA_LAT_RANGE, CHINA_LON_RANGE, ProjectType

# --- Limits (the file comes from outside and is treated as hostile) --------------------------
# The whole of Inner Mongolia's ledger is about 10,000 projects; 5x headroom.
MAX_DATA_ROWS = 50_000
# 50,000 rows are about 4 MB as xlsx and 7 MB as CSV (GB18030); 20 MB leaves room for styling.
MAX_FILE_MB = 20
MAX_FILE_BYTES = MAX_FILE_MB * 1024 * 1024
# The same 50,000 rows unpack to about 25 MB of sheet XML; far more means a zip bomb.
MAX_UNPACKED_BYTES = 200 * 1024 * 1024
MAX_SHEETS = 20
MAX_COLUMNS = 60
# The longest stored field is an address (300 characters); anything longer is not registry data.
MAX_CELL_CHARS = 500
# Title rows (表名, 填报单位, 日期) sometimes sit above the header row.
HEADER_SEARCH_ROWS = 5
# Contract dates outside this window are typing errors (2103 for 2013, 1900 from a blank cell).
EARLIEST_DATE = date(1980, 1, 1)
LATEST_DATE = date(2100, 12, 31)
# 12 digits with 2 decimals in the model: anything at or above 10^10 m² cannot be stored.
MAX_AREA_M2 = Decimal("9999999999.99")
# Sub-metre precision is beyond what a phone or a map pick gives; rounding makes re-imports of
# the same value compare equal whatever float text the spreadsheet produced.
COORDINATE_DECIMALS = 6

# --- Messages (Chinese first: staff read them) ------------------------------------------------
ERR_FILE_TOO_BIG = f"文件超过 {MAX_FILE_MB} MB 上限"
ERR_FILE_TYPE = "只接受 .xlsx 或 .csv 文件（旧版 .xls 请在 Excel/WPS 中另存为 .xlsx）"
ERR_NOT_XLSX = "文件不是有效的 .xlsx 工作簿"
ERR_UNPACKED_TOO_BIG = "工作簿解压后过大，疑似恶意文件"
ERR_TOO_MANY_SHEETS = f"工作表超过 {MAX_SHEETS} 个"
ERR_ENCODING = "无法识别 CSV 文件编码（请保存为 UTF-8 或 GB18030/GBK）"
ERR_CSV = "CSV 文件格式错误：{detail}"
ERR_NO_TABLE = "未找到可识别的企业表或项目表（表头须包含“统一社会信用代码、企业名称”或“项目名称”）"
ERR_MISSING_COLUMNS = "缺少必填列：{columns}"
ERR_DUPLICATE_COLUMN = "列“{header}”与列“{other}”含义相同，只能保留一列"
ERR_TOO_MANY_COLUMNS = f"列数超过 {MAX_COLUMNS} 列上限"
ERR_TOO_MANY_ROWS = f"数据行超过 {MAX_DATA_ROWS} 行上限，请分批导入"
ERR_FORMULA = "不接受公式，请粘贴为数值"
ERR_CONTROL_CHARACTER = "内容含有不可见的控制字符"
ERR_INJECTION = "内容不得以 = + - @ 开头（可能被表格软件当作公式执行）"
ERR_CELL_TOO_LONG = "内容超过 {limit} 个字符"
ERR_REQUIRED = "必填"
ERR_NOT_TEXT_USCC = "统一社会信用代码须以文本格式填写（数字格式会丢失末位）"
ERR_REGION_FORMAT = "区划代码须为6、9或12位数字"
ERR_REGION_UNKNOWN = "区划代码 {code} 不存在于行政区划表"
ERR_NUMBER = "不是有效的数字"
ERR_AREA_POSITIVE = "建筑面积须大于 0"
ERR_AREA_TOO_BIG = "建筑面积超出可保存范围"
ERR_LAT_RANGE = f"纬度须在中国境内（{CHINA_LAT_RANGE[0]}～{CHINA_LAT_RANGE[1]}）"
ERR_LON_RANGE = f"经度须在中国境内（{CHINA_LON_RANGE[0]}～{CHINA_LON_RANGE[1]}）"
ERR_LAT_LON_SWAPPED = "纬度和经度可能填反了"
ERR_PROJECT_TYPE = "项目类型无效，可选：{choices}"
ERR_STATUS = "经营状态无效，可选：{choices}"
ERR_BOOLEAN = "须填写“是”或“否”"
ERR_DATE = "不是有效的日期（例如 2024-03-01）"
ERR_DATE_RANGE = "日期超出合理范围（1980年至2100年）"
ERR_CONTRACT_WITHOUT_ENTERPRISE = "填写了合同信息，但缺少物业企业信用代码"
ERR_CONTRACT_WITHOUT_START = "填写了物业企业，但缺少合同起始日期"
ERR_END_BEFORE_START = "合同终止日期须晚于起始日期"
ERR_DUPLICATE_CONTRACT = "与第 {line} 行是同一项目的同一起始日期的合同"
ERR_PROJECT_CONFLICT = "与第 {line} 行是同一项目（区划、名称、地址相同），但{fields}不一致"
ERR_DUPLICATE_ENTERPRISE = "统一社会信用代码与第 {line} 行重复"

FORMAT_HELP = f"""\
文件：.xlsx（Excel/WPS）或 .csv（UTF-8，可带 BOM；或 GB18030/GBK）。
表头行须在前 5 行内，其上的标题行会被跳过；序号、备注等其他列会被忽略。带 * 的列必填。

企业表（工作表名习惯为“企业”）：
  统一社会信用代码*  企业名称*  区划代码*（注册地）  法定代表人
  经营状态（正常经营/停业整顿/已退出市场）

项目表（工作表名习惯为“项目”），每行一份物业服务合同，重新招标的项目写多行：
  项目名称*  地址*  区划代码*  纬度*  经度*（WGS-84）  建筑面积*（㎡）
  项目类型*（住宅/办公/厂房/医院/学校/商场/酒店/公共建筑）  老旧小区（是/否）
  物业企业信用代码  合同起始日期  合同终止日期（空=仍在履行）  是否招标（是/否）  合同编号

一个 .xlsx 可同时含两张表；一个 .csv 只含一张表，项目引用的企业须已登记或先导入企业表。
同一项目 = 区划代码 + 项目名称 + 地址；同一合同 = 同一项目 + 合同起始日期。已有数据仅在取值
不同时更新，重复导入同一文件不会改变任何数据。可选文本列留空不会清除已有内容；是/否列留空视为“否”。
日期写作 2024-03-01、2024/3/1、2024年3月1日 或 Excel 日期格式；坐标为十进制度数。
任何一行有错则整个文件都不导入，并列出所有错误行。
限制：文件不超过 {MAX_FILE_MB} MB，数据行不超过 {MAX_DATA_ROWS} 行，
单元格不超过 {MAX_CELL_CHARS} 字；不接受公式，也不接受以 = + - @ 开头的文本（防止公式注入）。

English headers are accepted too: uscc, name, legal_representative, address, region_code, status;
project_name, address, region_code, lat, lon, building_area_m2, project_type, is_old_compound,
enterprise_uscc, contract_start, contract_end, by_tender, contract_no.
"""


# --- Results ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class RowError:
    """One problem in the file. `line` is the spreadsheet row number staff see (header = 1
    unless title rows sit above it); 0 means the file as a whole."""

    line: int
    column: str
    reason: str
    sheet: str = ""

    def describe(self) -> str:
        where = [self.sheet] if self.sheet else []
        if self.line:
            where.append(f"第 {self.line} 行")
        if self.column:
            where.append(f"“{self.column}”列")
        return f"{' '.join(where) or '文件'}：{self.reason}"


class FileRefused(Exception):
    """The file as a whole cannot be read (size, type, encoding, structure)."""

    def __init__(self, reason: str, *, sheet: str = "", line: int = 0):
        super().__init__(reason)
        self.error = RowError(line=line, column="", reason=reason, sheet=sheet)


# --- Columns ---------------------------------------------------------------------------------
TableKind = Literal["enterprises", "projects"]

ENTERPRISE_COLUMNS: dict[str, tuple[str, ...]] = {
    "uscc": ("统一社会信用代码", "社会信用代码", "信用代码", "uscc", "credit_code"),
    "name": ("企业名称", "名称", "name", "enterprise_name"),
    "legal_representative": ("法定代表人", "法人代表", "法人", "legal_representative"),
    "address": ("住所", "企业住所", "注册地址", "企业地址", "address"),
    "region_code": ("区划代码", "注册地区划代码", "行政区划代码", "region_code"),
    "status": ("经营状态", "状态", "status"),
}
ENTERPRISE_REQUIRED = ("uscc", "name", "region_code")

PROJECT_COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("项目名称", "小区名称", "project_name"),
    "address": ("地址", "项目地址", "address"),
    "region_code": ("区划代码", "所在区划代码", "行政区划代码", "region_code"),
    "lat": ("纬度", "lat", "latitude"),
    "lon": ("经度", "lon", "lng", "longitude"),
    "building_area_m2": ("建筑面积", "building_area_m2", "building_area", "area_m2"),
    "project_type": ("项目类型", "project_type"),
    "is_old_compound": ("老旧小区", "是否老旧小区", "is_old_compound", "old_compound"),
    "enterprise_uscc": (
        "物业企业信用代码",
        "物业企业统一社会信用代码",
        "统一社会信用代码",
        "enterprise_uscc",
    ),
    "contract_start": ("合同起始日期", "合同开始日期", "起始日期", "contract_start", "start_date"),
    "contract_end": ("合同终止日期", "合同结束日期", "终止日期", "contract_end", "end_date"),
    "by_tender": ("是否招标", "招投标", "通过招投标取得", "by_tender"),
    "contract_no": ("合同编号", "contract_no"),
}
PROJECT_REQUIRED = (
    "name",
    "address",
    "region_code",
    "lat",
    "lon",
    "building_area_m2",
    "project_type",
)
CONTRACT_FIELDS = ("enterprise_uscc", "contract_start", "contract_end", "by_tender", "contract_no")

COLUMN_LABELS: dict[TableKind, dict[str, str]] = {
    "enterprises": {key: aliases[0] for key, aliases in ENTERPRISE_COLUMNS.items()},
    "projects": {key: aliases[0] for key, aliases in PROJECT_COLUMNS.items()},
}


def normalise_header(text: object) -> str:
    """'建筑面积（㎡）*' → '建筑面积'; 'Latitude ' → 'latitude'. NFKC folds full-width brackets."""
    value = unicodedata.normalize("NFKC", str(text or "")).strip().lower()
    value = re.sub(r"\(.*?\)|\[.*?\]", "", value)
    return re.sub(r"[\s*＊:：]", "", value)


def _alias_index(columns: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {normalise_header(alias): key for key, aliases in columns.items() for alias in aliases}


ENTERPRISE_ALIASES = _alias_index(ENTERPRISE_COLUMNS)
PROJECT_ALIASES = _alias_index(PROJECT_COLUMNS)
_PROJECT_MARKERS = {normalise_header(a) for a in PROJECT_COLUMNS["name"]}
_ENTERPRISE_NAME_MARKERS = {normalise_header(a) for a in ENTERPRISE_COLUMNS["name"]}
_ENTERPRISE_USCC_MARKERS = {normalise_header(a) for a in ENTERPRISE_COLUMNS["uscc"]}


def classify_header(headers: Iterable[object]) -> TableKind | None:
    names = {normalise_header(h) for h in headers}
    if names & _PROJECT_MARKERS:
        return "projects"
    if names & _ENTERPRISE_NAME_MARKERS and names & _ENTERPRISE_USCC_MARKERS:
        return "enterprises"
    return None


# --- Reading the file into raw tables ---------------------------------------------------------
@dataclass(frozen=True)
class Cell:
    value: object  # str | int | float | bool | datetime | None
    is_formula: bool = False


@dataclass(frozen=True)
class RawRow:
    line: int
    cells: dict[str, Cell]


@dataclass
class Table:
    sheet: str
    kind: TableKind
    headers: dict[str, str]  # field key → the header as written in the file
    rows: list[RawRow] = field(default_factory=list)

    def label(self, key: str) -> str:
        return self.headers.get(key) or COLUMN_LABELS[self.kind][key]


def _is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def build_tables(
    sheets: Iterable[tuple[str, Iterator[tuple[int, list[Cell]]]]], *, single: bool
) -> list[Table]:
    """Turn (sheet name, numbered rows) into typed tables. Sheets without a recognisable header
    (instructions, lookups) are skipped in a workbook; a CSV file must be a table."""
    tables: list[Table] = []
    data_rows = 0
    for sheet, rows in sheets:
        table: Table | None = None
        columns: dict[int, str] = {}
        for line, cells in rows:
            if table is None:
                if line > HEADER_SEARCH_ROWS:
                    break
                kind = classify_header(c.value for c in cells)
                if kind is not None:
                    table, columns = _start_table(sheet, kind, line, cells)
                continue
            if all(_is_blank(c.value) for c in cells):
                continue
            data_rows += 1
            if data_rows > MAX_DATA_ROWS:
                raise FileRefused(ERR_TOO_MANY_ROWS, sheet=sheet, line=line)
            picked = {key: cells[i] for i, key in columns.items() if i < len(cells)}
            table.rows.append(RawRow(line=line, cells=picked))
        if table is not None:
            tables.append(table)
        elif single:
            raise FileRefused(ERR_NO_TABLE)
    if not tables:
        raise FileRefused(ERR_NO_TABLE)
    return tables


def _start_table(
    sheet: str, kind: TableKind, line: int, cells: list[Cell]
) -> tuple[Table, dict[int, str]]:
    if len(cells) > MAX_COLUMNS and any(not _is_blank(c.value) for c in cells[MAX_COLUMNS:]):
        raise FileRefused(ERR_TOO_MANY_COLUMNS, sheet=sheet, line=line)
    aliases = PROJECT_ALIASES if kind == "projects" else ENTERPRISE_ALIASES
    columns: dict[int, str] = {}
    headers: dict[str, str] = {}
    for index, cell in enumerate(cells):
        written = str(cell.value or "").strip()
        key = aliases.get(normalise_header(written))
        if key is None:
            continue
        if key in headers:
            reason = ERR_DUPLICATE_COLUMN.format(header=written, other=headers[key])
            raise FileRefused(reason, sheet=sheet, line=line)
        columns[index], headers[key] = key, written
    required = PROJECT_REQUIRED if kind == "projects" else ENTERPRISE_REQUIRED
    missing = [COLUMN_LABELS[kind][key] for key in required if key not in headers]
    if missing:
        reason = ERR_MISSING_COLUMNS.format(columns="、".join(missing))
        raise FileRefused(reason, sheet=sheet, line=line)
    return Table(sheet=sheet, kind=kind, headers=headers), columns


def read_tables(data: bytes, *, filename: str) -> list[Table]:
    name = filename.lower()
    if name.endswith(".xlsx"):
        return build_tables(_xlsx_sheets(data), single=False)
    if name.endswith(".csv"):
        return build_tables([("", _csv_rows(data))], single=True)
    raise FileRefused(ERR_FILE_TYPE)


def _xlsx_sheets(data: bytes) -> Iterator[tuple[str, Iterator[tuple[int, list[Cell]]]]]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile as exc:
        raise FileRefused(ERR_NOT_XLSX) from exc
    if unpacked > MAX_UNPACKED_BYTES:
        raise FileRefused(ERR_UNPACKED_TOO_BIG)
    try:
        # read_only streams rows; data_only=False keeps formulas visible so they can be refused.
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many types for a corrupt package
        raise FileRefused(ERR_NOT_XLSX) from exc
    try:
        try:
            sheets = workbook.worksheets
        except Exception as exc:  # a damaged workbook part, read lazily
            raise FileRefused(ERR_NOT_XLSX) from exc
        if len(sheets) > MAX_SHEETS:
            raise FileRefused(ERR_TOO_MANY_SHEETS)
        for sheet in sheets:
            if not hasattr(sheet, "iter_rows"):  # chart sheets hold no cells
                continue
            # Dimensions written by other programs are often wrong; read what is there.
            sheet.reset_dimensions()
            yield sheet.title, _xlsx_rows(sheet)
    finally:
        workbook.close()


def _xlsx_rows(sheet) -> Iterator[tuple[int, list[Cell]]]:
    """openpyxl parses a read-only sheet's XML while rows are iterated, so a damaged sheet
    raises here (ParseError, TypeError, BadZipFile on a bad CRC, …), not when it is opened."""
    rows = enumerate(sheet.iter_rows(), start=1)
    while True:
        try:
            line, row = next(rows)
            cells = [Cell(cell.value, cell.data_type == "f") for cell in row[: MAX_COLUMNS + 1]]
        except StopIteration:
            return
        except Exception as exc:
            raise FileRefused(ERR_NOT_XLSX, sheet=sheet.title) from exc
        yield line, cells


def decode_csv(data: bytes) -> str:
    # UTF-8 first (strict, BOM stripped): GB18030 decodes almost any byte string, so trying it
    # first would turn UTF-8 files into mojibake.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise FileRefused(ERR_ENCODING)


def _csv_rows(data: bytes) -> Iterator[tuple[int, list[Cell]]]:
    reader = csv.reader(io.StringIO(decode_csv(data), newline=""))
    try:
        for line, row in enumerate(reader, start=1):
            yield line, [Cell(value) for value in row[: MAX_COLUMNS + 1]]
    except csv.Error as exc:
        raise FileRefused(ERR_CSV.format(detail=exc)) from exc


# --- Parsing cells ----------------------------------------------------------------------------
class CellInvalid(ValueError):
    """A cell's value is refused; the message is the Chinese reason."""


def _scalar(cell: Cell) -> object:
    if cell.is_formula or (isinstance(cell.value, str) and cell.value.lstrip().startswith("=")):
        raise CellInvalid(ERR_FORMULA)
    value = cell.value
    if isinstance(value, str):
        if len(value) > MAX_CELL_CHARS:
            raise CellInvalid(ERR_CELL_TOO_LONG.format(limit=MAX_CELL_CHARS))
        # NUL and other control characters: PostgreSQL refuses NUL in text, and none of them
        # belongs in a name or an address (tab and line breaks are kept).
        if _CONTROL_CHARACTERS.search(value):
            raise CellInvalid(ERR_CONTROL_CHARACTER)
        value = value.strip()
        return value or None
    return value


_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _integral_text(value: object) -> str:
    """Numbers typed into text columns (合同编号 20230001, 区划代码 150102) read back as text."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def parse_text(cell: Cell, *, max_length: int) -> str | None:
    value = _scalar(cell)
    if value is None:
        return None
    if isinstance(value, datetime | bool):
        raise CellInvalid(ERR_NUMBER)
    text = _integral_text(value)
    if len(text) > 1 and text[0] in "=+-@":
        raise CellInvalid(ERR_INJECTION)
    if len(text) > max_length:
        raise CellInvalid(ERR_CELL_TOO_LONG.format(limit=max_length))
    return text


def parse_uscc(cell: Cell) -> str | None:
    value = _scalar(cell)
    if value is None:
        return None
    if not isinstance(value, str):
        raise CellInvalid(ERR_NOT_TEXT_USCC)
    try:
        return normalise_uscc(value)
    except ValueError as exc:
        raise CellInvalid(str(exc)) from exc


def parse_region_code(cell: Cell, *, known: set[str]) -> str | None:
    value = _scalar(cell)
    if value is None:
        return None
    text = _integral_text(value)
    if not text.isascii() or not text.isdigit() or len(text) not in (6, 9, 12):
        raise CellInvalid(ERR_REGION_FORMAT)
    if text not in known:
        raise CellInvalid(ERR_REGION_UNKNOWN.format(code=text))
    return text


def _number(cell: Cell) -> float | None:
    value = _scalar(cell)
    if value is None:
        return None
    if isinstance(value, bool | datetime):
        raise CellInvalid(ERR_NUMBER)
    if isinstance(value, int | float):
        number = float(value)
    else:
        text = unicodedata.normalize("NFKC", str(value)).replace(",", "")
        try:
            number = float(text)
        except ValueError as exc:
            raise CellInvalid(ERR_NUMBER) from exc
    if not math.isfinite(number):
        raise CellInvalid(ERR_NUMBER)
    return number


def parse_coordinate(cell: Cell, *, bounds: tuple[float, float], message: str) -> float | None:
    number = _number(cell)
    if number is None:
        return None
    if not bounds[0] <= number <= bounds[1]:
        raise CellInvalid(message)
    return round(number, COORDINATE_DECIMALS)


def parse_area(cell: Cell) -> Decimal | None:
    number = _number(cell)
    if number is None:
        return None
    try:
        area = Decimal(repr(number)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    except InvalidOperation as exc:
        raise CellInvalid(ERR_AREA_TOO_BIG) from exc
    if area <= 0:
        raise CellInvalid(ERR_AREA_POSITIVE)
    if area > MAX_AREA_M2:
        raise CellInvalid(ERR_AREA_TOO_BIG)
    return area


def _choice_index(choices: type, synonyms: dict[str, str]) -> dict[str, str]:
    index = {str(label): value for value, label in choices.choices}
    index |= {value: value for value in choices.values}
    index |= synonyms
    return {normalise_header(k): v for k, v in index.items()}


PROJECT_TYPE_INDEX = _choice_index(
    ProjectType,
    {
        "住宅小区": ProjectType.RESIDENTIAL,
        "小区": ProjectType.RESIDENTIAL,
        "写字楼": ProjectType.OFFICE,
        "办公楼": ProjectType.OFFICE,
        "工业厂房": ProjectType.FACTORY,
        "工业园区": ProjectType.FACTORY,
        "商业": ProjectType.MALL,
        "商业综合体": ProjectType.MALL,
        "公共": ProjectType.PUBLIC,
        "机关": ProjectType.PUBLIC,
    },
)
STATUS_INDEX = _choice_index(
    EnterpriseStatus,
    {
        "正常": EnterpriseStatus.ACTIVE,
        "存续": EnterpriseStatus.ACTIVE,
        "在业": EnterpriseStatus.ACTIVE,
        "停业": EnterpriseStatus.SUSPENDED,
        "退出": EnterpriseStatus.EXITED,
        "注销": EnterpriseStatus.EXITED,
        "吊销": EnterpriseStatus.EXITED,
    },
)
_PROJECT_TYPE_CHOICES = "、".join(str(label) for label in ProjectType.labels)
_STATUS_CHOICES = "、".join(str(label) for label in EnterpriseStatus.labels)


def parse_choice(cell: Cell, *, index: dict[str, str], message: str) -> str | None:
    value = _scalar(cell)
    if value is None:
        return None
    choice = index.get(normalise_header(value))
    if choice is None:
        raise CellInvalid(message)
    return choice


_TRUE = {"是", "y", "yes", "true", "1", "√", "✓", "招标"}
_FALSE = {"否", "n", "no", "false", "0", "×", "✗", "无"}


def parse_bool(cell: Cell) -> bool:
    """Blank means 否: staff only mark the exceptions."""
    value = _scalar(cell)
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    text = normalise_header(_integral_text(value))
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise CellInvalid(ERR_BOOLEAN)


_DATE_PATTERN = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
# Excel's serial day numbers: 29221 is 1980-01-01 and 73415 is 2100-12-31.
_EXCEL_SERIAL_RANGE = (29221, 73415)


def parse_date(cell: Cell) -> date | None:
    value = _scalar(cell)
    if value is None:
        return None
    if isinstance(value, datetime):
        parsed = value.date()
    elif isinstance(value, date):
        parsed = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if not _EXCEL_SERIAL_RANGE[0] <= value <= _EXCEL_SERIAL_RANGE[1]:
            raise CellInvalid(ERR_DATE)
        parsed = from_excel(value).date()
    else:
        text = unicodedata.normalize("NFKC", str(value)).split(" ")[0]
        match = _DATE_PATTERN.match(text)
        if match is None:
            raise CellInvalid(ERR_DATE)
        try:
            parsed = date(*(int(part) for part in match.groups()))
        except ValueError as exc:
            raise CellInvalid(ERR_DATE) from exc
    if not EARLIEST_DATE <= parsed <= LATEST_DATE:
        raise CellInvalid(ERR_DATE_RANGE)
    return parsed


# --- Parsed rows ------------------------------------------------------------------------------
@dataclass(frozen=True)
class EnterpriseRow:
    sheet: str
    line: int
    uscc: str
    name: str
    region_code: str
    legal_representative: str | None  # None: keep what is stored
    status: str | None
    address: str | None = None  # None: keep what is stored


ProjectKey = tuple[str, str, str]  # (region code, name, address)


@dataclass(frozen=True)
class ContractRow:
    enterprise_uscc: str
    start_date: date
    end_date: date | None
    by_tender: bool
    contract_no: str | None


@dataclass(frozen=True)
class ProjectRow:
    sheet: str
    line: int
    name: str
    address: str
    region_code: str
    lat: float
    lon: float
    building_area_m2: Decimal
    project_type: str
    is_old_compound: bool | None  # None: column absent, keep what is stored
    contract: ContractRow | None

    @property
    def key(self) -> ProjectKey:
        return (self.region_code, self.name, self.address)

    def attributes(self) -> dict[str, object]:
        return {
            "lat": self.lat,
            "lon": self.lon,
            "building_area_m2": self.building_area_m2,
            "project_type": self.project_type,
            "is_old_compound": self.is_old_compound,
        }


class _RowParser:
    """Parses one raw row, collecting every bad cell rather than stopping at the first."""

    def __init__(self, table: Table, row: RawRow, known_regions: set[str]):
        self.table, self.row, self.known_regions = table, row, known_regions
        self.errors: list[RowError] = []

    def region_code(self) -> str | None:
        return self.get(
            "region_code",
            lambda cell: parse_region_code(cell, known=self.known_regions),
            required=True,
        )

    def present(self, key: str) -> bool:
        return key in self.table.headers

    def get(self, key: str, parser: Callable[[Cell], object], *, required: bool = False):
        cell = self.row.cells.get(key, Cell(None))
        try:
            value = parser(cell)
        except CellInvalid as exc:
            self.fail(key, str(exc))
            return None
        if value is None and required:
            self.fail(key, ERR_REQUIRED)
        return value

    def fail(self, key: str, reason: str) -> None:
        self.errors.append(
            RowError(
                line=self.row.line, column=self.table.label(key), reason=reason,
                sheet=self.table.sheet,
            )
        )  # fmt: skip


def _text(max_length: int) -> Callable[[Cell], str | None]:
    return lambda cell: parse_text(cell, max_length=max_length)


def parse_enterprise_row(
    table: Table, row: RawRow, known_regions: set[str]
) -> tuple[EnterpriseRow | None, list[RowError]]:
    p = _RowParser(table, row, known_regions)
    uscc = p.get("uscc", parse_uscc, required=True)
    name = p.get("name", _text(200), required=True)
    region_code = p.region_code()
    legal = p.get("legal_representative", _text(64))
    address = p.get("address", _text(300))
    status = p.get(
        "status",
        lambda c: parse_choice(
            c, index=STATUS_INDEX, message=ERR_STATUS.format(choices=_STATUS_CHOICES)
        ),
    )
    if p.errors:
        return None, p.errors
    return (
        EnterpriseRow(table.sheet, row.line, uscc, name, region_code, legal, status, address),
        [],
    )


def _lat(cell: Cell) -> float | None:
    return parse_coordinate(cell, bounds=CHINA_LAT_RANGE, message=ERR_LAT_RANGE)


def _lon(cell: Cell) -> float | None:
    return parse_coordinate(cell, bounds=CHINA_LON_RANGE, message=ERR_LON_RANGE)


def _looks_swapped(row: RawRow) -> bool:
    try:
        lat, lon = (
            _number(row.cells.get("lat", Cell(None))),
            _number(row.cells.get("lon", Cell(None))),
        )
    except CellInvalid:
        return False
    return (
        lat is not None
        and lon is not None
        and CHINA_LON_RANGE[0] <= lat <= CHINA_LON_RANGE[1]
        and CHINA_LAT_RANGE[0] <= lon <= CHINA_LAT_RANGE[1]
    )


def parse_project_row(
    table: Table, row: RawRow, known_regions: set[str]
) -> tuple[ProjectRow | None, list[RowError]]:
    p = _RowParser(table, row, known_regions)
    name = p.get("name", _text(200), required=True)
    address = p.get("address", _text(300), required=True)
    region_code = p.region_code()
    if _looks_swapped(row):
        p.fail("lat", ERR_LAT_LON_SWAPPED)
    else:
        lat = p.get("lat", _lat, required=True)
        lon = p.get("lon", _lon, required=True)
    area = p.get("building_area_m2", parse_area, required=True)
    project_type = p.get(
        "project_type",
        lambda c: parse_choice(
            c,
            index=PROJECT_TYPE_INDEX,
            message=ERR_PROJECT_TYPE.format(choices=_PROJECT_TYPE_CHOICES),
        ),
        required=True,
    )
    is_old = p.get("is_old_compound", parse_bool) if p.present("is_old_compound") else None
    contract = _parse_contract(p)
    if p.errors:
        return None, p.errors
    return (
        ProjectRow(
            table.sheet, row.line, name, address, region_code, lat, lon, area, project_type,
            is_old, contract,
        ),
        [],
    )  # fmt: skip


def _parse_contract(p: _RowParser) -> ContractRow | None:
    errors_before = len(p.errors)
    uscc = p.get("enterprise_uscc", parse_uscc)
    start = p.get("contract_start", parse_date)
    end = p.get("contract_end", parse_date)
    by_tender = p.get("by_tender", parse_bool)
    number = p.get("contract_no", _text(64))
    contract_given = any(
        not _is_blank(p.row.cells.get(key, Cell(None)).value) for key in CONTRACT_FIELDS
    )
    if not contract_given or len(p.errors) > errors_before:
        return None
    if uscc is None:
        p.fail("enterprise_uscc", ERR_CONTRACT_WITHOUT_ENTERPRISE)
        return None
    if start is None:
        p.fail("contract_start", ERR_CONTRACT_WITHOUT_START)
        return None
    if end is not None and end <= start:
        p.fail("contract_end", ERR_END_BEFORE_START)
        return None
    return ContractRow(uscc, start, end, bool(by_tender), number)


def read_limited(source: BinaryIO) -> bytes:
    data = source.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise FileRefused(ERR_FILE_TOO_BIG)
    return data


@dataclass(frozen=True)
class ParsedSheet:
    enterprises: tuple[EnterpriseRow, ...]
    projects: tuple[ProjectRow, ...]
    errors: tuple[RowError, ...]
    sheet_order: tuple[str, ...]

    def error_order(self, error: RowError) -> tuple:
        """Sort key: sheets in workbook order, then line, then column."""
        position = self.sheet_order.index(error.sheet) if error.sheet in self.sheet_order else -1
        return (position, error.line, error.column, error.reason)


def parse_registry(data: bytes, *, filename: str, known_regions: set[str]) -> ParsedSheet:
    """Parse and check everything that needs no database beyond the set of region codes.
    Raises FileRefused when the file as a whole cannot be read."""
    tables = read_tables(data, filename=filename)
    enterprises: list[EnterpriseRow] = []
    projects: list[ProjectRow] = []
    errors: list[RowError] = []
    for table in tables:
        for raw in table.rows:
            if table.kind == "enterprises":
                parsed, row_errors = parse_enterprise_row(table, raw, known_regions)
                enterprises += [parsed] if parsed else []
            else:
                parsed, row_errors = parse_project_row(table, raw, known_regions)
                projects += [parsed] if parsed else []
            errors += row_errors
    errors += _check_duplicate_enterprises(enterprises)
    errors += _check_project_groups(projects)
    return ParsedSheet(
        tuple(enterprises), tuple(projects), tuple(errors), tuple(t.sheet for t in tables)
    )


def row_error(row: EnterpriseRow | ProjectRow, key: str, reason: str) -> RowError:
    kind: TableKind = "projects" if isinstance(row, ProjectRow) else "enterprises"
    return RowError(line=row.line, column=COLUMN_LABELS[kind][key], reason=reason, sheet=row.sheet)


def _check_duplicate_enterprises(rows: list[EnterpriseRow]) -> list[RowError]:
    first: dict[str, EnterpriseRow] = {}
    errors = []
    for row in rows:
        if row.uscc in first:
            errors.append(
                row_error(row, "uscc", ERR_DUPLICATE_ENTERPRISE.format(line=first[row.uscc].line))
            )
        else:
            first[row.uscc] = row
    return errors


_ATTRIBUTE_LABELS = {
    "lat": "纬度",
    "lon": "经度",
    "building_area_m2": "建筑面积",
    "project_type": "项目类型",
    "is_old_compound": "老旧小区",
}


def _check_project_groups(rows: list[ProjectRow]) -> list[RowError]:
    """Several rows may describe one project (one per contract): they must agree on the project
    and must not repeat a contract start date."""
    first: dict[ProjectKey, ProjectRow] = {}
    starts: dict[tuple[ProjectKey, date], ProjectRow] = {}
    errors = []
    for row in rows:
        head = first.setdefault(row.key, row)
        if head is not row:
            a, b = head.attributes(), row.attributes()
            differing = [_ATTRIBUTE_LABELS[k] for k in a if a[k] != b[k]]
            if differing:
                reason = ERR_PROJECT_CONFLICT.format(line=head.line, fields="、".join(differing))
                errors.append(row_error(row, "name", reason))
        if row.contract:
            earlier = starts.setdefault((row.key, row.contract.start_date), row)
            if earlier is not row:
                errors.append(
                    row_error(
                        row, "contract_start", ERR_DUPLICATE_CONTRACT.format(line=earlier.line)
                    )
                )
    return errors
