"""Entry point of neocloud's component package: serves GpuCluster, Tenant, TrafficRegulator and KueueScheduling
to programs in any Pulumi language (see components/package)."""

import sys
from pathlib import Path

# The repository root, for a checkout whose plugin virtualenv was not made from requirements.txt.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from components.package._host import serve

if __name__ == "__main__":
    serve(sys.argv[1:])
