"""Pure PDF layer of the documents service: the renderer's input (``view``), the
renderer (``rendering``), the PAdES signer (``signing``) and their errors."""
