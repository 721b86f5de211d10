"""The moderation stage: announce a report, apply a moderator's decision, distribute it, housekeeping."""
