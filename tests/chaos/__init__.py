"""The fault suite: SIGKILLs and a broker restart against the real stack, while
kiosks submit, and the invariants that must hold afterwards (see harness.py).

``python -m tests.chaos`` (``make chaos``) runs the full version; the tests in
test_faults.py run a short one as part of ``make test``.
"""
