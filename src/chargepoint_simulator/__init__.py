"""A stateful ChargePoint Web Services API 5.0 simulator speaking SOAP over HTTP.

``Simulator`` serves the project's WSDL and thirteen operations from a seeded model whose state
advances with a ``SimClock``::

    with Simulator(stations=4, seed=1, clock=SimClock(start, scale=0)) as sim:
        client = suds.client.Client(sim.wsdl_url, wsse=...)   # any SOAP client
        sim.model.set_port_status("1:10001", 1, "INUSE", load_kw=6.0)
        sim.clock.advance(3)                                   # let a shed propagate
        sim.faults.http500_rate = 0.5                          # misbehave on purpose

See ``model`` for the simulated organisation, ``operations`` for response codes, ``server`` for the
HTTP routes (including ``/admin/``), ``faults`` for fault injection and ``cli`` for ``chargepoint-sim``.
"""
from chargepoint_simulator.clock import SimClock
from chargepoint_simulator.faults import Faults
from chargepoint_simulator.simulator import Simulator

__all__ = ["Faults", "SimClock", "Simulator"]
