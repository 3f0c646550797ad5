"""The Executive Summary: the one page the executive S&OP meeting starts from (decisions asked
for, red scorecard items, top supply risks, full-year outlook vs budget, open actions)."""
