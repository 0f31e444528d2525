"""Per-(underlying, date) analytics computed from per-contract and per-expiry option frames."""
