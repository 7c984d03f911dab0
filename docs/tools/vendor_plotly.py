"""Refresh the vendored plotly.js cartesian bundle (src/stockout/report/vendor/).

    python docs/tools/vendor_plotly.py [VERSION]

Downloads ``plotly.js-cartesian-dist-min@VERSION`` (default: the plotly.js version the installed
plotly Python package ships) with ``npm pack``, copies its minified bundle and its license into
the vendor folder unmodified, and prints the version and sha256 to write into the folder's
README.md (``tests/test_report.py`` checks them against the file).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from plotly.offline import get_plotlyjs_version

VENDOR = Path(__file__).resolve().parents[2] / "src" / "stockout" / "report" / "vendor"
PACKAGE = "plotly.js-cartesian-dist-min"


def main(argv: list[str]) -> int:
    version = argv[0] if argv else get_plotlyjs_version()
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["npm", "pack", f"{PACKAGE}@{version}"], cwd=tmp, check=True,
                       capture_output=True)  # fmt: skip
        (tarball,) = Path(tmp).glob("*.tgz")
        with tarfile.open(tarball) as tar:
            tar.extractall(tmp, filter="data")
        package = Path(tmp) / "package"
        shutil.copyfile(package / "plotly-cartesian.min.js", VENDOR / "plotly-cartesian.min.js")
        shutil.copyfile(package / "LICENSE", VENDOR / "LICENSE.plotly.js")
    digest = hashlib.sha256((VENDOR / "plotly-cartesian.min.js").read_bytes()).hexdigest()
    sys.stdout.write(f"{PACKAGE} {version}\nsha256: {digest}\nnow update {VENDOR / 'README.md'}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
