"""crypto/ is a pure library: standard library and `cryptography` only (DESIGN.md section 3)."""

import ast
import sys
from pathlib import Path

CRYPTO = Path(__file__).resolve().parents[3] / "crypto"


def _imported_top_levels(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_crypto_imports_only_the_standard_library_and_cryptography():
    allowed = set(sys.stdlib_module_names) | {"cryptography", "crypto"}
    for path in CRYPTO.rglob("*.py"):
        assert _imported_top_levels(path) <= allowed, path


def test_crypto_uses_no_hazmat_beyond_the_designed_primitives():
    allowed = {
        "cryptography.exceptions",
        "cryptography.hazmat.primitives",
        "cryptography.hazmat.primitives.asymmetric.x25519",
        "cryptography.hazmat.primitives.asymmetric.ed25519",
        "cryptography.hazmat.primitives.ciphers.aead",
        "cryptography.hazmat.primitives.kdf.hkdf",
        "cryptography.hazmat.primitives.kdf.argon2",
    }
    for path in CRYPTO.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("cryptography"):
                assert node.module in allowed, (path, node.module)
