"""The console gateway: each operations centre's alarm notifications as a live, resumable stream."""
