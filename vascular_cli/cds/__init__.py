"""A CDS Hooks 2.0 service (``vascular serve``; optional extra ``pip install "vascular[cds]"``): discovery,
patient-view, order-select/order-sign, feedback. Imported only by the ``serve`` command.

Layout: ``adapter.py`` (the one module that touches the library's engine, results and recommendation fields),
``hooks.py`` (request model, prefetch to Bundle, draft orders), ``cards.py`` (cards), ``auth.py`` (JWT),
``store.py`` (SQLite: cards, feedback, token ids), ``config.py`` (the --config file), ``app.py`` (Starlette).
"""
