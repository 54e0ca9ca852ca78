"""The dashboard's entry point: `streamlit run dashboard/app.py`.

Signs the user in, then shows the pages their role allows (dashboard/shell.py, dashboard/nav.py). Every
page reads through engine functions and acts only through an engine Operator built with the user's role.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `streamlit run dashboard/app.py` puts only dashboard/ on the path
    sys.path.insert(0, str(ROOT))

from dashboard.shell import main  # noqa: E402

__all__ = ["main"]

if __name__ == "__main__":
    main()
