"""The delivery outbox: rows written with their cause, claimed by workers, retried, dead-lettered."""
