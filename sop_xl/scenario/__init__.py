"""Trade-off scenarios: drivers a planner types, every scenario run through the same
capacity-constrained supply plan in ONE linear program (scenarios stacked block-diagonally),
and the side-by-side comparison (docs/scenarios.md)."""
