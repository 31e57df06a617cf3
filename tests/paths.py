"""Where the tests find the shared folder: beside the checkout (../shared), as CI lays it out; DEALWATCH_SHARED
names another."""
from __future__ import annotations

import os
from pathlib import Path

SHARED = Path(os.environ.get("DEALWATCH_SHARED", Path(__file__).resolve().parents[2] / "shared"))
