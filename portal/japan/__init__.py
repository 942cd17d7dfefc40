"""What is particular to Japan: the clock and the eras, statutory deadlines and holidays,
postal codes and local government codes, and how Japanese input modes type a value."""
