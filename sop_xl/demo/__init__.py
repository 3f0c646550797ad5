"""The demo company and its regional submissions."""
