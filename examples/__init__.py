"""Small real HTTP-level adapters wired to the suite (see README.md here)."""
