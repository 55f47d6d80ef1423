"""Risk model glue and the inspection planner (data flow 4 in docs/architecture.md).

- `features_orm`: the database as `ml.features.EventTables`.
- `training`: monthly training into the registry; `registry`: versions, promote, roll back.
- `scoring`: nightly compound and enterprise risks (`credit.services.risks_update`) and drift.
- `planner` (pure) and `plan_services`: ranked, explained plans and their approval into tasks.
- `model_card` and `charts`: what the bureau pages and `GET /model` show.
- `simulated_history`: a simulated world written as history (demo, tests).
"""
