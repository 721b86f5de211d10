"""Pure foundations: settings, clock, errors, tokens, addresses, routing, geometry; no database."""
