"""The audit itself: rules (rulebook) over the tables (context, checks) -> a frozen Evaluation. Pure."""
