"""Routing: which stored events notify whom (rules, matching, grouping), written to the outbox at ingest."""
