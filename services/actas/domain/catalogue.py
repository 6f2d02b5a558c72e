"""The seed set of acta templates, as the operator's field teams use them."""

from __future__ import annotations

from services.actas.domain.templates import FieldSpec, FieldType, Template

T = FieldType

_COMMON = (
    FieldSpec("fecha", "Fecha de la actividad", T.DATE),
    FieldSpec("lugar", "Lugar", T.TEXT, max_length=200),
    FieldSpec("ubicacion", "Ubicación GPS", T.GPS_POINT, required=False),
)
_CLOSING = (
    FieldSpec("compromisos", "Compromisos acordados", T.TEXT, required=False),
    FieldSpec("fotos", "Registro fotográfico", T.PHOTO, required=False),
    FieldSpec("firmantes", "Participantes que firman", T.SIGNATURE_LIST),
)

CATALOGUE: tuple[Template, ...] = (
    Template(
        "visita_domiciliaria",
        1,
        "Acta de visita domiciliaria",
        (
            *_COMMON,
            FieldSpec("hogar", "Hogar visitado", T.FAMILY_REF),
            FieldSpec(
                "motivo",
                "Motivo de la visita",
                T.SINGLE_CHOICE,
                options=("seguimiento", "caracterizacion", "entrega_documentos", "atencion_caso"),
            ),
            FieldSpec("situacion_encontrada", "Situación encontrada", T.TEXT),
            FieldSpec("personas_presentes", "Personas presentes", T.NUMBER, minimum=1, maximum=30),
            *_CLOSING,
        ),
    ),
    Template(
        "capacitacion",
        1,
        "Acta de capacitación",
        (
            *_COMMON,
            FieldSpec("tema", "Tema", T.TEXT, max_length=300),
            FieldSpec(
                "eje",
                "Eje del programa",
                T.SINGLE_CHOICE,
                options=("emprendimiento", "empresarismo", "empleabilidad", "educacion_financiera"),
            ),
            FieldSpec("duracion_horas", "Duración (horas)", T.NUMBER, minimum=0.5, maximum=12),
            FieldSpec("asistentes", "Número de asistentes", T.NUMBER, minimum=1, maximum=500),
            *_CLOSING,
        ),
    ),
    Template(
        "asamblea_comunitaria",
        1,
        "Acta de asamblea comunitaria",
        (
            *_COMMON,
            FieldSpec("orden_del_dia", "Orden del día", T.TEXT),
            FieldSpec("decisiones", "Decisiones tomadas", T.TEXT),
            FieldSpec("quorum", "¿Hubo quórum?", T.SINGLE_CHOICE, options=("si", "no")),
            FieldSpec("asistentes", "Número de asistentes", T.NUMBER, minimum=1, maximum=2000),
            *_CLOSING,
        ),
    ),
    Template(
        "seguimiento_unidad_productiva",
        1,
        "Acta de seguimiento a unidad productiva",
        (
            *_COMMON,
            FieldSpec("titular", "Titular de la unidad productiva", T.BENEFICIARY_REF),
            FieldSpec(
                "estado", "Estado de la unidad", T.SINGLE_CHOICE, options=("activa", "en_riesgo", "inactiva", "cerrada")
            ),
            FieldSpec("ventas_mes", "Ventas del último mes (COP)", T.NUMBER, minimum=0),
            FieldSpec(
                "aspectos_revisados",
                "Aspectos revisados",
                T.MULTIPLE_CHOICE,
                options=("inventario", "contabilidad", "mercadeo", "formalizacion", "credito"),
            ),
            FieldSpec("observaciones", "Observaciones", T.TEXT),
            *_CLOSING,
        ),
    ),
    # Version 2 carries what Generación de Ingresos attaches to the UP: which UP,
    # whether it operates, monthly sales, jobs and problems (services/income).
    Template(
        "seguimiento_unidad_productiva",
        2,
        "Acta de seguimiento a unidad productiva",
        (
            *_COMMON,
            FieldSpec("unidad_productiva", "Código de la unidad productiva", T.TEXT, max_length=64),
            FieldSpec("titular", "Titular de la unidad productiva", T.BENEFICIARY_REF),
            FieldSpec("opera", "¿La unidad está operando?", T.SINGLE_CHOICE, options=("si", "no")),
            FieldSpec("ventas_mes", "Ventas del último mes (COP)", T.NUMBER, minimum=0),
            FieldSpec("empleos", "Empleos que genera", T.NUMBER, minimum=0, maximum=500),
            FieldSpec("problemas", "Problemas encontrados", T.TEXT, required=False),
            FieldSpec("observaciones", "Observaciones", T.TEXT, required=False),
            *_CLOSING,
        ),
    ),
    Template(
        "orientacion_fes",
        1,
        "Acta de orientación FES (Fondo de Educación Superior)",
        (
            *_COMMON,
            FieldSpec("estudiante", "Estudiante", T.BENEFICIARY_REF),
            FieldSpec(
                "etapa",
                "Etapa",
                T.SINGLE_CHOICE,
                options=("promocion", "orientacion_vocacional", "postulacion", "matricula", "seguimiento"),
            ),
            FieldSpec("programa_interes", "Programa de interés", T.TEXT, required=False, max_length=200),
            FieldSpec("riesgo_desercion", "Riesgo de deserción", T.SINGLE_CHOICE, options=("bajo", "medio", "alto")),
            *_CLOSING,
        ),
    ),
    Template(
        "intervencion_psicosocial",
        1,
        "Acta de intervención psicosocial",
        (
            *_COMMON,
            FieldSpec(
                "nivel", "Nivel de intervención", T.SINGLE_CHOICE, options=("comunitario", "familiar", "individual")
            ),
            FieldSpec("hogar", "Hogar", T.FAMILY_REF, required=False),
            FieldSpec("persona", "Persona", T.BENEFICIARY_REF, required=False),
            FieldSpec(
                "ejes",
                "Ejes trabajados",
                T.MULTIPLE_CHOICE,
                options=("salud", "poblacion_vulnerable", "adaptacion_familiar", "duelo", "convivencia"),
            ),
            FieldSpec("resumen", "Resumen de la intervención", T.TEXT),
            *_CLOSING,
        ),
    ),
)


def by_key() -> dict[str, Template]:
    return {t.key: t for t in CATALOGUE}


# How the options of the catalogue read, with their accents (an option's code is
# ASCII); a code not listed reads as its words, the first capitalised.
OPTION_LABELS: dict[str, str] = {
    "adaptacion_familiar": "Adaptación familiar",
    "atencion_caso": "Atención caso",
    "caracterizacion": "Caracterización",
    "credito": "Crédito",
    "educacion_financiera": "Educación financiera",
    "en_riesgo": "En riesgo",
    "entrega_documentos": "Entrega de documentos",
    "formalizacion": "Formalización",
    "matricula": "Matrícula",
    "orientacion_vocacional": "Orientación vocacional",
    "poblacion_vulnerable": "Población vulnerable",
    "postulacion": "Postulación",
    "promocion": "Promoción",
    "riesgo_desercion": "Riesgo de deserción",
    "si": "Sí",
}


def option_label(code: str) -> str:
    found = OPTION_LABELS.get(code)
    if found:
        return found
    text = code.replace("_", " ")
    return text[:1].upper() + text[1:]
