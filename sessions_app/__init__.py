"""Sessions: a real-time study app written in pure Python with Reflex."""

import warnings

import authlib.deprecate  # noqa: F401  (it puts an "always show" filter for its warnings first)

# Authlib 1.9 announces, at import, that its httpx integration will move to the `httpx2`
# package. The app uses httpx (pinned in pyproject.toml), which Authlib still supports; without
# this every start and test run prints the notice. Revisit when upgrading Authlib.
warnings.filterwarnings("ignore", message="The httpx module is deprecated", module=r"authlib\.")
