"""Delivery: how a change reaches the right browsers (channel names, feeds).

Only ``sessions_app.realtime`` touches Reflex internals; modules here name channels and build
what is pushed. ``channels`` is import-free (no Reflex, no database) so the domain layer may
name a channel too.
"""
