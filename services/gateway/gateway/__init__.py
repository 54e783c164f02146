"""The console gateway: each operations centre's alarm and hazard notifications as a live, resumable stream."""
