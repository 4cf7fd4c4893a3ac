"""The operator console at ``/console`` on ``hub serve``: server-rendered pages (Jinja2), a
stylesheet shipped in the package, no script and nothing fetched from the internet."""
