"""How much of the driver's CPU per device-poll the garbage collector takes, cycle by cycle (warm cycles, 1000
devices of a 1000-station organisation, as in ``./bench.sh``): why that figure moves from run to run.

Run from the repository root: ``.venv/bin/python bench/gc_share.py [cycles]``.
"""

from __future__ import annotations

import gc
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench  # noqa: E402  (patches gevent's monkey first)


class Collections:
    """CPU seconds the collector took, by generation, while counting."""

    def __init__(self) -> None:
        self.seconds = [0.0, 0.0, 0.0]
        self.count = [0, 0, 0]
        self._started = 0.0
        gc.callbacks.append(self._callback)

    def reset(self) -> None:
        self.seconds, self.count = [0.0, 0.0, 0.0], [0, 0, 0]

    def _callback(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._started = time.process_time()
        else:
            self.seconds[info["generation"]] += time.process_time() - self._started
            self.count[info["generation"]] += 1


def main(cycles: int = 8) -> int:
    bench.logging.getLogger("volttron.driver.base.interfaces").setLevel(bench.logging.ERROR)
    sim = bench.SimulatorProcess(stations=1000)
    try:
        ids = sim.admin("stations")["stations"]
        devices = bench.make_devices(sim, ids, bench.sample_rows())
        bench.poll_together(devices)
        collections = Collections()
        print(f"{len(devices)} devices, warm cycles: driver CPU per device-poll, and the collector's share")
        for _ in range(cycles):
            bench.expire(devices, static=False)
            collections.reset()
            cpu = time.process_time()
            bench.poll_together(devices)
            per_poll = (time.process_time() - cpu) * 1000 / len(devices)
            by_generation = ", ".join(f"gen{g}: {n} in {s * 1000:.0f} ms" for g, (n, s)
                                      in enumerate(zip(collections.count, collections.seconds)))
            print(f"  CPU {per_poll:.3f} ms; collector {sum(collections.seconds) * 1000 / len(devices):.3f} ms "
                  f"({by_generation}); {len(gc.get_objects())} objects tracked")
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    bench.run(lambda: main(int(sys.argv[1]) if len(sys.argv) > 1 else 8))
