"""How the statistics pages write numbers, periods and list values (Chinese conventions:
no thousands separators in tables, one decimal for shares and days, a dash for nothing)."""

from datetime import date, datetime

from django import template
from django.utils import timezone
from django.utils.translation import get_language

from credit.stats.periods import Period

register = template.Library()
NOTHING = "—"
ENGLISH_MONTHS = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)


def number_text(value) -> str:
    if value is None:
        return NOTHING
    if isinstance(value, float):
        return f"{value:.1f}" if not value.is_integer() else f"{value:.0f}"
    return str(value)


@register.filter
def cell_text(cell) -> str:
    text = number_text(cell.value)
    if cell.unit == "%" and cell.value is not None:
        return f"{text}%"
    return text


@register.filter
def plain_value(value) -> str:
    if value is None or value == "":
        return NOTHING
    if isinstance(value, datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return number_text(value) if isinstance(value, float) else str(value)


@register.filter
def period_label(period: Period) -> str:
    if not (get_language() or "").startswith("en"):
        return period.label
    return english_period(period)


def english_period(period: Period) -> str:
    first, last = period.first_month, period.last_month
    key = period.key
    if first == last:
        return f"{ENGLISH_MONTHS[first.month - 1]} {first.year}"
    if "Q" in key:
        return f"Q{(first.month + 2) // 3} {first.year}"
    if ".." not in key:
        return str(first.year)
    return (
        f"{ENGLISH_MONTHS[first.month - 1]} {first.year} – "
        f"{ENGLISH_MONTHS[last.month - 1]} {last.year}"
    )


@register.filter
def get_chart(charts: dict, table_id: str):
    return charts.get(table_id)
