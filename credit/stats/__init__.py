"""The credit side of the bureau's statistics (issue 17): the period vocabulary every figure is
counted in, and the figures only the credit archive knows (grades over time, blacklist entries
and exits, objections and repairs). Definitions: docs/statistics.md."""
