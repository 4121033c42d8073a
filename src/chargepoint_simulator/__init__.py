"""A stateful ChargePoint Web Services API 5.0 simulator speaking SOAP over HTTP."""
