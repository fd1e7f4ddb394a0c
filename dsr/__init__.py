"""Data-subject requests: workflow, deadlines, erasure and receipts."""
