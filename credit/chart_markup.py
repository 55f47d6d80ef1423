"""The score chart's SVG and its data table's rows as markup, from `credit.charts` geometry.

Written here rather than in the template because it is the loop of the public page: a point
per publication, each a marker, a tooltip and a table row. Django's template engine spends
about 0.1 ms per point on it (three years of monthly snapshots: ~4 ms, most of a firm page's
rendering); formatting strings takes a tenth of that. Everything that is text for people —
titles, captions, column names — stays in the template, translated; this module writes only
numbers, dates and grades, each escaped.
"""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from credit.charts import ScoreChart

TICK_INSET = 6  # px between a band's minimum and the plot


def score_chart_svg(chart: ScoreChart) -> SafeString:
    """The gutter (each band's grade and minimum) and the plot (bands, the score line, a
    marker per point with its tooltip, the latest score and the dates), decorative both: the
    template's wrapper carries the chart's name and description."""
    height = chart.height
    gutter = [f'<svg class="gutter" width="{chart.gutter}" height="{height}" aria-hidden="true">']
    plot = [f'<svg class="chart plot" width="100%" height="{height}" aria-hidden="true">']
    for band in chart.bands:
        strip = (
            f'<rect class="band tone-{band.tone}" x="0" y="{band.y}" width="100%" '
            f'height="{band.height}"/>'
        )
        gutter.append(strip)
        plot.append(strip)
        gutter.append(
            f'<text class="band-name" x="6" y="{band.label_y}">{escape(band.grade)}</text>'
        )
        if band.tick_y is not None:
            gutter.append(
                f'<text class="tick" x="{chart.gutter - TICK_INSET}" y="{band.tick_y}" '
                f'dy="4.5" text-anchor="end">{escape(band.min_score)}</text>'
            )
            plot.append(
                f'<line class="band-line" x1="0" x2="100%" y1="{band.tick_y}" y2="{band.tick_y}"/>'
            )
    plot.append(
        f'<line class="axis" x1="0" x2="100%" y1="{chart.plot_bottom}" '
        f'y2="{chart.plot_bottom}"/>'
        f'<svg x="0" y="0" width="100%" height="{height}" viewBox="0 0 {chart.line_units} '
        f'{height}" preserveAspectRatio="none"><polyline class="score-line" '
        f'points="{chart.polyline}" vector-effect="non-scaling-stroke"/></svg>'
    )
    plot.extend(
        f'<circle class="point" cx="{p.x}%" cy="{p.y}" r="4"><title>{p.as_of.isoformat()}: '
        f"{escape(p.score)} ({escape(p.grade)})</title></circle>"
        for p in chart.markers
    )
    last = chart.last
    plot.append(
        f'<text class="last-score" x="{last.x}%" y="{last.y}" dx="-6" dy="-9" '
        f'text-anchor="end">{escape(last.score)}</text>'
    )
    plot.extend(
        f'<text class="axis-label" x="{x}%" y="{chart.label_baseline}" '
        f'text-anchor="{anchor}">{escape(label)}</text>'
        for x, anchor, label in chart.x_labels
    )
    return mark_safe("".join(gutter) + "</svg>" + "".join(plot) + "</svg>")  # noqa: S308


def history_rows(chart: ScoreChart) -> SafeString:
    """The data table's rows, latest first."""
    return mark_safe(  # noqa: S308 - numbers, dates and grades, each escaped
        "".join(
            f'<tr><td class="when">{p.as_of.isoformat()}</td><td>{escape(p.score)}</td>'
            f"<td>{escape(p.grade)}</td></tr>"
            for p in reversed(chart.points)
        )
    )
