"""Thin Reflex state adapters: find the caller server-side, call one service, update vars."""
