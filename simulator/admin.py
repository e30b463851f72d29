"""Admin registrations of the simulator app."""
