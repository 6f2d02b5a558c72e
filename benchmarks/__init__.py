"""Benchmarks of CRM Social: scripts that print figures, each beside a raw baseline
measured in the same run (not tests; see benchmarks/README.md)."""
