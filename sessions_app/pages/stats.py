"""The progression part of the profile (stats, streak, heatmap)."""

import reflex as rx


def stats_section() -> rx.Component:
    """Lifetime stats; filled in by the progression feature."""
    return rx.fragment()
