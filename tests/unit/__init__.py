"""Unit tests: the pure domain and the use cases against in-memory fakes, no I/O."""
