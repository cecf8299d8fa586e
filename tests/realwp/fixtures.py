"""The pytest fixture for the real WordPress site.

Test modules import `real_wordpress` from here (with `# noqa: F401`: pytest finds it by name);
the top-level conftest.py belongs to the simulated site's side.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from .server import RealWordPress, missing_requirements

REQUIRE_ENV = "WATCHER_REQUIRE_REALWP"


@pytest.fixture(scope="session")
def real_wordpress() -> Iterator[RealWordPress]:
    """One real site for the whole session: starting it takes seconds, not milliseconds.

    Skips when Debian's packages are missing, unless WATCHER_REQUIRE_REALWP=1 (as in CI),
    where a missing package must fail the run rather than quietly skip the contract.
    """
    missing = missing_requirements()
    if missing:
        reason = (
            f"a real WordPress needs Debian packages that are not installed: {' '.join(missing)}"
            f" (apt-get install {' '.join(missing)})"
        )
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{reason}; {REQUIRE_ENV}=1 forbids skipping", pytrace=False)
        pytest.skip(reason)
    with RealWordPress() as site:
        yield site
