"""The settings of a network's safeguards on sensitive reports: group kinds (TLP) and four-eyes approval.

Kept apart from ``settings.py`` so that a network's section stays readable: these models are its
``groups`` and ``four_eyes`` keys.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class GroupSettings(BaseModel):
    """One group of subscribers as the network sees it (the group itself comes from the CSV import)."""

    model_config = {"extra": "forbid"}

    internal: bool = Field(
        description="true: the network's own organisation (the police's shifts); false: another "
        "organisation (a security firm): never sent TLP:AMBER+STRICT",
    )


class FourEyesSettings(BaseModel):
    """What needs a second moderator's approval before it goes out (four-eyes principle)."""

    model_config = {"extra": "forbid"}

    recipients_above: int | None = Field(
        None, ge=0, description="a distribution to more than this many addresses (unset: no limit)"
    )
    tlp_red: bool = Field(False, description="every TLP:RED distribution")
    hold_release: bool = Field(False, description="releasing a report's evidence hold (queue hold --release)")
    canvass_companies_above: int | None = Field(
        None, ge=0, description="a canvass that would ask more than this many companies (unset: no limit)"
    )
    erase: bool = Field(
        False, description="erasing a person's data (privacy erase): a second moderator runs it again"
    )
    hours: float = Field(
        24.0,
        gt=0,
        description="a first approval waits this long for the second; then it lapses, with a notice",
    )

    @property
    def enabled(self) -> bool:
        return self.recipients_above is not None or self.tlp_red
