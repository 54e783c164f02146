"""Kafka plumbing: topics from one config, the producer settings, and the one consumer runner."""
