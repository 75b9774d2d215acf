"""The PostgreSQL store on asyncpg (selected by a postgresql:// database URL)."""
