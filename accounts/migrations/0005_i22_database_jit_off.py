"""JIT off as a setting of the database, so every connection gets it however it connects.

It used to be a connection option (`options=-c jit=off`), which PgBouncer refuses at startup
(SPEC O1) and which a pooled server connection would not carry anyway. A database setting
applies to every new session, through a pooler or not, and a streaming replica inherits it.
Changing a database's settings needs its owner; a role that does not own the database sets it
for itself in this database instead. New sessions see it; running ones keep what they have.
"""

from django.db import migrations

JIT_OFF = """
DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I SET jit = off', current_database());
EXCEPTION WHEN insufficient_privilege THEN
    EXECUTE format('ALTER ROLE CURRENT_USER IN DATABASE %I SET jit = off', current_database());
END
$$;
"""

JIT_DEFAULT = """
DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I RESET jit', current_database());
EXCEPTION WHEN insufficient_privilege THEN
    EXECUTE format('ALTER ROLE CURRENT_USER IN DATABASE %I RESET jit', current_database());
END
$$;
"""


def jit_off(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(JIT_OFF, params=None)


def jit_default(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(JIT_DEFAULT, params=None)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0004_i12_api_key_digests")]

    operations = [migrations.RunPython(jit_off, jit_default, elidable=False)]
