"""Trade-off scenarios: drivers a planner types, every scenario run through the same
capacity-constrained supply plan (inputs built once, one LP per scenario), the side-by-side
comparison, the chosen scenario as the plan of record (docs/scenarios.md)."""
