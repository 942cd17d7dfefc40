"""Counter bookings: a department's opening hours and capacity, and the residents' visits."""
