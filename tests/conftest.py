"""Makes `tests/` importable, so every test folder can reach `consumers.py` (the consumers' own schemas)."""
