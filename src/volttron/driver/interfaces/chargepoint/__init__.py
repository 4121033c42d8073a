"""ChargePoint Web Services driver for VOLTTRON.

The core (``client``, ``cache``, ``models``, ``chargepoint_registers``, ``config``) imports nothing from VOLTTRON;
only ``chargepoint`` (the platform interface) and ``cli`` do.
"""
