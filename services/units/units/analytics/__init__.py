"""Response-time analytics: pure computations over unit timelines (the projection feeds them)."""
