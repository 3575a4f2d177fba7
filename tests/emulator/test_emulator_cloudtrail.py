"""CloudTrail through the emulator: log files, event selectors, LookupEvents, trail checks."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError
from emulator_helpers import ACCOUNT, REGION, ClientFactory, cloudtrail_bucket_policy, delivered, make_trail, records

from runner.emulator import Emulator

LOG_KEY = re.compile(
    r"^(?:(?P<prefix>.+)/)?AWSLogs/(?P<account>\d{12})/CloudTrail/(?P<region>[a-z0-9-]+)/"
    r"(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})/"
    r"(?P=account)_CloudTrail_(?P=region)_(?P=y)(?P=m)(?P=d)T\d{4}Z_[A-Za-z0-9]{16}\.json\.gz$"
)
RECORD_FIELDS = {
    "eventVersion",
    "userIdentity",
    "eventTime",
    "eventSource",
    "eventName",
    "awsRegion",
    "sourceIPAddress",
    "userAgent",
    "requestParameters",
    "responseElements",
    "requestID",
    "eventID",
    "readOnly",
    "eventType",
    "managementEvent",
    "recipientAccountId",
    "eventCategory",
}
ALL_S3_OBJECTS = [
    {
        "ReadWriteType": "All",
        "IncludeManagementEvents": True,
        "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}],
    }
]


def _by_name(found: list[dict[str, object]], name: str) -> list[dict[str, object]]:
    return [r for r in found if r["eventName"] == name]


def test_log_files_are_gzipped_json_records_in_AWS_key_layout(emu: Emulator, aws: ClientFactory) -> None:
    bucket = make_trail(aws)
    key = aws("kms").create_key(Description="lab")["KeyMetadata"]
    aws("kms").describe_key(KeyId=key["KeyId"])

    assert emu.deliver_logs_now() == 1

    files = delivered(aws, bucket)
    [(name, found)] = files.items()
    match = LOG_KEY.match(name)
    assert match, name
    assert (match["account"], match["region"], match["prefix"]) == (ACCOUNT, REGION, None)
    [describe] = _by_name(found, "DescribeKey")
    assert set(describe) >= RECORD_FIELDS
    assert describe["eventSource"] == "kms.amazonaws.com"
    assert describe["eventType"] == "AwsApiCall"
    assert describe["readOnly"] is True and describe["managementEvent"] is True
    assert describe["eventCategory"] == "Management"
    assert describe["recipientAccountId"] == ACCOUNT and describe["awsRegion"] == REGION
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", str(describe["eventTime"]))
    assert uuid.UUID(str(describe["eventID"]))
    assert describe["requestParameters"] == {"keyId": key["KeyId"]}
    assert describe["resources"] == [{"accountId": ACCOUNT, "type": "AWS::KMS::Key", "ARN": key["Arn"]}]
    assert describe["userIdentity"] == {
        "type": "Root",
        "principalId": ACCOUNT,
        "arn": f"arn:aws:iam::{ACCOUNT}:root",
        "accountId": ACCOUNT,
        "accessKeyId": "testing",
    }
    [create] = _by_name(found, "CreateKey")
    assert create["readOnly"] is False
    assert create["responseElements"]["keyMetadata"]["arn"] == key["Arn"]  # type: ignore[index]


def test_log_files_wait_for_the_configured_delay(aws: ClientFactory, emulator: Emulator) -> None:
    """On an injected clock: no file before `log_delay` has passed, one file once it has."""
    emulator.reset()
    now = [1000.0]
    with Emulator(log_delay=300, clock=lambda: now[0]) as emu:
        bucket = make_trail(lambda service, **kw: aws(service, endpoint_url=emu.endpoint, **kw))
        aws("kms", endpoint_url=emu.endpoint).list_keys()
        s3 = aws("s3", endpoint_url=emu.endpoint)
        # The timer thread may deliver too (same clock), so count files in the bucket, not the return.
        for step, expected in ((0, 0), (299, 0), (1, 1)):
            now[0] += step
            emu.recorder.deliver_due()
            assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == expected, now[0]


def test_log_files_are_delivered_by_the_background_timer(aws: ClientFactory, emulator: Emulator) -> None:
    """Nothing forces delivery here: the timer thread writes the file (the wait only bounds a hang)."""
    import time

    emulator.reset()
    with Emulator(log_delay=0.05) as emu:
        bucket = make_trail(lambda service, **kw: aws(service, endpoint_url=emu.endpoint, **kw))
        s3 = aws("s3", endpoint_url=emu.endpoint)
        deadline = time.monotonic() + 30
        while s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0:
            assert time.monotonic() < deadline, "no log file delivered"
            time.sleep(0.05)


def test_s3_object_calls_are_data_events_logged_only_when_event_selectors_ask(
    emu: Emulator, aws: ClientFactory
) -> None:
    bucket = make_trail(aws)
    s3 = aws("s3")
    s3.create_bucket(Bucket="lab-data")
    s3.put_object(Bucket="lab-data", Key="before.txt", Body=b"1")
    aws("cloudtrail").put_event_selectors(
        TrailName="lab-trail",
        EventSelectors=[
            {
                "ReadWriteType": "All",
                "IncludeManagementEvents": True,
                "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::lab-data/"]}],
            }
        ],
    )
    s3.put_object(Bucket="lab-data", Key="after.txt", Body=b"2")
    s3.get_object(Bucket="lab-data", Key="after.txt")
    s3.create_bucket(Bucket="other-data")
    s3.put_object(Bucket="other-data", Key="x.txt", Body=b"3")
    emu.deliver_logs_now()

    found = records(aws, bucket)
    data = [r for r in found if r["eventCategory"] == "Data"]
    assert [(r["eventName"], r["requestParameters"]["key"]) for r in data] == [
        ("PutObject", "after.txt"),
        ("GetObject", "after.txt"),
    ]
    put = data[0]
    assert put["managementEvent"] is False and put["readOnly"] is False
    assert put["requestParameters"]["bucketName"] == "lab-data"
    assert put["resources"][0] == {"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::lab-data/after.txt"}
    assert put["resources"][1]["ARN"] == "arn:aws:s3:::lab-data"
    assert {"CreateBucket", "PutEventSelectors"} <= {r["eventName"] for r in found}


def test_read_write_type_filters_events(emu: Emulator, aws: ClientFactory) -> None:
    bucket = make_trail(aws)
    aws("cloudtrail").put_event_selectors(
        TrailName="lab-trail", EventSelectors=[{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True}]
    )
    key = aws("kms").create_key()["KeyMetadata"]["KeyId"]
    aws("kms").describe_key(KeyId=key)
    emu.deliver_logs_now()
    names = {r["eventName"] for r in records(aws, bucket)}
    assert "CreateKey" in names and "DescribeKey" not in names


def test_advanced_event_selectors_select_s3_data_events(emu: Emulator, aws: ClientFactory) -> None:
    bucket = make_trail(aws)
    aws("cloudtrail").put_event_selectors(
        TrailName="lab-trail",
        AdvancedEventSelectors=[
            {
                "Name": "writes to lab-data",
                "FieldSelectors": [
                    {"Field": "eventCategory", "Equals": ["Data"]},
                    {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
                    {"Field": "readOnly", "Equals": ["false"]},
                    {"Field": "resources.ARN", "StartsWith": ["arn:aws:s3:::lab-data/"]},
                ],
            },
        ],
    )
    s3 = aws("s3")
    s3.create_bucket(Bucket="lab-data")
    s3.put_object(Bucket="lab-data", Key="a.txt", Body=b"1")
    s3.get_object(Bucket="lab-data", Key="a.txt")
    emu.deliver_logs_now()
    # StartLogging came before the selectors; after them, no management events and no reads.
    assert [r["eventName"] for r in records(aws, bucket)] == ["StartLogging", "PutObject"]


def test_sse_kms_objects_log_the_KMS_calls_S3_makes(emu: Emulator, aws: ClientFactory) -> None:
    bucket = make_trail(aws)
    aws("cloudtrail").put_event_selectors(TrailName="lab-trail", EventSelectors=ALL_S3_OBJECTS)
    kms = aws("kms")
    key = kms.create_key()["KeyMetadata"]
    kms.create_alias(AliasName="alias/lab", TargetKeyId=key["KeyId"])
    s3 = aws("s3")
    s3.create_bucket(Bucket="lab-data")
    s3.put_object(Bucket="lab-data", Key="s.txt", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId="alias/lab")
    s3.get_object(Bucket="lab-data", Key="s.txt")["Body"].read()
    emu.deliver_logs_now()

    found = records(aws, bucket)
    [generate] = _by_name(found, "GenerateDataKey")
    [decrypt] = _by_name(found, "Decrypt")
    for record in (generate, decrypt):
        assert record["eventSource"] == "kms.amazonaws.com"
        assert record["userIdentity"]["invokedBy"] == "s3.amazonaws.com"
        assert record["sourceIPAddress"] == "s3.amazonaws.com"
        assert record["resources"] == [{"accountId": ACCOUNT, "type": "AWS::KMS::Key", "ARN": key["Arn"]}]
        assert record["requestParameters"]["encryptionContext"] == {"aws:s3:arn": "arn:aws:s3:::lab-data/s.txt"}
        assert record["eventCategory"] == "Management"
    assert generate["requestParameters"]["keyId"] == "alias/lab"  # as the caller named it
    assert generate["requestParameters"]["keySpec"] == "AES_256"


def test_only_events_made_while_the_trail_is_logging_are_delivered(emu: Emulator, aws: ClientFactory) -> None:
    kms = aws("kms")
    kms.list_aliases()  # before the trail exists
    bucket = make_trail(aws)
    kms.list_keys()
    aws("cloudtrail").stop_logging(Name="lab-trail")
    kms.list_aliases()
    emu.deliver_logs_now()
    names = [r["eventName"] for r in records(aws, bucket)]
    assert "ListKeys" in names
    assert "ListAliases" not in names


def test_single_region_trail_gets_its_region_only_and_multi_region_gets_all(emu: Emulator, aws: ClientFactory) -> None:
    single = make_trail(aws, name="home-only", bucket="home-only-logs")
    multi = make_trail(aws, name="everywhere", bucket="everywhere-logs", IsMultiRegionTrail=True)
    aws("kms", region_name="eu-west-1").list_keys()
    emu.deliver_logs_now()
    assert all(r["awsRegion"] == REGION for r in records(aws, single))
    regions = {LOG_KEY.match(k)["region"] for k in delivered(aws, multi)}  # type: ignore[index]
    assert regions == {REGION, "eu-west-1"}


def test_key_prefix_and_digest_files(emu: Emulator, aws: ClientFactory) -> None:
    bucket = make_trail(aws, S3KeyPrefix="audit", EnableLogFileValidation=True)
    aws("kms").list_keys()
    emu.deliver_logs_now()
    keys = [o["Key"] for o in aws("s3").list_objects_v2(Bucket=bucket)["Contents"]]
    logs = [k for k in keys if "/CloudTrail/" in k]
    digests = [k for k in keys if "/CloudTrail-Digest/" in k]
    assert len(logs) == 1 and LOG_KEY.match(logs[0])["prefix"] == "audit"  # type: ignore[index]
    assert len(digests) == 1 and digests[0].startswith(f"audit/AWSLogs/{ACCOUNT}/CloudTrail-Digest/{REGION}/")


def test_no_delivery_into_a_deleted_bucket(emu: Emulator, aws: ClientFactory) -> None:
    bucket = make_trail(aws)
    aws("kms").list_keys()
    aws("s3").delete_bucket(Bucket=bucket)
    assert emu.deliver_logs_now() == 0


def test_failed_calls_are_recorded_with_errorCode_and_errorMessage(emu: Emulator, aws: ClientFactory) -> None:
    bucket = make_trail(aws)
    with pytest.raises(ClientError):
        aws("kms").describe_key(KeyId="alias/missing")
    emu.deliver_logs_now()
    [failed] = _by_name(records(aws, bucket), "DescribeKey")
    assert failed["errorCode"] == "NotFoundException"
    assert failed["errorMessage"]


def test_lookup_events_returns_management_events_of_the_account_and_region(aws: ClientFactory) -> None:
    kms = aws("kms")
    key = kms.create_key()["KeyMetadata"]
    kms.describe_key(KeyId=key["KeyId"])
    s3 = aws("s3")
    s3.create_bucket(Bucket="lab-data")
    s3.put_object(Bucket="lab-data", Key="a", Body=b"1")
    aws("kms", region_name="eu-west-1").list_keys()
    cloudtrail = aws("cloudtrail")

    events = cloudtrail.lookup_events()["Events"]
    names = [e["EventName"] for e in events]
    assert names[:2] == ["CreateBucket", "DescribeKey"]  # newest first
    assert "PutObject" not in names  # data events are not in event history
    assert "ListKeys" not in names  # another region
    [describe] = [e for e in events if e["EventName"] == "DescribeKey"]
    assert describe["ReadOnly"] == "true" and describe["Username"] == "root" and describe["AccessKeyId"] == "testing"
    assert describe["Resources"] == [{"ResourceType": "AWS::KMS::Key", "ResourceName": key["Arn"]}]
    assert json.loads(describe["CloudTrailEvent"])["eventID"] == describe["EventId"]

    by_key = cloudtrail.lookup_events(LookupAttributes=[{"AttributeKey": "ResourceName", "AttributeValue": key["Arn"]}])
    assert [e["EventName"] for e in by_key["Events"]] == ["DescribeKey", "CreateKey"]
    writes = cloudtrail.lookup_events(LookupAttributes=[{"AttributeKey": "ReadOnly", "AttributeValue": "false"}])
    assert {e["EventName"] for e in writes["Events"]} == {"CreateKey", "CreateBucket"}
    future = datetime.now(UTC) + timedelta(days=1)
    assert cloudtrail.lookup_events(StartTime=future)["Events"] == []


def test_lookup_events_pages_with_MaxResults_and_NextToken(aws: ClientFactory) -> None:
    kms = aws("kms")
    for _ in range(5):
        kms.list_keys()
    cloudtrail = aws("cloudtrail")
    attributes = [{"AttributeKey": "EventName", "AttributeValue": "ListKeys"}]
    first = cloudtrail.lookup_events(LookupAttributes=attributes, MaxResults=2)
    second = cloudtrail.lookup_events(LookupAttributes=attributes, MaxResults=2, NextToken=first["NextToken"])
    pages = list(cloudtrail.get_paginator("lookup_events").paginate(LookupAttributes=attributes))
    assert len(first["Events"]) == len(second["Events"]) == 2
    assert {e["EventId"] for e in first["Events"]}.isdisjoint(e["EventId"] for e in second["Events"])
    assert sum(len(p["Events"]) for p in pages) == 5


def test_put_insight_selectors_replaces_the_previous_selectors(aws: ClientFactory) -> None:
    make_trail(aws)
    cloudtrail = aws("cloudtrail")
    cloudtrail.put_insight_selectors(TrailName="lab-trail", InsightSelectors=[{"InsightType": "ApiCallRateInsight"}])
    cloudtrail.put_insight_selectors(TrailName="lab-trail", InsightSelectors=[{"InsightType": "ApiErrorRateInsight"}])
    got = cloudtrail.get_insight_selectors(TrailName="lab-trail")["InsightSelectors"]
    assert got == [{"InsightType": "ApiErrorRateInsight"}]


def test_create_trail_with_existing_name_is_TrailAlreadyExists(aws: ClientFactory) -> None:
    bucket = make_trail(aws)
    with pytest.raises(ClientError) as caught:
        aws("cloudtrail").create_trail(Name="lab-trail", S3BucketName=bucket)
    assert caught.value.response["Error"]["Code"] == "TrailAlreadyExistsException"


def test_delete_trail_of_an_unknown_trail_is_TrailNotFound(aws: ClientFactory) -> None:
    make_trail(aws)
    cloudtrail = aws("cloudtrail")
    cloudtrail.delete_trail(Name="lab-trail")
    for name in ("lab-trail", f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/lab-trail"):  # gone now, by name or ARN
        with pytest.raises(ClientError) as caught:
            cloudtrail.delete_trail(Name=name)
        assert caught.value.response["Error"]["Code"] == "TrailNotFoundException"
        assert f"trail/lab-trail for the user: {ACCOUNT}" in caught.value.response["Error"]["Message"]


@pytest.mark.parametrize(
    "policy",
    [
        None,
        cloudtrail_bucket_policy("lab-logs", account="999999999999"),  # another account's folder
        cloudtrail_bucket_policy("lab-logs", prefix="elsewhere"),  # another prefix
    ],
    ids=["no-policy", "wrong-account", "wrong-prefix"],
)
def test_create_trail_into_bucket_without_CloudTrail_policy_is_InsufficientS3BucketPolicy(
    aws: ClientFactory, policy: str | None
) -> None:
    s3 = aws("s3")
    s3.create_bucket(Bucket="lab-logs")
    if policy:
        s3.put_bucket_policy(Bucket="lab-logs", Policy=policy)
    with pytest.raises(ClientError) as caught:
        aws("cloudtrail").create_trail(Name="lab-trail", S3BucketName="lab-logs")
    assert caught.value.response["Error"]["Code"] == "InsufficientS3BucketPolicyException"


def test_describe_trails_reports_HasInsightSelectors_and_HasCustomEventSelectors_once_set(
    aws: ClientFactory,
) -> None:
    make_trail(aws)
    cloudtrail = aws("cloudtrail")
    [before] = cloudtrail.describe_trails()["trailList"]
    assert (before["HasCustomEventSelectors"], before["HasInsightSelectors"]) == (False, False)
    cloudtrail.put_event_selectors(TrailName="lab-trail", EventSelectors=ALL_S3_OBJECTS)
    cloudtrail.put_insight_selectors(TrailName="lab-trail", InsightSelectors=[{"InsightType": "ApiCallRateInsight"}])
    [after] = cloudtrail.describe_trails()["trailList"]
    assert (after["HasCustomEventSelectors"], after["HasInsightSelectors"]) == (True, True)
    trail = cloudtrail.get_trail(Name="lab-trail")["Trail"]
    assert (trail["HasCustomEventSelectors"], trail["HasInsightSelectors"]) == (True, True)


def test_block_public_access_calls_are_recorded_under_CloudTrails_bucket_event_names(
    emu: Emulator, aws: ClientFactory
) -> None:
    s3, trail = aws("s3"), aws("cloudtrail")
    s3.create_bucket(Bucket="bpa-names")
    blocked = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
               "RestrictPublicBuckets": True}
    s3.put_public_access_block(Bucket="bpa-names", PublicAccessBlockConfiguration=blocked)
    events = trail.lookup_events(LookupAttributes=[{"AttributeKey": "EventSource",
                                                    "AttributeValue": "s3.amazonaws.com"}])["Events"]
    names = {e["EventName"] for e in events}
    assert "PutBucketPublicAccessBlock" in names
    assert "PutPublicAccessBlock" not in names


def _create_trail_error(aws: ClientFactory, name: str) -> tuple[str, int]:
    with pytest.raises(ClientError) as caught:
        aws("cloudtrail").create_trail(Name=name, S3BucketName="lab-trail-logs")
    return caught.value.response["Error"]["Code"], caught.value.response["ResponseMetadata"]["HTTPStatusCode"]


@pytest.mark.parametrize("name", ["my--trail", "my-_trail", "my..trail", "-trail", "trail_", "ab", "x" * 129,
                                  "my trail", "192.168.5.4"])
def test_a_trail_name_outside_the_naming_rules_is_InvalidTrailNameException(aws: ClientFactory, name: str) -> None:
    make_trail(aws)  # the bucket exists and lets CloudTrail in: the name alone is wrong
    assert _create_trail_error(aws, name) == ("InvalidTrailNameException", 400)
    assert [t["Name"] for t in aws("cloudtrail").describe_trails()["trailList"]] == ["lab-trail"]


def test_a_new_trail_logs_all_management_events_by_default(aws: ClientFactory) -> None:
    make_trail(aws)
    cloudtrail = aws("cloudtrail")
    answer = cloudtrail.get_event_selectors(TrailName="lab-trail")
    assert answer["EventSelectors"] == [{"ReadWriteType": "All", "IncludeManagementEvents": True,
                                         "DataResources": [], "ExcludeManagementEventSources": []}]
    assert "AdvancedEventSelectors" not in answer
    assert cloudtrail.describe_trails()["trailList"][0]["HasCustomEventSelectors"] is False
    cloudtrail.put_event_selectors(TrailName="lab-trail", EventSelectors=[{"ReadWriteType": "WriteOnly"}])
    assert cloudtrail.get_event_selectors(TrailName="lab-trail")["EventSelectors"][0]["ReadWriteType"] == "WriteOnly"


def test_describe_trails_with_a_name_list_returns_only_those_trails(aws: ClientFactory) -> None:
    make_trail(aws, name="lab-trail", bucket="lab-trail-logs")
    make_trail(aws, name="other-trail", bucket="other-trail-logs")
    cloudtrail = aws("cloudtrail")
    assert sorted(t["Name"] for t in cloudtrail.describe_trails()["trailList"]) == ["lab-trail", "other-trail"]
    assert [t["Name"] for t in cloudtrail.describe_trails(trailNameList=["lab-trail"])["trailList"]] == ["lab-trail"]
    arn = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/other-trail"
    assert [t["Name"] for t in cloudtrail.describe_trails(trailNameList=[arn])["trailList"]] == ["other-trail"]
    assert cloudtrail.describe_trails(trailNameList=["no-such-trail"])["trailList"] == []


def test_lookup_events_finds_a_bucket_by_its_name(aws: ClientFactory) -> None:
    aws("s3").create_bucket(Bucket="lab-named")
    aws("s3").get_bucket_location(Bucket="lab-named")
    found = aws("cloudtrail").lookup_events(
        LookupAttributes=[{"AttributeKey": "ResourceName", "AttributeValue": "lab-named"}])["Events"]
    assert [e["EventName"] for e in found] == ["GetBucketLocation", "CreateBucket"]


def test_get_trail_status_reports_the_last_delivery(emu: Emulator, aws: ClientFactory) -> None:
    make_trail(aws, EnableLogFileValidation=True)
    cloudtrail = aws("cloudtrail")
    before = cloudtrail.get_trail_status(Name="lab-trail")
    assert before["IsLogging"] is True
    assert before["LatestDeliveryAttemptSucceeded"] == "" and "LatestDeliveryTime" not in before
    aws("kms").list_keys()
    assert emu.deliver_logs_now() >= 1
    after = cloudtrail.get_trail_status(Name="lab-trail")
    delivered = after["LatestDeliveryTime"]
    assert after["LatestDeliveryAttemptSucceeded"] == after["LatestDeliveryAttemptTime"]
    assert after["LatestDeliveryAttemptSucceeded"] == delivered.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert abs((datetime.now(UTC) - delivered).total_seconds()) < 120
    assert after["LatestDigestDeliveryTime"] == delivered


def test_lookup_events_never_holds_data_events(emu: Emulator, aws: ClientFactory) -> None:
    bucket = make_trail(aws)
    cloudtrail = aws("cloudtrail")
    cloudtrail.put_event_selectors(TrailName="lab-trail", EventSelectors=[{
        "ReadWriteType": "All", "IncludeManagementEvents": True,
        "DataResources": [{"Type": "AWS::DynamoDB::Table", "Values": ["arn:aws:dynamodb"]}]}])
    dynamodb = aws("dynamodb")
    dynamodb.create_table(TableName="lab-table", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                          AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                          BillingMode="PAY_PER_REQUEST")
    dynamodb.put_item(TableName="lab-table", Item={"id": {"S": "1"}})
    dynamodb.get_item(TableName="lab-table", Key={"id": {"S": "1"}})
    names = [e["EventName"] for e in cloudtrail.lookup_events()["Events"]]
    assert "CreateTable" in names and "PutItem" not in names and "GetItem" not in names
    emu.deliver_logs_now()
    logged = {r["eventName"]: r for r in records(aws, bucket)}
    assert logged["PutItem"]["eventCategory"] == "Data" and logged["PutItem"]["managementEvent"] is False
    assert logged["PutItem"]["resources"] == [{"accountId": ACCOUNT, "type": "AWS::DynamoDB::Table",
                                               "ARN": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/lab-table"}]


def test_s3_configuration_calls_record_their_body_as_cloudtrail_does(emu: Emulator, aws: ClientFactory) -> None:
    s3, trail = aws("s3"), aws("cloudtrail")
    s3.create_bucket(Bucket="bodies")
    opened = {"BlockPublicAcls": False, "IgnorePublicAcls": False, "BlockPublicPolicy": True,
              "RestrictPublicBuckets": True}
    s3.put_public_access_block(Bucket="bodies", PublicAccessBlockConfiguration=opened)
    s3.put_bucket_ownership_controls(Bucket="bodies",
                                     OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]})
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                                                      "Resource": "arn:aws:s3:::bodies/*"}]}
    s3.put_public_access_block(Bucket="bodies", PublicAccessBlockConfiguration={**opened, "BlockPublicPolicy": False,
                                                                                "RestrictPublicBuckets": False})
    s3.put_bucket_policy(Bucket="bodies", Policy=json.dumps(policy))
    rule = {"ID": "old", "Status": "Enabled", "Filter": {"Prefix": ""},
            "NoncurrentVersionExpiration": {"NoncurrentDays": 30}}
    s3.put_bucket_lifecycle_configuration(Bucket="bodies",
                                          LifecycleConfiguration={"Rules": [rule, {**rule, "ID": "b"}]})
    s3.put_object(Bucket="bodies", Key="data.xml", Body=b"<secret>not recorded</secret>")
    found = {e["EventName"]: json.loads(e["CloudTrailEvent"])["requestParameters"]
             for e in reversed(trail.lookup_events()["Events"])}

    block = found["PutBucketPublicAccessBlock"]["PublicAccessBlockConfiguration"]
    assert block["xmlns"] == "http://s3.amazonaws.com/doc/2006-03-01/"
    assert (block["BlockPublicAcls"], block["BlockPublicPolicy"]) == (False, False)  # typed, the last call's
    assert found["PutBucketOwnershipControls"]["OwnershipControls"]["Rule"] == {"ObjectOwnership": "ObjectWriter"}
    assert found["PutBucketPolicy"]["bucketPolicy"] == policy
    rules = found["PutBucketLifecycle"]["LifecycleConfiguration"]["Rule"]
    assert [r["ID"] for r in rules] == ["old", "b"]
    assert rules[0]["NoncurrentVersionExpiration"] == {"NoncurrentDays": 30}
    # PutObject is a data event (not in event history), and its bytes are never part of a record.
    assert "PutObject" not in found


def test_iam_calls_are_recorded_in_us_east_1_whatever_region_the_client_names(
    emu: Emulator, aws: ClientFactory
) -> None:
    aws("iam", region_name="eu-west-1").create_user(UserName="global-user")

    def names(region: str) -> list[str]:
        return [e["EventName"] for e in aws("cloudtrail", region_name=region).lookup_events()["Events"]]

    assert names("us-east-1") == ["CreateUser"]
    assert names("eu-west-1") == []


def test_query_calls_record_booleans_and_numbers_as_json_ones(aws: ClientFactory) -> None:
    iam = aws("iam")
    document = json.dumps({"Version": "2012-10-17",
                           "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})
    arn = iam.create_policy(PolicyName="typed", PolicyDocument=document)["Policy"]["Arn"]
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=document, SetAsDefault=False)
    iam.list_users(MaxItems=5)
    events = aws("cloudtrail", region_name="us-east-1").lookup_events()["Events"]
    records = {e["EventName"]: json.loads(e["CloudTrailEvent"])["requestParameters"] for e in events}
    assert records["CreatePolicyVersion"]["setAsDefault"] is False
    assert records["CreatePolicyVersion"]["policyDocument"] == document
    assert records["ListUsers"]["maxItems"] == 5
