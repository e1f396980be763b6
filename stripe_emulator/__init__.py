"""A standalone, Stripe-compatible API server for tests and local development.

from stripe_emulator import Emulator
emu = Emulator()
client = stripe.StripeClient("sk_test_x", http_client=emu.http_client())
"""

from .emulator import Emulator
from .errors import StripeError
from .server import create_app
from .transport import EmulatorHTTPClient

__all__ = ["Emulator", "EmulatorHTTPClient", "StripeError", "create_app"]
