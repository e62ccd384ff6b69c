"""Where things are, for every test wherever it lives in tests/."""

from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent  # the checkout
EXAMPLES = ROOT / "examples"
LABELLED = TESTS / "quality" / "labelled"  # the quality panel's labelled texts
GOLDEN = TESTS / "pipeline" / "golden"
# benchmark data beside the checkout (../shared/data), read from a path, never copied in
LONGBENCH_WRITE = ROOT.parent / "shared" / "data" / "longbench_write"
