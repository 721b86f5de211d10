"""Evidence bundles: a report or a canvass, with its proof, as files an investigator can check."""
