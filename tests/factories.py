"""factory-boy factories for every package's models."""

from __future__ import annotations

import factory
from factory.alchemy import SQLAlchemyModelFactory

from app.accounts.models import User
from app.accounts.passwords import hash_password
from app.extensions import db

DEFAULT_PASSWORD = "correct horse battery"


class BaseFactory(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "commit"


class UserFactory(BaseFactory):
    class Meta:
        model = User

    handle = factory.Sequence(lambda n: f"person{n}")
    email = factory.LazyAttribute(lambda o: f"{o.handle}@example.com")
    display_name = factory.Faker("name")
    bio = ""
    password_hash = factory.LazyFunction(lambda: hash_password(DEFAULT_PASSWORD))
