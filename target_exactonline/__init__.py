"""target_exactonline."""
