"""Field validators for registry data (pure functions plus Django validator wrappers)."""

from django.core.exceptions import ValidationError
from stdnum.cn import uscc as stdnum_uscc
from stdnum.exceptions import ValidationError as StdnumError

ERR_USCC = "统一社会信用代码无效（{reason}）"
ERR_REGION_CODE = "行政区划代码须为6、9或12位数字"

# GB/T 2260 codes: 6 digits for 盟市 and 旗县, 9 for 苏木乡镇（街道）, 12 for 社区 (statistical
# division codes extend the county code).
REGION_CODE_LENGTHS = {1: 6, 2: 6, 3: 9, 4: 12}


def normalise_uscc(value: str) -> str:
    """Validate a unified social credit code (GB 32100-2015) with its check character and return
    its compact upper-case form. Raises ValueError with a Chinese reason."""
    try:
        return stdnum_uscc.validate(value)
    except StdnumError as exc:
        raise ValueError(ERR_USCC.format(reason=_stdnum_reason(exc))) from exc


def _stdnum_reason(exc: StdnumError) -> str:
    name = type(exc).__name__
    return {
        "InvalidChecksum": "校验位错误",
        "InvalidLength": "长度应为18位",
        "InvalidFormat": "格式错误",
        "InvalidComponent": "登记管理部门或机构类别代码错误",
    }.get(name, "格式错误")


def validate_uscc(value: str) -> None:
    try:
        normalise_uscc(value)
    except ValueError as exc:
        raise ValidationError(str(exc), code="invalid_uscc") from exc


def validate_region_code(value: str) -> None:
    if not value.isdigit() or len(value) not in {6, 9, 12}:
        raise ValidationError(ERR_REGION_CODE, code="invalid_region_code")


# Characters allowed in the organisation-code part of a USCC (GB 32100-2015: digits and
# upper-case letters except I, O, Z, S, V).
_USCC_BODY_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def make_uscc(*, region_code: str, serial: int) -> str:
    """A valid USCC for demo data and tests: 9 (registered by market regulation) 1 (enterprise),
    the 6-digit region code, a 9-character organisation code from `serial`, and the check
    character computed by python-stdnum."""
    body = []
    n = serial
    for _ in range(8):
        n, digit = divmod(n, len(_USCC_BODY_ALPHABET))
        body.append(_USCC_BODY_ALPHABET[digit])
    org = "M" + "".join(reversed(body))  # 'M'-prefixed codes are what new firms receive today
    first17 = "91" + region_code[:6] + org
    return first17 + stdnum_uscc.calc_check_digit(first17)
