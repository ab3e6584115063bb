"""Sessions: a real-time study app written in pure Python with Reflex."""
