"""Pure machine learning for risk-based inspection (no Django, no apps).

Modules:
- ``simulator``: a seeded synthetic world with a hidden truth, for tests and benchmarks.
- ``features``: the event-table schema (``EventTables``), leakage-free features and labels.
- ``model``: calibrated gradient boosting plus a logistic baseline, time-based training.
- ``metrics``: ranking, calibration, drift and re-ordering metrics.
- ``reasons``: plain-Chinese top reasons per row.
- ``persistence``: skops artifacts with JSON metadata (never pickle).
- ``cli``: ``python -m ml evaluate`` for analysts.
"""
