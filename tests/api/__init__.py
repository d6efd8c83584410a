"""The API as one contract: schema, fuzzing, the generated client, hardening and abuse limits."""
