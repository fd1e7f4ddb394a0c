"""The pre-send orchestration: one report for a campaign before it is sent."""
