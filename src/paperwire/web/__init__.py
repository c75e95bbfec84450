"""The web app: pages, feeds and the JSON API (create_app in app.py)."""
