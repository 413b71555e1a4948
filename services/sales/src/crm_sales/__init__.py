"""Sales service: pipelines, opportunities, teams and forecasts, as events."""
