"""The feed: every notification a centre must see, numbered in commit order (`seq`), and the
centre's alarm board beside it. One writer fills it from Kafka; every replica fans it out."""
