"""The balanced scorecard: RAG rules and the executive page."""
