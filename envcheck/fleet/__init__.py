"""Many nodes' envcheck reports merged into one fleet table (``envcheck fleet``).

``table`` reads the reports and merges them (pure functions, no click), ``render`` turns a fleet
into a terminal table or JUnit XML, ``cli`` is the thin click command. Callers outside click
(``envcheck slurm run``) use ``table.load`` → ``table.merge`` → ``render.terminal`` /
``render.junit`` / ``Fleet.to_json``.
"""
