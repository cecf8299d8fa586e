"""The read-only web application: feeds, OPML, health, and pages over the stored history.

app.py makes the Starlette application from a `Site` (what it shows); server.py serves it with
uvicorn in a thread of its own, inside `watcher run` or alone under `watcher serve`. Nothing is
imported here: the commands that never serve a page do not load the web stack.
"""
