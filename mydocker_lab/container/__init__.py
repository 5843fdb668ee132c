"""The container's side of the run flow (the book's ``container/`` package)."""
