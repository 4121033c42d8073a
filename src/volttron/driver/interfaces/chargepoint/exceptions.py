"""The driver's exceptions, one tree for every failure a caller may need to tell apart.

::

    ChargePointError
    ├── ConfigError            a device config or registry row is wrong (names file, row, column, value)
    ├── WriteRejected          a write refused before any API call (names point, value, what is accepted)
    ├── BadValue               a value read does not convert to its point's Type (names point, value, Type)
    ├── TransportError         the API could not be reached or answered unusably
    │   ├── ApiTimeout         no complete answer within the configured timeout
    │   ├── MalformedResponse  the answer was not a readable SOAP document (or was too large)
    │   └── BackingOff         recent calls failed; this one was not sent (see ``retry_in``)
    ├── SoapFault              the API answered with a SOAP fault
    │   └── AuthError          the API refused the credentials
    └── ApiError               the API answered with a responseCode other than 100

Foreign exceptions become these in one place (``client.translated``), which keeps the original as ``__cause__``.
Every text that came from a server (a fault, a responseText, an error page, a redirect) may quote our request, and
so the password: it is redacted, and the original is dropped when its own text held the password (always, for a
SOAP fault).
"""

from __future__ import annotations


class ChargePointError(Exception):
    """Base of every error this driver raises on purpose."""


class ConfigError(ChargePointError, ValueError):
    """A device configuration or registry row cannot be used; the message says where and why."""

    def __init__(self, message: str, *, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems if problems is not None else [message]


class WriteRejected(ChargePointError, ValueError):
    """A write refused by the driver itself, before anything was sent to the API."""


class BadValue(ChargePointError, ValueError):
    """A value the API sent that cannot be published as the Type its point declares; an error of that point only."""


class TransportError(ChargePointError):
    """The API could not be reached, or its answer could not be used.

    ``delivered`` is False when the request certainly never reached the API (connection refused, name unknown,
    certificate refused); None when it may have, so that a write it carried may have taken effect.
    """

    def __init__(self, message: str, *, delivered: bool | None = None) -> None:
        super().__init__(message)
        self.delivered = delivered


class ApiTimeout(TransportError):
    """No complete answer arrived within the configured timeout."""


class MalformedResponse(TransportError):
    """The answer was not a well-formed SOAP document, or exceeded the size cap."""


class BackingOff(TransportError):
    """The call was not sent because recent calls to this API account failed."""

    def __init__(self, message: str, *, retry_in: float) -> None:
        super().__init__(message, delivered=False)
        self.retry_in = retry_in


class TooManyPages(ChargePointError):
    """A bulk read stopped at the pages its caller allowed, with more to come: the stations are asked one by one
    instead (it never reaches a point, and is not an API failure)."""

    def __init__(self, operation: str, pages: int) -> None:
        super().__init__(f"{operation}: more than {pages} pages; asking per station")
        self.pages = pages


class SoapFault(ChargePointError):
    """A SOAP fault returned by the API."""

    def __init__(self, faultcode: str | None, faultstring: str | None, *, operation: str = "") -> None:
        self.faultcode = faultcode
        self.faultstring = faultstring
        self.operation = operation
        where = f"{operation}: " if operation else ""
        super().__init__(f"{where}SOAP fault {faultcode or '?'}: {faultstring or '(no text)'}")


class AuthError(SoapFault):
    """The API refused the username/password (WS-Security UsernameToken)."""

    def __init__(self, faultcode: str | None, faultstring: str | None, *, operation: str = "") -> None:
        super().__init__(faultcode, faultstring, operation=operation)
        where = f"{operation}: " if operation else ""
        self.args = (f"{where}the API refused the credentials (username or password): SOAP fault "
                     f"{faultcode or '?'}: {faultstring or '(no text)'}",)


class ApiError(ChargePointError):
    """An answer whose responseCode is not 100 (success)."""

    def __init__(self, code: int | str | None, text: str | None, *, operation: str = "") -> None:
        self.code = code
        self.text = text
        self.operation = operation
        where = f"{operation} " if operation else ""
        super().__init__(f"{where}refused with ChargePoint response code {code}: {text or '(no text)'}")
