"""The files a person edits: YAML reading, one schema for all, the catalogue, waivers, settings."""
