"""Data layer: canonical schemas and validators, the Parquet store, vendor importers, quality checks,
calendars. The only code that touches market files."""
