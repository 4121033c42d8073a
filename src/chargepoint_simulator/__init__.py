"""A stateful ChargePoint Web Services API 5.0 simulator speaking SOAP over HTTP.

``Simulator`` serves the project's WSDL and eleven operations from a seeded model whose state
advances with a ``SimClock``; see ``server`` for the HTTP routes and ``faults`` for fault injection.
"""
from chargepoint_simulator.clock import SimClock
from chargepoint_simulator.faults import Faults
from chargepoint_simulator.simulator import Simulator

__all__ = ["Faults", "SimClock", "Simulator"]
