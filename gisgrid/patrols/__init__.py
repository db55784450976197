"""Patrols: tracks in, roads and key places, coverage, the next walk, generated walks."""
