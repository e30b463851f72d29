"""Admin registrations of the designer app."""
