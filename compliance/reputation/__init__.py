"""The sender's reputation score, its inputs from every other part, and the dashboard."""
