"""The performance app: server-rendered pages over the snapshot the pipeline publishes (SPEC §11).

`server.py` is the Starlette application, `permissions.py` the one rule of who sees what,
`snapshot.py` the read-only snapshot, `pages.py` what each page shows, `accounts.py` the users.
"""
