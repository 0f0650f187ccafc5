"""core/ and layout/ must work on a machine without Qt (napari's rule, checked by a test)."""

import subprocess
import sys

#: Python code that makes any Qt import fail from then on.
NO_QT = """
import sys
class NoQt:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('PySide6', 'shiboken6', 'PyQt5', 'PyQt6'):
            raise ImportError('Qt is blocked in this test: ' + name)
sys.meta_path.insert(0, NoQt())
"""

BLOCK_QT = NO_QT + """
import torch, gradviz, gradviz.core, gradviz.layout
X = torch.ones(2, requires_grad=True)
Z = X * 2
S = Z.sum()
g = gradviz.trace(S)
S.backward()
assert g.find('Z').grad.tolist() == [1.0, 1.0]
assert not any(m.startswith(('PySide6', 'shiboken6')) for m in sys.modules)
print('ok')
"""


def test_core_and_layout_import_and_run_with_qt_blocked():
    out = subprocess.run([sys.executable, "-c", BLOCK_QT], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
