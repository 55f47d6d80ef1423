"""Keeping `EnterpriseScore` current. One file per job:

- `firm.py` — `recompute_enterprise`: one firm, with reasons and the blacklist follow-up; the
  reference every other path must match;
- `sweep.py` — `recompute_dirty` / `recompute_pending`: the dirty sweep behind the
  `credit.recompute_dirty` task (per firm, or the full pass for a flood of flags);
- `full.py` — `recompute_all`: every firm in one vectorised pass (the nightly run), using
  `bulk_read.py` (packed binary columns in), `rows.py` + `reasons.py` (what each stale firm's
  row says, as COPY text made with `credit.scoring`'s own reason builders) and `bulk_write.py`
  (COPY and staging writes guarded by xmin, set-based blacklist proposals);
- `clock.py` — `activate_due_records`: the record status clock (pending → effective → expired).

How a model row becomes a scorer input lives in `credit.score_inputs`; the scoring itself in
`credit.scoring`.
"""
