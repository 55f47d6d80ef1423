"""The world a fault workload starts from, and the workloads themselves, built the same way in
every run: fixed names, codes and usernames, UUIDs and photo bytes drawn from a seeded random
generator. Run twice (once without faults, once with) they must end in the same state."""

import random
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

import requests
from django.test import Client
from PIL import Image

from credit.models import Enterprise, StaffRole
from credit.validators import make_uscc
from tests.e2e.field_app import FieldApp
from tests.e2e.field_app import Photo as PhonePhoto
from tests.factories import DEFAULT_PASSWORD, ContractFactory, ProjectFactory, region, staff
from tests.inspections import imagefactory
from tests.mobile_api.phone import STARTED, sign_in

REGION_CODE = "150100"
# Serials far above what factories use in the same session, so usccs never collide.
USCC_SERIAL_BASE = 700_000
HTTP_TIMEOUT_S = 30


def uscc(serial: int) -> str:
    return make_uscc(region_code=REGION_CODE, serial=USCC_SERIAL_BASE + serial)


def seeded_uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


@dataclass(frozen=True)
class World:
    enterprise_id: int
    project_id: int
    inspector_tokens: tuple[str, ...]
    reviewer_token: str


def build_world(*, inspectors: int) -> World:
    """One firm managing one compound in 呼和浩特 (where the test photos' EXIF puts them),
    `inspectors` inspectors signed in on phones, and a reviewer signed in at the bureau."""
    home = region(REGION_CODE, name="呼和浩特市")
    firm = Enterprise.objects.create(
        uscc=uscc(0), name="青城物业服务有限公司", region=home, legal_representative="张三"
    )
    compound = ProjectFactory(
        name="青城花园",
        address="新城区青城路1号",
        region=home,
        lat=imagefactory.HOHHOT_LAT,
        lon=imagefactory.HOHHOT_LON,
    )
    ContractFactory(enterprise=firm, project=compound, start_date=date(2020, 1, 1))
    tokens = []
    for index in range(inspectors):
        account = staff(
            role=StaffRole.INSPECTOR,
            regions=(REGION_CODE,),
            username=f"fault-inspector-{index}",
            name=f"巡查员{index}",
        )
        tokens.append(sign_in(Client(), account.user.username)["access_token"])
    reviewer = staff(
        role=StaffRole.REVIEWER, regions=(REGION_CODE,), username="fault-reviewer", name="审核员"
    )
    answer = Client().post(
        "/api/bureau/v1/auth/token",
        {"username": reviewer.user.username, "password": DEFAULT_PASSWORD, "device_id": "pc"},
        content_type="application/json",
    )
    assert answer.status_code == 200, answer.content
    return World(
        enterprise_id=firm.id,
        project_id=compound.id,
        inspector_tokens=tuple(tokens),
        reviewer_token=answer.json()["access_token"],
    )


# --- photos ---------------------------------------------------------------------------------


def scene_jpeg(rng: random.Random, *, size: tuple[int, int] = (1600, 1200)) -> bytes:
    """A phone-like JPEG (shapes, Hohhot EXIF) that differs per draw."""
    picture = imagefactory.scene(*size, seed=rng.randrange(1 << 30))
    exif = imagefactory.hohhot_exif(taken="2025:05:06 17:00:00")
    return imagefactory.encode(picture, "JPEG", exif=exif, quality=92)


def noise_jpeg(rng: random.Random, *, size: tuple[int, int]) -> bytes:
    """Random pixels do not compress: a 2000 × 1500 picture is about 4 MB, several upload
    parts and a noticeable time to store and decode."""
    width, height = size
    picture = Image.frombytes("RGB", size, rng.randbytes(width * height * 3))
    exif = imagefactory.hohhot_exif(taken="2025:05:06 17:00:00")
    return imagefactory.encode(picture, "JPEG", exif=exif, quality=92)


# --- inspections over HTTP ------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    finding_uuid: uuid.UUID
    code: str
    photos: tuple[PhonePhoto, ...]


@dataclass(frozen=True)
class Visit:
    """One inspector's inspection of the compound, with its findings and photos."""

    inspection_uuid: uuid.UUID
    findings: tuple[Finding, ...]

    @property
    def photos(self) -> list[PhonePhoto]:
        return [photo for finding in self.findings for photo in finding.photos]


# SANITATION needs one photo, ABANDON (a blacklist violation) two: a confirmed ABANDON makes
# the recompute open a blacklist proposal, one more audited side effect to keep exactly once.
FINDING_CODES = (("SANITATION", 1), ("ABANDON", 2))


def plan_visit(rng: random.Random, *, draw_photo=scene_jpeg) -> Visit:
    findings = tuple(
        Finding(
            finding_uuid=seeded_uuid(rng),
            code=code,
            photos=tuple(PhonePhoto(seeded_uuid(rng), draw_photo(rng)) for _ in range(count)),
        )
        for code, count in FINDING_CODES
    )
    return Visit(inspection_uuid=seeded_uuid(rng), findings=findings)


def phone(base_url: str, token: str) -> FieldApp:
    app = FieldApp(base_url)
    app.token = token
    return app


def record_visit(app: FieldApp, visit: Visit, *, project_id: int) -> list[requests.Response]:
    """PUT the inspection and its findings (declaring every photo); the responses."""
    answers = [
        app.put(
            f"/inspections/{visit.inspection_uuid}",
            {
                "project_id": project_id,
                "started_at": STARTED.isoformat(),
                "location": {
                    "lat": imagefactory.HOHHOT_LAT,
                    "lon": imagefactory.HOHHOT_LON,
                    "accuracy_m": 10.0,
                },
            },
        )
    ]
    for finding in visit.findings:
        answers.append(
            app.put(
                f"/inspections/{visit.inspection_uuid}/findings/{finding.finding_uuid}",
                {
                    "violation_code": finding.code,
                    "description": "现场核实",
                    "observed_at": (STARTED + timedelta(minutes=30)).isoformat(),
                    "photos": [photo.declared() for photo in finding.photos],
                },
            )
        )
    return answers


def submit_visit(app: FieldApp, visit: Visit) -> requests.Response:
    return app.post(
        f"/inspections/{visit.inspection_uuid}/submit",
        {
            "finished_at": (STARTED + timedelta(hours=1)).isoformat(),
            "finding_uuids": [str(finding.finding_uuid) for finding in visit.findings],
        },
    )


def confirm_finding(
    http: requests.Session, base_url: str, reviewer_token: str, finding_uuid: uuid.UUID
) -> requests.Response:
    return http.post(
        f"{base_url}/api/bureau/v1/review/findings/{finding_uuid}",
        json={"decision": "confirm", "comment": "证据充分"},
        headers={"Authorization": f"Bearer {reviewer_token}"},
        timeout=HTTP_TIMEOUT_S,
    )
