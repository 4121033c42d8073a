"""ChargePoint Web Services driver for VOLTTRON.

Only these modules need VOLTTRON: ``chargepoint`` (the platform interface), ``standalone`` (an interface configured
outside a platform) and the commands built on it (``cli``, ``check``, ``demo``, ``device_files``). Everything else
imports nothing from VOLTTRON; ``attributes``, ``chargepoint_registers``, ``registry``, ``config`` and ``models``
import neither suds nor gevent.
"""
