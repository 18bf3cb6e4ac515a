"""Reach's outbox handlers: both take a worker pass's rows of their kind at once (one request per pass)."""

from careers.core import outbox
from listings.reach import google, indexnow


def handlers() -> dict:
    return {outbox.INDEXNOW: outbox.Batch(indexnow.submit), outbox.GOOGLE_INDEXING: outbox.Batch(google.notify)}
