"""Benchmark: Sessions against a bare python-socketio relay (the floor). See bench/__main__.py."""
