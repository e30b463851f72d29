"""Models of the designer app."""
