"""Issue 12: DRF's raw API keys become knox digests, then DRF's key table is dropped.

Existing keys keep working (`Authorization: Token <old key>`): each row becomes a knox row with
the SHA-512 digest of the key and its 15-character lookup prefix, and an expiry of
API_KEY_TTL_DAYS from now. `rest_framework.authtoken` is no longer installed, so its table is
read with plain SQL when it exists (a fresh database never had it). Reversing cannot bring
the raw keys back: it leaves the knox rows in place and recreates nothing.
"""

from django.conf import settings
from django.db import migrations
from django.utils import timezone

LEGACY_TABLE = "authtoken_token"


def legacy_keys_to_digests(apps, schema_editor):
    from knox.crypto import hash_token
    from knox.settings import CONSTANTS

    connection = schema_editor.connection
    if LEGACY_TABLE not in connection.introspection.table_names():
        return
    AuthToken = apps.get_model("knox", "AuthToken")
    quoted = schema_editor.quote_name(LEGACY_TABLE)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT key, user_id, created FROM {quoted}")  # noqa: S608 - a constant name
        rows = cursor.fetchall()
    ttl = settings.REST_KNOX.get("TOKEN_TTL")
    expiry = timezone.now() + ttl if ttl else None
    AuthToken.objects.bulk_create(
        AuthToken(
            digest=hash_token(key),
            token_key=key[: CONSTANTS.TOKEN_KEY_LENGTH],
            user_id=user_id,
            expiry=expiry,
        )
        for key, user_id, _created in rows
    )
    schema_editor.execute(f"DROP TABLE {quoted}")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_i10_analyst_permissions"),
        ("knox", "0009_extend_authtoken_field"),
    ]

    operations = [migrations.RunPython(legacy_keys_to_digests, migrations.RunPython.noop)]
