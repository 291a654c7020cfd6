"""Generated data for demos and benchmarks (`manage.py seed --scale demo|city`).

`generator` describes the rows (ids assigned up front, so materialised paths need no round-trip),
`demands` plans a year of residents' demands with their timelines and rate rollups (`demand_texts`
holds their words), `loader` writes them (COPY on PostgreSQL, batched INSERTs elsewhere), `pii` makes
valid identities and encrypts them across processes, `logins` adds one login per role. This package
module imports nothing from Django so that encryption workers can import `pii` without setting Django up.
"""
