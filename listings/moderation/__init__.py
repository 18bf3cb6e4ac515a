"""Moderation: the review queue, risk signals, reports and their resolution."""
