"""One Flask-free core per protocol: typed parameters in, documents or tables out.

The web blueprints (``vo_service.web``) parse requests and serialise what these return;
the cores reach the database only through the store (and, for UWS, its job tables).
"""
