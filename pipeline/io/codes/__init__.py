"""Human codes in: read from tables or REFI-QDA projects, and put on segments."""
