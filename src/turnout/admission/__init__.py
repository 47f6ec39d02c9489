"""What a request must pass before it costs anything: size, depth, alias, token and work limits (limits) and the
CSRF guard (csrf). Below the gateway and the HTTP server alike; imports nothing else of turnout."""

from .csrf import CsrfPrevention
from .limits import Limits, limit_rules

__all__ = ["CsrfPrevention", "Limits", "limit_rules"]
