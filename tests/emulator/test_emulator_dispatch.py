"""moto's dispatch with its per-request work kept: the same answers as moto's own functions give."""

from __future__ import annotations

from datetime import UTC, datetime

from botocore.utils import parse_to_aware_datetime
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


def test_a_timestamp_moto_writes_is_the_time_botocore_reads() -> None:
    import moto.core.serialize

    dispatcher()
    times = ["2026-12-03T15:20:00Z", "2026-12-03T15:20:00.123456+02:00", "2026-12-03", 0, 1764775200, 1764775200.5,
             "1764775200", datetime(2026, 12, 3, 15, 20), datetime(2026, 12, 3, 15, 20, tzinfo=UTC)]
    for _ in range(2):  # the second time from what the first kept
        assert [moto.core.serialize.parse_to_aware_datetime(t) for t in times] == [
            parse_to_aware_datetime(t) for t in times]
