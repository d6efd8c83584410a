"""factory_boy factories shared by the suite. Apps add theirs below their section header."""

from __future__ import annotations

import factory

from accounts.models import User


class MigrationEditor:
    """What a data migration's RunPython function reads of its schema editor, to call one."""

    class connection:
        alias = "default"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("correct horse battery staple")
