"""The domain: plain functions over a SQLModel ``Session``. No Reflex imports here.

Conventions: functions take the session and the acting user's id as keyword arguments,
validate and authorize, write, and return small public dataclasses. Bad input raises
``ServiceError`` whose message is safe and useful to show the student.
"""
