"""Reports and their cases: intake, Open311 fields, the closed loop, time limits, scores, keys."""
