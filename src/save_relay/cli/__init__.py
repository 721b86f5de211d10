"""The command line: typer commands that wire settings, the database and the services."""
