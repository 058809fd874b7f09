"""Argon2id with explicit, bounded parameters.

DESIGN.md section 4: at least 64 MiB and 2 passes in any deployment. Tests
lower the cost through settings; :meth:`Argon2Params.check_production` is
what a deployment calls to refuse that.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from crypto.errors import WeakParametersError

MIN_MEMORY_KIB = 64 * 1024
MIN_ITERATIONS = 2
# Upper bounds on what a stored blob may ask for: a tampered blob must not be
# able to make one login allocate gigabytes or spin for minutes. Four times
# today's memory and a few times its passes leave room to raise the cost later.
MAX_MEMORY_KIB = 256 * 1024
MAX_ITERATIONS = 10
MAX_LANES = 8


@dataclass(frozen=True)
class Argon2Params:
    """Cost parameters of one Argon2id run (memory in KiB)."""

    memory_kib: int = MIN_MEMORY_KIB
    iterations: int = 3
    lanes: int = 1

    def check_bounds(self) -> None:
        """Refuse parameters Argon2id cannot use or that would exhaust the server."""
        if not (1 <= self.lanes <= MAX_LANES):
            raise WeakParametersError("Argon2id lanes out of range")
        if not (8 * self.lanes <= self.memory_kib <= MAX_MEMORY_KIB):
            raise WeakParametersError("Argon2id memory out of range")
        if not (1 <= self.iterations <= MAX_ITERATIONS):
            raise WeakParametersError("Argon2id iterations out of range")

    def check_production(self) -> None:
        """Refuse anything below the deployment minimum (64 MiB, 2 passes)."""
        self.check_bounds()
        if self.memory_kib < MIN_MEMORY_KIB or self.iterations < MIN_ITERATIONS:
            raise WeakParametersError(
                f"Argon2id needs at least {MIN_MEMORY_KIB} KiB and {MIN_ITERATIONS} passes in production"
            )


DEFAULT_PARAMS = Argon2Params()


def argon2id(secret: bytes, salt: bytes, params: Argon2Params, length: int = 32) -> bytes:
    """Run Argon2id once; the single slow step behind passwords and receipts."""
    params.check_bounds()
    return Argon2id(
        salt=salt,
        length=length,
        iterations=params.iterations,
        lanes=params.lanes,
        memory_cost=params.memory_kib,
    ).derive(secret)
