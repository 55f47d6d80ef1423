"""Demo data for `manage.py seed_demo`: real Inner Mongolia regions, generated enterprises,
projects, contracts and staff.

Seeding is a list of steps (`STEPS`) run in order on one `DemoContext`. Later capabilities
(credit history, simulated inspection history, a trained risk model, an inspection plan) add
their own step functions to `STEPS`; each step must be idempotent, reading what earlier steps
left in the context. Everything random comes from `ctx.rng`, seeded by `--seed`, so the same
seed gives the same enterprises, names and places.

Idempotency: rows are found by their natural keys (region code, credit code, project region +
name + address, username) and written only when missing or different. Contracts are seeded
only for projects that have none yet, so a second run — even on a later day — adds nothing.
"""

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from backend.audit import SYSTEM_ACTOR
from backend.exceptions import DomainError
from credit.demo import credit_history_seed
from credit.models import (
    CreditRecord,
    Enterprise,
    EnterpriseStatus,
    Region,
    RegionLevel,
    StaffProfile,
    StaffRole,
)
from credit.publication import snapshot_publish
from credit.recompute.firm import recompute_enterprise
from credit.staff import staff_upsert
from credit.validators import make_uscc
from inspections import demo_work
from inspections.models import (
    InspectionPlan,
    ManagementContract,
    Project,
    ProjectType,
    RiskModelVersion,
)
from inspections.risk.features_orm import event_tables
from inspections.risk.plan_services import plan_approve
from inspections.risk.scoring import risk_score_all
from inspections.risk.simulated_history import simulated_history_load
from inspections.risk.training import risk_model_train
from inspections.services.contracts import enterprise_scale_refresh
from ml import metrics
from ml.features import COMPOUND_TYPES, build_dataset
from ml.model import DEFAULT_K
from ml.simulator import Layout, World, oracle_risk, simulate

PROVINCE_CODE = "150000"
PROVINCE_NAME = "内蒙古自治区"


@dataclass(frozen=True)
class Place:
    """A GB/T 2260 division with the approximate WGS-84 position of its seat (two decimals,
    about 1 km: enough to put demo compounds in the right town)."""

    code: str
    name: str
    lat: float
    lon: float


# The 12 leagues and cities (盟市) of Inner Mongolia.
LEAGUES: tuple[Place, ...] = (
    Place("150100", "呼和浩特市", 40.84, 111.75),
    Place("150200", "包头市", 40.66, 109.84),
    Place("150300", "乌海市", 39.66, 106.79),
    Place("150400", "赤峰市", 42.26, 118.89),
    Place("150500", "通辽市", 43.65, 122.24),
    Place("150600", "鄂尔多斯市", 39.61, 109.78),
    Place("150700", "呼伦贝尔市", 49.21, 119.77),
    Place("150800", "巴彦淖尔市", 40.74, 107.39),
    Place("150900", "乌兰察布市", 41.00, 113.13),
    Place("152200", "兴安盟", 46.08, 122.04),
    Place("152500", "锡林郭勒盟", 43.93, 116.05),
    Place("152900", "阿拉善盟", 38.85, 105.73),
)

# A few banners, counties and districts (旗县（市、区）) of each, with their seats.
COUNTIES: dict[str, tuple[Place, ...]] = {
    "150100": (
        Place("150102", "新城区", 40.86, 111.67),
        Place("150103", "回民区", 40.81, 111.62),
        Place("150104", "玉泉区", 40.75, 111.67),
        Place("150105", "赛罕区", 40.79, 111.70),
        Place("150121", "土默特左旗", 40.73, 111.16),
    ),
    "150200": (
        Place("150202", "东河区", 40.58, 110.04),
        Place("150203", "昆都仑区", 40.64, 109.84),
        Place("150204", "青山区", 40.64, 109.90),
        Place("150207", "九原区", 40.61, 109.97),
    ),
    "150300": (
        Place("150302", "海勃湾区", 39.69, 106.82),
        Place("150303", "海南区", 39.44, 106.89),
        Place("150304", "乌达区", 39.51, 106.73),
    ),
    "150400": (
        Place("150402", "红山区", 42.30, 118.95),
        Place("150403", "元宝山区", 42.04, 119.29),
        Place("150404", "松山区", 42.30, 118.92),
        Place("150429", "宁城县", 41.60, 119.32),
    ),
    "150500": (
        Place("150502", "科尔沁区", 43.62, 122.26),
        Place("150523", "开鲁县", 43.60, 121.32),
        Place("150581", "霍林郭勒市", 45.53, 119.68),
    ),
    "150600": (
        Place("150602", "东胜区", 39.82, 109.96),
        Place("150603", "康巴什区", 39.61, 109.79),
        Place("150621", "达拉特旗", 40.41, 110.03),
        Place("150627", "伊金霍洛旗", 39.56, 109.75),
    ),
    "150700": (
        Place("150702", "海拉尔区", 49.21, 119.74),
        Place("150781", "满洲里市", 49.60, 117.38),
        Place("150782", "牙克石市", 49.29, 120.71),
        Place("150783", "扎兰屯市", 48.01, 122.74),
    ),
    "150800": (
        Place("150802", "临河区", 40.75, 107.36),
        Place("150821", "五原县", 41.09, 108.27),
        Place("150826", "杭锦后旗", 40.89, 107.15),
    ),
    "150900": (
        Place("150902", "集宁区", 41.03, 113.12),
        Place("150981", "丰镇市", 40.44, 113.11),
        Place("150925", "凉城县", 40.53, 112.50),
    ),
    "152200": (
        Place("152201", "乌兰浩特市", 46.07, 122.09),
        Place("152202", "阿尔山市", 47.18, 119.94),
        Place("152221", "科尔沁右翼前旗", 46.08, 121.95),
    ),
    "152500": (
        Place("152501", "二连浩特市", 43.64, 111.95),
        Place("152502", "锡林浩特市", 43.93, 116.09),
        Place("152531", "多伦县", 42.20, 116.48),
    ),
    "152900": (
        Place("152921", "阿拉善左旗", 38.83, 105.67),
        Place("152922", "阿拉善右旗", 39.21, 101.67),
        Place("152923", "额济纳旗", 41.95, 101.07),
    ),
}

LEAGUE_BY_CODE = {league.code: league for league in LEAGUES}
COUNTY_BY_CODE = {county.code: county for counties in COUNTIES.values() for county in counties}
# Roughly where the bureau's enterprises are: the large cities hold most of the housing stock.
LEAGUE_WEIGHTS = {
    "150100": 20,
    "150200": 18,
    "150300": 4,
    "150400": 10,
    "150500": 7,
    "150600": 14,
    "150700": 7,
    "150800": 5,
    "150900": 5,
    "152200": 4,
    "152500": 4,
    "152900": 2,
}

DEMO_PASSWORD = "Wuye-Demo-2025"  # noqa: S105 (printed on purpose: demo accounts only)
# Demo credit codes use organisation serials from here up, far from the factories' small ones.
DEMO_USCC_SERIAL_BASE = 700_000_000
# Town compounds sit within a few km of the seat: σ = 0.02° is about 2 km.
PROJECT_JITTER_DEG = 0.02
# Large enough that the risk model can show, on a later hold-out, a lead over the simple
# rankings larger than chance (the promotion gate): some 4,000 compounds, as a mid-sized
# league has. A 60-firm demo of 200 compounds never could, and its model stayed off.
DEFAULT_ENTERPRISES = 300
# Compounds per firm: most manage a handful, a few groups dozens (log-normal, median ~9).
PROJECTS_LOG_MEAN, PROJECTS_LOG_SIGMA, PROJECTS_MAX = 2.2, 0.9, 60
DEFAULT_YEARS = 3
DEFAULT_SEED = 20240501
PROGRESS_EVERY = 500

_BRANDS = (
    "青城", "鹿城", "北疆", "塞北", "敕勒川", "大青山", "阴山", "黄河", "草原", "天骄",
    "恒信", "嘉禾", "和泰", "瑞祥", "鼎盛", "兴业", "润泽", "安泰", "康居", "祥云",
    "金桥", "鸿运", "博源", "瀚海", "长城", "绿源", "宏达", "永安", "德润", "华邦",
)  # fmt: skip
_COMPANY_FORMS = (
    "物业服务有限公司",
    "物业管理有限公司",
    "物业服务集团有限公司",
    "物业有限责任公司",
)
_SURNAMES = "王李张刘陈杨赵黄周吴徐孙马胡郭何高林罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"  # noqa: E501
_GIVEN = (
    "伟", "芳", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀兰", "霞", "平", "刚", "建华", "志强", "海燕", "玉梅", "永胜", "国庆",
)  # fmt: skip
# Mongolian names are written without a Han surname.
_MONGOLIAN_NAMES = ("巴特尔", "乌日娜", "其其格", "额尔敦", "苏和", "斯琴", "那仁", "朝鲁", "萨仁")
MONGOLIAN_NAME_SHARE = 0.2
_ESTATE_WORDS = (
    "阳光", "锦绣", "幸福", "和谐", "金色", "碧水", "紫云", "春华", "丽景", "御景", "康乐",
    "安居", "怡和", "盛世", "富民", "新华", "团结", "友谊", "学府", "滨河", "北辰", "南湖",
)  # fmt: skip
_ESTATE_SUFFIXES = ("花园", "家园", "小区", "嘉苑", "名邸", "新村", "公寓", "华府")
_ROADS = (
    "新华大街", "人民路", "建设路", "迎宾路", "团结路", "民族街", "胜利路", "文化路", "友谊大街",
    "钢铁大街", "鄂尔多斯大街", "中山路", "解放路", "北京路", "锡林南路", "兴安南路",
)  # fmt: skip
# Share and size (m², low–high) of each project type in a city's managed stock.
_PROJECT_MIX: tuple[tuple[str, int, int, int, str], ...] = (
    (ProjectType.RESIDENTIAL, 70, 20_000, 220_000, "{word}{suffix}"),
    (ProjectType.OFFICE, 8, 8_000, 80_000, "{word}大厦"),
    (ProjectType.MALL, 5, 15_000, 120_000, "{word}购物中心"),
    (ProjectType.SCHOOL, 5, 10_000, 60_000, "{county}第{n}中学"),
    (ProjectType.HOSPITAL, 4, 15_000, 90_000, "{county}{word}医院"),
    (ProjectType.PUBLIC, 4, 5_000, 40_000, "{county}{word}政务服务中心"),
    (ProjectType.HOTEL, 2, 8_000, 50_000, "{word}宾馆"),
    (ProjectType.FACTORY, 2, 20_000, 150_000, "{word}工业园"),
)
_MIX_WEIGHTS = [mix[1] for mix in _PROJECT_MIX]
# About a third of Inner Mongolia's compounds predate 2000 (the 老旧小区 renovation target).
OLD_COMPOUND_SHARE = 0.3
# Share of projects whose first contract ended and was re-tendered within the history window.
RETENDER_SHARE = 0.3
# Share of first contracts obtained by tender (old compounds were mostly assigned directly).
TENDER_SHARE = 0.5


@dataclass(frozen=True)
class DemoCredential:
    username: str
    password: str
    role: str
    regions: tuple[str, ...]
    display_name: str


@dataclass
class DemoContext:
    """Shared state of one seeding run. Steps read what earlier steps produced."""

    seed: int
    enterprises: int
    years: int
    today: date
    progress: Callable[[str], None] = lambda message: None
    rng: random.Random = field(init=False)
    enterprise_ids: list[int] = field(default_factory=list)
    project_ids: list[int] = field(default_factory=list)
    credentials: list[DemoCredential] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    world: World | None = None  # the simulated history, when this run wrote it

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)  # noqa: S311 (reproducible demo data, not secrets)


@dataclass(frozen=True)
class DemoStep:
    label: str
    run: Callable[[DemoContext], None]


# --- Regions ----------------------------------------------------------------------------------
def _upsert_region(code: str, name: str, level: int, parent_id: str | None) -> bool:
    region = Region.objects.filter(code=code).first()
    if region is None:
        Region(code=code, name=name, level=level, parent_id=parent_id).save()
        return True
    if (region.name, region.level, region.parent_id) != (name, level, parent_id):
        region.name, region.level, region.parent_id = name, level, parent_id
        region.save(update_fields=["name", "level", "parent", "updated_at"])
        return True
    return False


def seed_regions(ctx: DemoContext) -> None:
    # The model's levels start at 盟市; the autonomous region is stored at that level as the
    # root so that an admin's StaffProfile can point at 150000 (scope "15" in credit.access).
    written = _upsert_region(PROVINCE_CODE, PROVINCE_NAME, RegionLevel.LEAGUE_CITY, None)
    for league in LEAGUES:
        written += _upsert_region(league.code, league.name, RegionLevel.LEAGUE_CITY, PROVINCE_CODE)
        for county in COUNTIES[league.code]:
            written += _upsert_region(
                county.code, county.name, RegionLevel.BANNER_COUNTY, league.code
            )
    ctx.counts["regions_written"] = int(written)


# --- Enterprises ------------------------------------------------------------------------------
def demo_league_codes(ctx: DemoContext) -> list[str]:
    """One enterprise in every league first (every city shows up in the demo), then weighted."""
    codes = [league.code for league in LEAGUES][: ctx.enterprises]
    rest = ctx.enterprises - len(codes)
    weights = [LEAGUE_WEIGHTS[code] for code in LEAGUE_BY_CODE]
    return codes + ctx.rng.choices(list(LEAGUE_BY_CODE), weights=weights, k=rest)


def demo_enterprise_rows(ctx: DemoContext) -> list[dict]:
    """The enterprises as plain values: deterministic for a seed."""
    rows, names = [], set()
    for index, league_code in enumerate(demo_league_codes(ctx)):
        county = ctx.rng.choice(COUNTIES[league_code])
        name = _enterprise_name(ctx.rng, LEAGUE_BY_CODE[league_code].name, names)
        names.add(name)
        rows.append(
            {
                "uscc": make_uscc(region_code=county.code, serial=DEMO_USCC_SERIAL_BASE + index),
                "name": name,
                "legal_representative": _person_name(ctx.rng),
                "address": _firm_address(ctx.rng, county.name),
                "region_id": county.code,
                # A few firms under rectification make the demo's credit pages less uniform.
                "status": EnterpriseStatus.SUSPENDED
                if ctx.rng.random() < 0.05
                else EnterpriseStatus.ACTIVE,
            }
        )
    return rows


def _person_name(rng: random.Random) -> str:
    if rng.random() < MONGOLIAN_NAME_SHARE:
        return rng.choice(_MONGOLIAN_NAMES)
    return rng.choice(_SURNAMES) + rng.choice(_GIVEN)


def _enterprise_name(rng: random.Random, city: str, taken: set[str]) -> str:
    while True:
        brand = rng.choice(_BRANDS)
        second = rng.choice(_BRANDS)
        if second != brand and rng.random() < 0.5:
            brand += second
        name = f"{city}{brand}{rng.choice(_COMPANY_FORMS)}"
        if name not in taken:
            return name


def _upsert(model, lookup: dict, values: dict):
    obj = model.objects.filter(**lookup).first()
    if obj is None:
        obj = model(**lookup, **values)
        obj.full_clean()
        obj.save()
        return obj, True
    changed = [name for name, value in values.items() if getattr(obj, name) != value]
    if changed:
        for name in changed:
            setattr(obj, name, values[name])
        obj.full_clean()
        obj.save(update_fields=[*changed, "updated_at"])
    return obj, bool(changed)


def seed_enterprises(ctx: DemoContext) -> None:
    created = 0
    for row in demo_enterprise_rows(ctx):
        enterprise, written = _upsert(Enterprise, {"uscc": row.pop("uscc")}, row)
        ctx.enterprise_ids.append(enterprise.pk)
        created += written
    ctx.counts["enterprises_written"] = created


# --- Projects and contracts -------------------------------------------------------------------
@dataclass(frozen=True)
class _DemoProject:
    values: dict
    enterprise_id: int
    league_code: str


def demo_project_rows(ctx: DemoContext) -> list[_DemoProject]:
    """Projects of each enterprise (log-normal count, see PROJECTS_LOG_MEAN) in its own league,
    around a county seat."""
    enterprises = Enterprise.objects.filter(pk__in=ctx.enterprise_ids).order_by("uscc")
    rows, keys = [], set()
    for enterprise in enterprises:
        league_code = enterprise.region_id[:4] + "00"
        count = min(
            PROJECTS_MAX, 1 + int(ctx.rng.lognormvariate(PROJECTS_LOG_MEAN, PROJECTS_LOG_SIGMA))
        )
        for _ in range(count):
            county = ctx.rng.choice(COUNTIES[league_code])
            values = _project_values(ctx.rng, county, keys)
            keys.add((values["region_id"], values["name"], values["address"]))
            rows.append(_DemoProject(values, enterprise.pk, league_code))
    return rows


def _project_values(rng: random.Random, county: Place, taken: set) -> dict:
    while True:
        kind, _, low, high, pattern = rng.choices(_PROJECT_MIX, weights=_MIX_WEIGHTS)[0]
        name = pattern.format(
            word=rng.choice(_ESTATE_WORDS),
            suffix=rng.choice(_ESTATE_SUFFIXES),
            county=county.name,
            n=rng.randint(1, 12),
        )
        address = f"{county.name}{rng.choice(_ROADS)}{rng.randint(1, 399)}号"
        if (county.code, name, address) not in taken:
            break
    return {
        "region_id": county.code,
        "name": name,
        "address": address,
        "lat": round(county.lat + rng.gauss(0, PROJECT_JITTER_DEG), 6),
        "lon": round(county.lon + rng.gauss(0, PROJECT_JITTER_DEG), 6),
        "building_area_m2": Decimal(rng.randrange(low, high, 100)),
        "project_type": kind,
        "is_old_compound": kind == ProjectType.RESIDENTIAL and rng.random() < OLD_COMPOUND_SHARE,
    }


def seed_projects_and_contracts(ctx: DemoContext) -> None:
    by_league: dict[str, list[int]] = {}
    for enterprise in Enterprise.objects.filter(pk__in=ctx.enterprise_ids).order_by("uscc"):
        by_league.setdefault(enterprise.region_id[:4] + "00", []).append(enterprise.pk)
    projects_written = contracts_written = 0
    rows = demo_project_rows(ctx)
    for number, row in enumerate(rows, start=1):
        if number % PROGRESS_EVERY == 0:
            ctx.progress(f"      {number}/{len(rows)}")
        values = dict(row.values)
        key = {k: values.pop(k) for k in ("region_id", "name", "address")}
        project, written = _upsert(Project, key, values)
        projects_written += written
        ctx.project_ids.append(project.pk)
        # Drawn for every project, so the random stream (and all later names) stays the same
        # whether or not this project already has contracts.
        plan = _contract_plan(ctx, first=row.enterprise_id, league=by_league[row.league_code])
        if not project.contracts.exists():
            for contract in plan:
                ManagementContract(project=project, **contract).save()
                contracts_written += 1
    enterprise_scale_refresh(enterprise_ids=ctx.enterprise_ids, today=ctx.today)
    ctx.counts["projects_written"] = projects_written
    ctx.counts["contracts_written"] = contracts_written


def _contract_plan(ctx: DemoContext, *, first: int, league: list[int]) -> list[dict]:
    """Every project is managed throughout the history window; some changed hands by tender."""
    rng = ctx.rng
    window_start = ctx.today - timedelta(days=365 * ctx.years)
    start = window_start - timedelta(days=rng.randint(30, 3 * 365))
    first_contract = {
        "enterprise_id": first,
        "start_date": start,
        "end_date": None,
        "by_tender": rng.random() < TENDER_SHARE,
        "contract_no": f"WY{start:%Y}{rng.randint(1, 9999):04d}",
    }
    others = [e for e in league if e != first]
    if not others or rng.random() >= RETENDER_SHARE:
        return [first_contract]
    change = ctx.today - timedelta(days=rng.randint(30, 365 * ctx.years))
    first_contract["end_date"] = change
    return [
        first_contract,
        {
            "enterprise_id": rng.choice(others),
            "start_date": change,
            "end_date": None,
            "by_tender": True,  # a change of manager goes through a tender
            "contract_no": f"WY{change:%Y}{rng.randint(1, 9999):04d}",
        },
    ]


# --- Staff ------------------------------------------------------------------------------------
WEST = ("150100", "150200", "150300", "150600", "150800", "152900")
EAST = ("150400", "150500", "150700", "150900", "152200", "152500")
DEMO_STAFF: tuple[tuple[str, str, tuple[str, ...], str], ...] = (
    ("admin", StaffRole.ADMIN, (PROVINCE_CODE,), "系统管理员"),
    ("reviewer_west", StaffRole.REVIEWER, WEST, "审核员（西部盟市）"),
    ("reviewer_east", StaffRole.REVIEWER, EAST, "审核员（东部盟市）"),
    ("inspector_150100", StaffRole.INSPECTOR, ("150100",), "呼和浩特市巡查员"),
    ("inspector_150200", StaffRole.INSPECTOR, ("150200",), "包头市巡查员"),
    ("inspector_150400", StaffRole.INSPECTOR, ("150400",), "赤峰市巡查员"),
    ("inspector_150600", StaffRole.INSPECTOR, ("150600",), "鄂尔多斯市巡查员"),
)


def seed_staff(ctx: DemoContext) -> None:
    written = 0
    for username, role, regions, display_name in DEMO_STAFF:
        result = staff_upsert(
            username=username,
            role=role,
            region_codes=list(regions),
            password=DEMO_PASSWORD,
            display_name=display_name,
            actor=SYSTEM_ACTOR,
        )
        written += result.changed
        ctx.credentials.append(DemoCredential(username, DEMO_PASSWORD, role, regions, display_name))
    ctx.counts["staff_written"] = written


# --- Running ----------------------------------------------------------------------------------
# Later issues append their steps here (credit history, simulated inspections, model, plan).
STEPS: list[DemoStep] = [
    DemoStep("行政区划 regions", seed_regions),
    DemoStep("物业企业 enterprises", seed_enterprises),
    DemoStep("物业项目与合同 projects and contracts", seed_projects_and_contracts),
    DemoStep("工作人员 staff", seed_staff),
]


def seed_demo(
    *,
    enterprises: int = DEFAULT_ENTERPRISES,
    years: int = DEFAULT_YEARS,
    seed: int = DEFAULT_SEED,
    today: date | None = None,
    progress: Callable[[str], None] = lambda message: None,
) -> DemoContext:
    """Run every step in order, each in its own transaction (a failed step keeps the earlier
    ones; rerunning continues where it stopped)."""
    ctx = DemoContext(
        seed=seed,
        enterprises=enterprises,
        years=years,
        today=today or timezone.localdate(),
        progress=progress,
    )
    for number, step in enumerate(STEPS, start=1):
        progress(f"[{number}/{len(STEPS)}] {step.label} …")
        with transaction.atomic():
            step.run(ctx)
    return ctx


# --- History, risk model and a plan -------------------------------------------------------------
# The simulated world's routine visit rate: the bureau's target of two visits a year per compound.
DEMO_VISITS_PER_YEAR = 2.0
DEMO_PLAN_REGION = "150100"
# One inspector's month: about one compound a working day.
DEMO_PLAN_CAPACITY = 20
HISTORY_REVIEWER = "reviewer_west"
DEMO_ADMIN = "admin"


def _staff_user(username: str):
    return get_user_model().objects.get(username=username)


def seed_credit_history(ctx: DemoContext) -> None:
    """Records, a blacklisting and monthly snapshots through the credit services (credit.demo).
    Skipped when the demo firms already have demo records."""
    if CreditRecord.objects.filter(
        enterprise_id__in=ctx.enterprise_ids, source_ref__startswith="demo-"
    ).exists():
        ctx.counts["credit_records_written"] = 0
        return
    summary = credit_history_seed(
        enterprises=list(Enterprise.objects.filter(pk__in=ctx.enterprise_ids).order_by("uscc")),
        rng=ctx.rng,
        years=ctx.years,
        today=ctx.today,
        reviewer=_staff_user(HISTORY_REVIEWER),
        approver=_staff_user(DEMO_ADMIN),
    )
    ctx.counts["credit_records_written"] = summary.records


def seed_inspection_history(ctx: DemoContext) -> None:
    """`ctx.years` of simulated inspections, findings and complaints at the demo compounds."""
    project_ids = sorted(set(ctx.project_ids))
    days = 365 * ctx.years
    start = ctx.today - timedelta(days=days)
    world = simulate(
        len(ctx.enterprise_ids),
        len(project_ids),
        start,
        days,
        ctx.seed,
        visits_per_year=DEMO_VISITS_PER_YEAR,
        # The hidden truth acts on the managers and compounds the database shows: a model can
        # only learn what its features can see.
        layout=_database_layout(ctx.enterprise_ids, project_ids, start=start, days=days),
    )
    inspectors = {
        profile.user.username.removeprefix("inspector_"): profile
        for profile in StaffProfile.objects.filter(
            role=StaffRole.INSPECTOR, user__username__startswith="inspector_"
        ).select_related("user")
    }
    summary = simulated_history_load(
        world=world,
        project_ids=project_ids,
        inspectors=inspectors,
        fallback_inspector=_staff_user(DEMO_ADMIN).staff_profile,
        reviewer=_staff_user(HISTORY_REVIEWER),
        namespace=uuid.uuid5(uuid.NAMESPACE_URL, f"wuye-credit/demo-history/{ctx.seed}"),
        today=ctx.today,
    )
    ctx.counts["inspections_written"] = summary.inspections
    ctx.world = world


def _database_layout(
    enterprise_ids: list[int], project_ids: list[int], *, start: date, days: int
) -> Layout:
    """The demo projects as the simulator's compounds: manager before and after the contract
    change (if any, within the window), region, type, area and the build year the features see
    (old compounds before 2000, others recent)."""
    position = {enterprise_id: i for i, enterprise_id in enumerate(sorted(enterprise_ids))}
    contracts: dict[int, list[ManagementContract]] = {}
    for contract in ManagementContract.objects.filter(project_id__in=project_ids).order_by(
        "start_date", "id"
    ):
        contracts.setdefault(contract.project_id, []).append(contract)
    projects = Project.objects.in_bulk(project_ids)
    before, after, change_day = [], [], []
    for project_id in project_ids:
        first, *later = contracts[project_id]
        last = later[-1] if later else first
        before.append(position[first.enterprise_id])
        after.append(position[last.enterprise_id])
        change_day.append(min(max((last.start_date - start).days, 0), days) if later else days)
    rows = [projects[i] for i in project_ids]
    return Layout(
        before=np.array(before),
        after=np.array(after),
        change_day=np.array(change_day),
        region_code=np.array([int(p.region_id[:4] + "00") for p in rows]),
        type_idx=np.array([COMPOUND_TYPES.index(p.project_type) for p in rows]),
        area_m2=np.array([float(p.building_area_m2) for p in rows]),
        build_year=np.array([1990 if p.is_old_compound else 2012 for p in rows]),
    )


def seed_risk_model(ctx: DemoContext) -> None:
    """Train on the history, score everything, let the credit scores take the model part and
    publish today's snapshot with it. Skipped when a model exists; a history too thin to learn
    from (a tiny demo) is reported, not fatal."""
    if RiskModelVersion.objects.exists():
        ctx.counts["risk_models_trained"] = 0
        return
    try:
        row = risk_model_train(today=ctx.today, progress=lambda m: ctx.progress(f"      {m}"))
    except DomainError as problem:
        ctx.progress(f"      跳过 skipped: {problem.detail}")
        ctx.counts["risk_models_trained"] = 0
        return
    if ctx.world is not None:
        _record_oracle(row, ctx)
    risk_score_all(today=ctx.today, progress=lambda m: ctx.progress(f"      {m}"))
    for enterprise_id in ctx.enterprise_ids:
        recompute_enterprise(enterprise_id=enterprise_id, as_of=ctx.today)
    snapshot_publish(actor=_staff_user(DEMO_ADMIN), as_of=ctx.today)
    ctx.counts["risk_models_trained"] = 1


def _record_oracle(row: RiskModelVersion, ctx: DemoContext) -> None:
    """How close the model comes to an oracle that knows the simulated truth: both rank the
    hold-out's inspected compounds; their top-10 % precisions and the ratio go on the model's
    metrics (the model card shows them) and on the console."""
    cutoff = date.fromisoformat(row.metadata["holdout_cutoff"])
    holdout = build_dataset(event_tables(as_of=ctx.today), [cutoff])
    compound_of = {p: i + 1 for i, p in enumerate(sorted(set(ctx.project_ids)))}
    truth = oracle_risk(ctx.world, cutoff)
    oracle = truth.reindex([compound_of[p] for p in holdout.compound_ids]).fillna(0).to_numpy()
    oracle_precision = metrics.precision_at_k(holdout.labels, oracle, DEFAULT_K)
    model_precision = row.metrics["holdout"]["model"]["precision_at_k"]
    row.metrics = {
        **row.metrics,
        "oracle": {
            "precision_at_k": oracle_precision,
            "model_over_oracle": model_precision / oracle_precision if oracle_precision else None,
        },
    }
    row.save(update_fields=["metrics", "updated_at"])
    ctx.progress(
        f"      模型 ÷ 知道真相的排序 model ÷ oracle: {model_precision:.3f} ÷ "
        f"{oracle_precision:.3f}（前10%命中率）"
    )


def seed_inspection_plan(ctx: DemoContext) -> None:
    """One approved plan for 呼和浩特 from next Monday, unless the region has a plan already."""
    if InspectionPlan.objects.filter(region_id=DEMO_PLAN_REGION).exists():
        ctx.counts["plans_written"] = 0
        return
    # Plans cannot start in the past, whatever day the demo pretends it is.
    today = max(ctx.today, timezone.localdate())
    plan_approve(
        user=_staff_user(DEMO_ADMIN),
        region_code=DEMO_PLAN_REGION,
        capacity=DEMO_PLAN_CAPACITY,
        start=today + timedelta(days=7 - today.weekday()),
        seed=ctx.seed,
    )
    ctx.counts["plans_written"] = 1


STEPS += [
    DemoStep("信用记录 credit history", seed_credit_history),
    DemoStep("巡查历史（模拟）inspection history", seed_inspection_history),
    DemoStep("风险模型 risk model", seed_risk_model),
    DemoStep("巡查计划 inspection plan", seed_inspection_plan),
    # Last month's statistics reports (the history is complete by now).
    DemoStep("月度统计报告 monthly reports", demo_work.seed_monthly_reports),
    # Work waiting on the bureau desk (inspections.demo_work): every workflow has a case.
    DemoStep("待审核的违规发现 findings to review", demo_work.seed_review_work),
    DemoStep("待批准的黑名单提议 blacklist proposal", demo_work.seed_blacklist_proposal),
    DemoStep("异议期内的异议 objection in its window", demo_work.seed_objection_case),
]


DEMO_STREETS = (
    "新华大街",
    "中山路",
    "锡林南路",
    "昭君路",
    "钢铁大街",
    "阿尔丁大街",
    "鄂尔多斯大街",
)


def _firm_address(rng, county: str) -> str:
    """A registered address in the firm's 旗县: 新城区新华大街 128 号 (demo data only)."""
    return f"{county}{rng.choice(DEMO_STREETS)}{rng.randint(1, 399)}号"
