"""moto's dispatch of a request to its service, without the work moto repeats for every request.

Measured on moto 5.2.5 (pinned in pyproject.toml; re-measure on another): for each request moto's
`DomainDispatcherApplication` lists its package folder (`backends.list_of_moto_modules`, an isdir for each
of some 200 entries) and tries the URL patterns of every service until one matches its host, and each
service's response class lists its own methods (`inspect.getmembers`) to see whether it has one for the
action: together some 10% of the emulator's time on a request. Its serializer parses every timestamp it
writes from the text it keeps (with dateutil: ~4%, mostly S3 listings, the same objects' times again
and again). None of it changes while the process runs (a host always names the same service; a class
keeps its methods; a text names one time), so each answer is kept the first time it is worked out.
Which answers moto gives is unchanged: only how often it works them out.

moto's Flask apps run in debug mode, so that an error in moto reaches `EmulatorMiddleware`, which answers
it as AWS would (InternalFailure). Debug mode also makes Flask build a class for every request without
uploaded files, to word a KeyError on `request.files` better (~2% of the emulator's time); moto reads
`request.files` only when it has some, so the emulator's requests load their form as werkzeug does.

`server.py` serves `dispatcher()` behind `EmulatorMiddleware` (`middleware.py`).
"""

from __future__ import annotations

import functools
from typing import Any

#: Timestamps kept as text (an object's LastModified, a key's CreationDate) that moto writes most often.
_TIMES_KEPT = 8192
#: Hosts are read from requests (a signature's service and region): enough for every service and region
#: there is, and a bound on what a client sending made-up ones can make the emulator keep.
_HOSTS_KEPT = 4096


def dispatcher() -> Any:
    """moto's WSGI application: each request to the Flask app of its service."""
    from flask import Flask
    from moto.moto_server.werkzeug_app import BackendRequest, DomainDispatcherApplication, create_backend_app
    from werkzeug.wrappers import Request as WerkzeugRequest

    _keep_what_moto_works_out()

    class Dispatcher(DomainDispatcherApplication):
        @functools.lru_cache(maxsize=_HOSTS_KEPT)  # noqa: B019 (one dispatcher a server, kept as long as it)
        def get_backend_for_host(self, host: str | None) -> Any:
            return super().get_backend_for_host(host)

    class Request(BackendRequest):
        def _load_form_data(self) -> None:
            WerkzeugRequest._load_form_data(self)  # without Flask's debug-mode wrapping of `files`

    def create_app(service: Any) -> Flask:  # one of moto's service names
        app = create_backend_app(service)
        app.request_class = Request
        return app

    return Dispatcher(create_app)


def _keep_what_moto_works_out() -> None:
    """Replace, in the moto modules that call them, the functions whose answers are kept (once a process)."""
    import moto.core.responses
    import moto.core.serialize
    from botocore.utils import parse_to_aware_datetime
    from moto.core.utils import method_names_from_class

    responses: Any = moto.core.responses
    if responses.method_names_from_class is method_names_from_class:
        responses.method_names_from_class = functools.cache(method_names_from_class)
    serialize: Any = moto.core.serialize
    if serialize.parse_to_aware_datetime is parse_to_aware_datetime:
        parse_time = functools.lru_cache(maxsize=_TIMES_KEPT, typed=True)(parse_to_aware_datetime)

        def parse_time_kept(value: Any) -> Any:  # a datetime is used as it is: nothing to parse, nothing to keep
            return parse_time(value) if isinstance(value, str | int | float) else parse_to_aware_datetime(value)

        serialize.parse_to_aware_datetime = parse_time_kept
