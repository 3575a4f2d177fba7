"""moto's dispatch with its per-request lookups kept: the same service for every host as moto finds."""

from __future__ import annotations

from moto.core.utils import method_names_from_class
from moto.kms.responses import KmsResponse
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

from runner.emulator.dispatch import dispatcher

HOSTS = [
    None, "moto_api", "kms", "s3", "kms.us-east-1.amazonaws.com", "s3.eu-west-3.amazonaws.com",
    "sts.amazonaws.com", "iam.amazonaws.com", "dynamodb", "s3control", "sesv2", "no-such.example.com",
    "bucket.s3.us-west-2.amazonaws.com", "monitoring.ap-south-1.amazonaws.com",
]


def test_every_host_names_the_service_moto_names() -> None:
    kept, moto_own = dispatcher(), DomainDispatcherApplication(create_backend_app)
    for _ in range(2):  # the second time from what the first kept
        assert [kept.get_backend_for_host(h) for h in HOSTS] == [moto_own.get_backend_for_host(h) for h in HOSTS]


def test_a_response_class_has_the_methods_moto_lists() -> None:
    import moto.core.responses

    dispatcher()
    assert moto.core.responses.method_names_from_class(KmsResponse) == method_names_from_class(KmsResponse)
