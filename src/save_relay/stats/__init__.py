"""Statistics: incidents by category, zone, weekday and hour, month and company; charts; the monthly mail."""
