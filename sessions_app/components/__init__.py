"""Reusable UI pieces (render only; no state logic)."""
