"""The PDF "Plan de Acción" of one approved version of a productive unit's Fluye
plan, rendered with reportlab's platypus on the actas' typesetting (fonts embedded,
user text drawn as plain text, rows that split across pages).

``render_plan_pdf(view)`` lays out, in Spanish, on Letter paper:

1. the title, the UP's name and the plan version; who the UP is (household,
   owners, community, sector, kind) and who approved this version and when;
2. the six Fluye parts: the value curve of the entrepreneur's profile against
   its target (a line chart and the scores), the business model canvas (nine
   blocks), the ideal customer's archetype (jobs, pains, gains), the six paths
   and the ERRC grid, the value curve of the proposal against the competitors
   (a chart and the scores), and the financial model (investment and sources,
   the projection's totals, NPV, IRR, payback, break-even in units and pesos,
   operating margin), each figure computed by the income domain
   (``finance_math.analyse``) and money written as ``format_cop`` writes it;
3. the viability verdict and the reason of each check.

A part the version lacks is said to be missing rather than left out silently.
Every page ends with "Plan de Acción · <UP> · versión n · Página n de N".
Anything that goes wrong raises ``RenderFailed``; a partial PDF is never returned.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import replace
from decimal import ROUND_HALF_UP, Decimal

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, SimpleDocTemplate, Spacer, Table

from crm_platform.dates import spanish_datetime
from services.documents.domain.errors import RenderFailed
from services.documents.domain.plan_charts import LineChart
from services.documents.domain.plan_view import PlanView
from services.documents.domain.rendering import CONTENT_WIDTH, CREATOR, MARGIN, OPERATOR, PAGE_SIZE, footed
from services.documents.domain.typesetting import (
    BODY,
    FONT,
    GRID,
    HEADER_GRID,
    HEADING,
    LABEL,
    NUMBER,
    OPERATOR_STYLE,
    QUADRANTS,
    SMALL,
    TITLE,
    Text,
    plain,
    table,
)
from services.income.domain.finance import FUNDING_LABELS, FinancialModel
from services.income.domain.finance_math import analyse
from services.income.domain.fluye import (
    ARCHETYPE_LISTS,
    CANVAS_BLOCKS,
    PART_LABELS,
    PATH_LABELS,
    BusinessModelCanvas,
    CompetitionExploration,
    CustomerArchetype,
    Path,
    ProfileCurve,
    ProposalCurve,
)
from services.income.domain.money import format_cop, format_percent

TITLE_TEXT = "Plan de Acción"
SUBHEADING = replace(LABEL, keep_with_next=True)  # a table's title: never the last line of a page
LABEL_WIDTH = CONTENT_WIDTH * 0.34
VERDICT_TITLE = "Dictamen de viabilidad"


def render_plan_pdf(view: PlanView) -> bytes:
    """The PDF of ``view``; raises ``RenderFailed`` (never returns a partial PDF)."""
    subject = f"plan {view.unit_id} v{view.version}"
    try:
        out = io.BytesIO()
        doc = SimpleDocTemplate(
            out,
            pagesize=PAGE_SIZE,
            leftMargin=MARGIN,
            rightMargin=MARGIN,
            topMargin=MARGIN,
            bottomMargin=MARGIN + 6 * mm,
            title=plain(f"{TITLE_TEXT} — {view.unit_name} (versión {view.version})"),
            author="CRM Social",
            subject=plain(subject),
            creator=CREATOR,
            lang="es-CO",
            initialFontName=FONT,
        )
        doc.build(_story(view), canvasmaker=footed(f"{TITLE_TEXT} · {view.unit_name} · versión {view.version}"))
        return out.getvalue()
    except Exception as exc:
        raise RenderFailed(subject, f"{type(exc).__name__}: {exc}") from exc


def _story(view: PlanView) -> list[Flowable]:
    story: list[Flowable] = [
        Text(OPERATOR, OPERATOR_STYLE),
        Text(TITLE_TEXT, TITLE),
        Text(f"{view.unit_name} · Versión {view.version} del plan", NUMBER),
        _facts(view),
    ]
    content = view.content
    parts: list[tuple[str, list[Flowable] | None]] = [
        ("profile", _profile(content.profile) if content.profile else None),
        ("canvas", _canvas(content.canvas) if content.canvas else None),
        ("archetype", _archetype(content.archetype) if content.archetype else None),
        ("exploration", _exploration(content.exploration) if content.exploration else None),
        ("proposal", _proposal(content.proposal) if content.proposal else None),
        ("finance", _finance(content.finance) if content.finance else None),
    ]
    for name, flowables in parts:
        story += _headed(PART_LABELS[name], flowables or [Text("Esta versión del plan no incluye esta parte.", BODY)])
    story += _headed(VERDICT_TITLE, _verdict(view))
    return story


def _headed(heading: str, flowables: list[Flowable]) -> list[Flowable]:
    """A section: its heading kept on the page of what follows it (written out: a
    heading's keep-with-next does not reach a chart's KeepTogether)."""
    first, *rest = flowables
    return [KeepTogether([Text(heading, HEADING), first]), *rest]


def _facts(view: PlanView) -> Table:
    version = str(view.version)
    if view.based_on:
        version += f" (revisa la versión {view.based_on})"
    rows = [
        ("Unidad productiva", view.unit_name),
        ("Hogar", view.household),
        ("Titulares", ", ".join(view.owners) or "—"),
        ("Comunidad", view.community),
        ("Sector", view.sector),
        ("Tipo", view.kind),
        ("Versión del plan", version),
        ("Estado", "Aprobado" if view.status == "approved" else view.status),
        ("Aprobado por", view.approved_by or "—"),
        ("Aprobado el", spanish_datetime(view.approved_at) if view.approved_at else "—"),
    ]
    return _pairs(rows)


def _pairs(rows: Sequence[tuple[str, str]]) -> Table:
    data = [[Text(label, LABEL), Text(value, BODY)] for label, value in rows]
    return table(data, [LABEL_WIDTH, CONTENT_WIDTH - LABEL_WIDTH], GRID)


def _grid(header: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float]) -> Table:
    data = [[Text(h, LABEL) for h in header], *([Text(cell, BODY) for cell in row] for row in rows)]
    return table(data, list(widths), HEADER_GRID)


def _listed(items: Sequence[str]) -> str:
    return "\n".join(f"• {item}" for item in items) if items else "—"


def _scores_table(factors: Sequence[str], series: Sequence[tuple[str, Sequence[int]]]) -> Table:
    columns = len(series)
    first = CONTENT_WIDTH * (0.4 if columns <= 3 else 0.28)
    rest = (CONTENT_WIDTH - first) / max(1, columns)
    rows = [[factor, *(str(scores[i]) for _, scores in series)] for i, factor in enumerate(factors)]
    return _grid(["Factor", *(name for name, _ in series)], rows, [first, *([rest] * columns)])


def _profile(curve: ProfileCurve) -> list[Flowable]:
    factors = [f.name for f in curve.factors]
    series = [("Actual", [f.score for f in curve.factors]), ("Objetivo", [f.target for f in curve.factors])]
    return [
        KeepTogether(
            [
                Text("Curva de valor del perfil (actual) frente a la curva objetivo, puntajes de 0 a 10.", SMALL),
                LineChart(factors, series, CONTENT_WIDTH),
                Spacer(1, 4),
            ]
        ),
        _scores_table(factors, series),
    ]


def _canvas(canvas: BusinessModelCanvas) -> list[Flowable]:
    rows = [(label[:1].upper() + label[1:], _listed(getattr(canvas, block))) for block, label in CANVAS_BLOCKS.items()]
    return [_pairs(rows)]


def _archetype(archetype: CustomerArchetype) -> list[Flowable]:
    rows = [("Descripción del cliente ideal", archetype.description)]
    rows += [
        (label[:1].upper() + label[1:], _listed(getattr(archetype, name))) for name, label in ARCHETYPE_LISTS.items()
    ]
    return [_pairs(rows)]


def _exploration(found: CompetitionExploration) -> list[Flowable]:
    paths = [(PATH_LABELS[path], str(found.paths.get(path, found.paths.get(path.value, "")))) for path in Path]
    half = CONTENT_WIDTH / 2
    quadrants = [
        [Text("Eliminar", LABEL), Text("Incrementar", LABEL)],
        [Text(_listed(found.eliminate), BODY), Text(_listed(found.raise_), BODY)],
        [Text("Reducir", LABEL), Text("Crear", LABEL)],
        [Text(_listed(found.reduce), BODY), Text(_listed(found.create), BODY)],
    ]
    return [
        Text("Las seis rutas de exploración", SUBHEADING),
        _pairs(paths),
        Spacer(1, 6),
        # The title inside: a KeepTogether takes no keep-with-next from the flowable before it.
        KeepTogether(
            [
                Text("Matriz ERIC (eliminar, reducir, incrementar, crear)", SUBHEADING),
                table(quadrants, [half, half], QUADRANTS),
            ]
        ),
    ]


def _proposal(curve: ProposalCurve) -> list[Flowable]:
    series = [("Propuesta", list(curve.proposal)), *((c.name, list(c.scores)) for c in curve.competitors)]
    return [
        KeepTogether(
            [
                Text("Curva de valor de la propuesta frente a cada competidor, puntajes de 0 a 10.", SMALL),
                LineChart(curve.factors, series, CONTENT_WIDTH),
                Spacer(1, 4),
            ]
        ),
        _scores_table(curve.factors, series),
    ]


def _finance(model: FinancialModel) -> list[Flowable]:
    analysis = analyse(model)
    funding = [
        (f"Aporte de {label}", format_cop(getattr(model.funding, name))) for name, label in FUNDING_LABELS.items()
    ]
    investment = [
        ("Inversión inicial", format_cop(model.investment)),
        *funding,
        ("Tasa de descuento", f"{format_percent(model.annual_discount_rate)} efectivo anual"),
    ]
    months = len(model.months)
    variable = sum((m.variable_costs for m in model.months), Decimal(0))
    fixed = sum((m.fixed_costs for m in model.months), Decimal(0))
    projection = [
        ("Horizonte", f"{months} meses"),
        ("Ventas totales", format_cop(analysis.total_sales)),
        ("Costos variables totales", format_cop(variable)),
        ("Costos fijos totales", format_cop(fixed)),
        ("Flujo operativo total", format_cop(analysis.total_operating_flow)),
        ("Ventas promedio al mes", format_cop(analysis.total_sales / months)),
    ]
    irr = analysis.irr
    payback = analysis.payback_month
    discounted = analysis.discounted_payback_month
    even = analysis.average_break_even
    margin = analysis.operating_margin
    figures = [
        ("Valor presente neto (VPN)", format_cop(analysis.npv)),
        (
            "Tasa interna de retorno (TIR) mensual",
            format_percent(irr.monthly) if irr.monthly is not None else irr.reason,
        ),
        ("Tasa interna de retorno (TIR) anual", format_percent(irr.annual) if irr.annual is not None else irr.reason),
        ("Periodo de recuperación", f"Mes {payback}" if payback else "No se recupera dentro de la proyección"),
        (
            "Periodo de recuperación descontado",
            f"Mes {discounted}" if discounted else "No se recupera dentro de la proyección",
        ),
        (
            "Punto de equilibrio (unidades al mes)",
            f"{_decimal(even.units, 1)} unidades" if even.units is not None else even.reason,
        ),
        ("Punto de equilibrio (ventas al mes)", format_cop(even.sales) if even.sales is not None else even.reason),
        ("Margen operativo", format_percent(margin) if margin is not None else "Sin ventas proyectadas"),
    ]
    return [
        Text("Inversión y fuentes de financiación", SUBHEADING),
        _pairs(investment),
        Spacer(1, 6),
        Text("Resumen de la proyección", SUBHEADING),
        _pairs(projection),
        Spacer(1, 6),
        Text("Indicadores financieros", SUBHEADING),
        _pairs(figures),
    ]


def _verdict(view: PlanView) -> list[Flowable]:
    verdict = view.verdict
    if verdict is None:
        return [Text("Sin modelo financiero no hay dictamen de viabilidad.", BODY)]
    lines: list[Flowable] = [Text(f"Resultado: {verdict.label}", LABEL)]
    rows = [("Cumple" if passed else "No cumple", message) for passed, message in verdict.checks]
    if rows:
        lines.append(_pairs(rows))
    else:
        lines.append(Text("El programa no tiene criterios de viabilidad configurados.", BODY))
    return lines


def _decimal(value: Decimal, places: int) -> str:
    """A number in Spanish notation: ``1.234,5``."""
    quantum = Decimal(1).scaleb(-places)
    text = f"{value.quantize(quantum, rounding=ROUND_HALF_UP):,}"
    return text.replace(",", "_").replace(".", ",").replace("_", ".")
