"""The bureau's statistics (issue 17): figures computed in the database, their tables, charts
and exports."""
