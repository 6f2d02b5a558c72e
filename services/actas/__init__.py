"""Actas service (issue 3). So far: the pure domain (templates and field
validation, canonical form, hash chain); the adapters and entrypoints follow the
pattern of services/beneficiaries."""
