"""The Flask extensions, created unbound and initialised by the app factory."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

from app.models import Base

db = SQLAlchemy(model_class=Base)

# Models subclass `Model`: Flask-SQLAlchemy's model class at run time, typed as our Base for
# mypy (which cannot see the class Flask-SQLAlchemy builds dynamically).
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()


def _client_address() -> str:
    return get_remote_address() or request.remote_addr or "unknown"


limiter = Limiter(key_func=_client_address, default_limits=[])
