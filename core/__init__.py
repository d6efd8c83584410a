"""The ground floor: what every app may import, importing nothing of the project's own.

`core.errors` (the domain errors services raise and config.api maps to HTTP statuses) and
`core.admin` (the back office's building blocks: large-table and read-only admin bases,
fixed-choice filters, a safe JSON form field). The layers are in docs/architecture.md and
enforced by import-linter (`make lint`).
"""
