"""Pure PDF layer of the documents service: the renderers' input (``view``,
``plan_view``), the renderers (``rendering`` for actas, ``plan_rendering`` and
``plan_charts`` for the action plans' "Plan de Acción"), the PAdES signer
(``signing``) and their errors."""
