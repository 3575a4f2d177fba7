"""Grading's parts without an emulator: class lists, options, the guard, the policy and the outputs."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from consumers import assert_valid_gradescope, assert_valid_junit
from grading_helpers import KMS_LAB

from runner.commands.grade import check_role_template, parse_since, student_time_limit
from runner.commands.main import main
from runner.engine.record import AssertionRecord, RunRecord, StepRecord, TargetRecord, TaskRecord
from runner.engine.retrying import TimeLimit
from runner.errors import UsageError
from runner.grading import classroom, gradescope, junit, policy
from runner.grading.accounts import Student, parse_accounts
from runner.grading.guard import CODE, guard_client
from runner.validate import load_lab

# ---- class lists


def test_a_plain_list_of_account_ids_with_comments_and_optional_names() -> None:
    text = "# week 3\n111111111111\n\n222222222222, Bea\n"
    assert parse_accounts(text) == [Student("111111111111", "111111111111"), Student("222222222222", "Bea")]


def test_a_csv_with_account_and_name_columns_in_any_order() -> None:
    text = "email,Name,Account_ID\nal@x.edu,Al,111111111111\nbo@x.edu,Bo Li,222222222222\n"
    assert parse_accounts(text) == [Student("111111111111", "Al"), Student("222222222222", "Bo Li")]
    assert Student("222222222222", "Bo Li").slug == "Bo-Li"


def test_every_bad_line_is_reported_with_its_number() -> None:
    with pytest.raises(UsageError) as caught:
        parse_accounts("account,name\n1234,Al\n111111111111,Bo\n111111111111,Cy\n", "class.csv")
    message = str(caught.value)
    assert "class.csv:2: '1234' is not an AWS account id (12 digits)" in message
    assert "class.csv:4: account 111111111111 is listed twice (first at line 3)" in message


@pytest.mark.parametrize(("text", "wanted"), [
    ("", "lists no accounts"),
    ("email,name\nx,y\n", "needs an 'account'"),
    ("account,name\n", "has a header but no accounts"),
])
def test_a_class_list_without_accounts_is_refused(text: str, wanted: str) -> None:
    with pytest.raises(UsageError, match=wanted):
        parse_accounts(text)


# ---- options


def test_since_takes_a_duration_ago_or_an_iso_time() -> None:
    now = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
    assert parse_since(None, now) == datetime(2025, 3, 3, 12, 0, tzinfo=UTC)  # default 7d
    assert parse_since("2h", now) == datetime(2025, 3, 10, 10, 0, tzinfo=UTC)
    assert parse_since("2025-03-01T09:00:00Z", now) == datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
    assert parse_since("2025-03-01", now) == datetime(2025, 3, 1, tzinfo=UTC)
    for bad in ("yesterday", "2025-04-01T00:00:00Z"):
        with pytest.raises(UsageError, match="--since"):
            parse_since(bad, now)


def test_a_role_template_must_name_the_account() -> None:
    assert check_role_template("arn:aws:iam::{account}:role/Grader", "c.txt")
    with pytest.raises(UsageError, match="has no \\{account\\}"):
        check_role_template("arn:aws:iam::111111111111:role/Grader", "c.txt")
    with pytest.raises(UsageError, match="needs --role-arn"):
        check_role_template(None, "c.txt")
    with pytest.raises(UsageError, match="not a role ARN"):
        check_role_template("role/{account}", "c.txt")
    # one account through a role: its own ARN
    assert check_role_template("arn:aws:iam::111111111111:role/Grader", None)
    with pytest.raises(UsageError, match="names no account"):
        check_role_template("arn:aws:iam::{account}:role/Grader", None)


@pytest.mark.parametrize(("args", "wanted"), [
    (["--task", "create-kye"], "did you mean 'create-key'"),
    (["--accounts", "missing.txt", "--role-arn", "arn:aws:iam::{account}:role/G"], "no such file"),
    (["--accounts", "x.txt", "--role-arn", "arn:aws:iam::123456789012:role/G"], "has no {account}"),
    (["--since", "last week"], "--since"),
    (["--parallel", "0", "--accounts", "x.txt", "--role-arn", "arn:aws:iam::{account}:role/G"], "--parallel"),
    (["--student-timeout", "5m"], "--student-timeout applies to a class (--accounts FILE)"),
    (["--student-timeout", "soon", "--accounts", "x.txt", "--role-arn", "arn:aws:iam::{account}:role/G"],
     "--student-timeout: 'soon' is not a duration"),
    (["--student-timeout", "0s", "--accounts", "x.txt", "--role-arn", "arn:aws:iam::{account}:role/G"],
     "--student-timeout: expected a duration above zero, got '0s'"),
    (["--junit", "x.txt/junit.xml"], "--junit x.txt/junit.xml: x.txt is a file, not a folder"),
    (["--record", "."], "--record .: is a folder; name a file in it"),
    (["--gradescope", "results.json", "--accounts", "two.txt", "--role-arn", "arn:aws:iam::{account}:role/G"],
     "--gradescope results.json: names one file, and the class has 2 accounts; name a folder"),
    (["--record", "x.txt", "--accounts", "two.txt", "--role-arn", "arn:aws:iam::{account}:role/G"],
     "--record x.txt: names one file, and the class has 2 accounts"),
    (["--role-arn", "arn:aws:iam::{account}:role/G"], "names no account; to grade one account through a role"),
    (["--role-arn", "Grader"], "'Grader' is not a role ARN such as 'arn:aws:iam::123456789012:role/Grader'"),
])
def test_user_mistakes_exit_2_with_a_message_and_no_traceback(
    args: list[str], wanted: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.txt").write_text("111111111111\n")
    (tmp_path / "two.txt").write_text("111111111111\n222222222222\n")
    out = tmp_path / "out.txt"
    with out.open("w") as stream:
        assert main(["grade", str(KMS_LAB), *args], out=stream) == 2
    err = capsys.readouterr().err
    assert wanted in err and "Traceback" not in err


def test_a_bad_class_list_exits_2_before_touching_any_account(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    roster = tmp_path / "class.txt"
    roster.write_text("111111111111\n12345\n")
    with (tmp_path / "o.txt").open("w") as out:
        code = main(["grade", str(KMS_LAB), "--target", "http://127.0.0.1:9", "--accounts", str(roster),
                     "--role-arn", "arn:aws:iam::{account}:role/Grader"], out=out)
    assert code == 2
    assert "class.txt:2: '12345' is not an AWS account id" in capsys.readouterr().err


# ---- the guard


def test_the_guard_refuses_a_write_before_it_is_sent_and_lets_reads_through() -> None:
    client = boto3.client("kms", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b")
    guard_client(client)
    with Stubber(client) as stub:
        stub.add_response("describe_key", {"KeyMetadata": {"KeyId": "k"}}, {"KeyId": "k"})
        assert client.describe_key(KeyId="k")["KeyMetadata"]["KeyId"] == "k"
        with pytest.raises(ClientError) as caught:
            client.put_key_policy(KeyId="k", PolicyName="default", Policy="{}")
        assert caught.value.response["Error"]["Code"] == CODE
        assert "kms:PutKeyPolicy" in caught.value.response["Error"]["Message"]
        stub.assert_no_pending_responses()  # the refused call never reached the (stubbed) wire


def test_the_guard_and_the_validator_agree_on_what_reads() -> None:
    # One source (runner.operation_kinds): DynamoDB's Query reads, SQS's ReceiveMessage changes the queue.
    client = boto3.client("dynamodb", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b")
    guard_client(client)
    with Stubber(client) as stub:
        stub.add_response("query", {"Items": [], "Count": 0})
        assert client.query(TableName="Movies")["Count"] == 0
        with pytest.raises(ClientError) as caught:
            client.put_item(TableName="Movies", Item={"title": {"S": "Jaws"}})
        assert caught.value.response["Error"]["Code"] == CODE
    sqs = boto3.client("sqs", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b")
    guard_client(sqs)
    with pytest.raises(ClientError) as caught:
        sqs.receive_message(QueueUrl="https://sqs.us-east-1.amazonaws.com/123456789012/q")
    assert caught.value.response["Error"]["Code"] == CODE


# ---- the grader policy


def test_the_policy_is_the_union_of_what_checks_and_evidence_need(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["grade", str(KMS_LAB), "--print-policy"]) == 0
    document = json.loads(capsys.readouterr().out)
    statement = document["Statement"][0]
    assert document["Version"] == "2012-10-17" and statement["Resource"] == "*"
    actions = statement["Action"]
    assert actions == sorted(actions, key=lambda a: (a.split(":")[0], a))
    assert {"kms:DescribeKey", "kms:GetKeyPolicy", "cloudtrail:LookupEvents", "cloudtrail:GetInsightSelectors",
            "s3:ListBucket", "s3:GetObject", "kms:Decrypt"} <= set(actions)
    # Nothing a grade never does: no steps' writes, and no sts:AssumeRole (the instructor's side).
    assert not any(a.split(":")[1].startswith(("Create", "Put", "Delete", "Schedule", "Disable")) for a in actions)
    assert "sts:AssumeRole" not in actions
    only = policy.permissions(load_lab(KMS_LAB), ("create-trail",))
    assert "kms:GetKeyPolicy" not in only and "cloudtrail:LookupEvents" in only
    # Task 1's check that finds the key still runs: the key it saves is what task 3's checks look for.
    assert "kms:DescribeKey" in policy.permissions(load_lab(KMS_LAB), ("upload-encrypted",))
    # Advice runs in a grade too (task 4's: is public access blocked again?).
    assert "s3:GetBucketPublicAccessBlock" in policy.permissions(load_lab(KMS_LAB), ("open-image",))


def test_the_policy_grants_the_reads_a_check_makes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lab = tmp_path / "movies.yaml"
    lab.write_text("lab: movies\ntitle: Movies\ntasks:\n  - id: items\n    title: Items\n    checks:\n"
                   "      - action: aws.dynamodb.scan\n        params: {TableName: Movies}\n"
                   "      - action: aws.dynamodb.batch_get_item\n"
                   "        params: {RequestItems: {Movies: {Keys: [{title: {S: Jaws}}]}}}\n")
    assert main(["grade", str(lab), "--print-policy"]) == 0
    assert json.loads(capsys.readouterr().out)["Statement"][0]["Action"] == ["dynamodb:BatchGetItem",
                                                                            "dynamodb:Scan"]


# ---- outputs


def graded_record() -> RunRecord:
    def check(key: str, status: str, hint: str) -> StepRecord:
        mismatch = AssertionRecord("InsightSelectors[].InsightType", "contains", "ApiErrorRateInsight",
                                   ["ApiCallRateInsight"], False, "missing")
        return StepRecord(key=key, id=key, action="aws.cloudtrail.get_insight_selectors", section="checks",
                          status=status, location="lab.yaml:3:5", hint=hint,
                          assertions=(mismatch,) if status == "failed" else ())
    tasks = (
        TaskRecord("create-key", "Create a key", "passed", 15, 15, checks=(check("k", "passed", "Key"),),
                   credited_by="checks"),
        TaskRecord("create-trail", "Create a trail", "failed", 20, 0,
                   checks=(check("insights", "failed", "Turn on Insights events."),), summary="insights: ..."),
        TaskRecord("upload", "Upload", "passed", 10, 10, checks=(check("h", "failed", "Upload it."),),
                   credited_by="evidence"),
    )
    return RunRecord(lab="demo", title="Demo", file="demo.yaml", run_id="abcd1234", mode="grade",
                     target=TargetRecord("emulator", "us-west-2", account="111111111111"), seed=1,
                     started="2025-03-10T12:00:00Z", finished="2025-03-10T12:00:01Z", status="failed", vars={},
                     tasks=tasks, score=25, points=45, student="Al")


def test_gradescope_results_have_one_test_per_task_with_the_student_message() -> None:
    results = assert_valid_gradescope(gradescope.results(graded_record()))
    assert results["score"] == 25
    assert (results["output_format"], results["visibility"], results["stdout_visibility"]) == (
        "md", "visible", "hidden")
    tests = {t["name"]: t for t in results["tests"]}
    trail = tests["Create a trail (create-trail)"]
    assert (trail["score"], trail["max_score"], trail["status"], trail["output_format"]) == (0, 20, "failed", "md")
    assert "Turn on Insights events\\." in trail["output"]
    # an indented line of the feedback is a list item; the account's words are shown, never read as Markdown
    assert ('- InsightSelectors\\[\\]\\.InsightType contains: expected "ApiErrorRateInsight", '
            'actual \\["ApiCallRateInsight"\\]') in trail["output"]
    upload = tests["Upload (upload)"]
    assert upload["status"] == "passed" and "CloudTrail evidence" in upload["output"]
    assert all(t["visibility"] == "visible" for t in results["tests"])
    assert results["extra_data"] == {"lab": "demo", "run_id": "abcd1234", "account": "111111111111", "student": "Al"}


def test_gradescope_follows_the_instructors_visibility_choices() -> None:
    settings = gradescope.Settings(visibility="after_due_date", stdout_visibility="visible",
                                   tests={"create-key": "visible"})
    results = assert_valid_gradescope(gradescope.results(graded_record(), settings=settings))
    assert (results["visibility"], results["stdout_visibility"]) == ("after_due_date", "visible")
    assert {t["name"]: t["visibility"] for t in results["tests"]} == {
        "Create a key (create-key)": "visible", "Create a trail (create-trail)": "after_due_date",
        "Upload (upload)": "after_due_date"}


def test_account_text_in_gradescope_markdown_is_shown_not_rendered() -> None:
    record = graded_record()
    task = record.tasks[1]
    evil = "![x](https://evil.example/t.png) <img src=x> **bold** \x1b[2J"
    checks = (dataclasses.replace(task.checks[0], hint=evil),)
    record = dataclasses.replace(record, tasks=(dataclasses.replace(task, checks=checks),))
    output = assert_valid_gradescope(gradescope.results(record))["tests"][0]["output"]
    assert "\\!\\[x\\]\\(https://evil\\.example/t\\.png\\) \\<img src=x\\> \\*\\*bold\\*\\* \\\\x1b\\[2J" in output
    assert "\x1b" not in output


def test_junit_has_a_suite_per_student_and_a_case_per_task() -> None:
    root = assert_valid_junit(junit.render([graded_record()]))
    suite = root.find("testsuite")
    assert suite is not None and suite.get("name") == "demo.Al"
    assert (suite.get("tests"), suite.get("failures")) == ("3", "1")
    cases = list(root.iter("testcase"))
    assert [c.get("classname") for c in cases] == ["demo.create-key", "demo.create-trail", "demo.upload"]
    assert cases[0].get("name") == "Create a key (Al)"
    failure = root.find(".//failure")
    assert failure is not None and "Turn on Insights events." in (failure.text or "")
    assert "None" not in {p.get("value") for p in root.iter("property")}  # no `since`: no property


def test_the_class_summary_is_students_by_tasks() -> None:
    lab = load_lab(KMS_LAB)
    record = graded_record()
    results = [classroom.StudentResult(Student("111111111111", "Al"), record)]
    rows = classroom.summary_rows(lab, results, ("create-key", "create-trail"))
    assert rows[0] == ["name", "account", "status", "create-key", "create-trail", "total", "points", "error"]
    assert rows[1] == ["Al", "111111111111", "failed", "15", "0", "25", "45", ""]
    table = classroom.summary_table(lab, results, ("create-key", "create-trail"))
    assert "Al" in table and "25/45" in table


def test_the_class_table_shows_an_error_that_quotes_an_account_on_one_line_escaped() -> None:
    lab = load_lab(KMS_LAB)
    error = "NoSuchKey: notes\x1b[2J\n::error::owned"
    results = [classroom.StudentResult(Student("111111111111", "Al"), graded_record(), error)]
    table = classroom.summary_table(lab, results, ("create-key",))
    assert table.splitlines()[1].endswith("ERROR NoSuchKey: notes\\x1b[2J\\x0a::error::owned")


def test_the_policy_simulator_is_read_only_for_checks_and_for_the_guard() -> None:
    from runner.aws_models import is_read_only, lookup

    assert is_read_only("iam", "SimulatePrincipalPolicy")
    assert lookup("aws.iam.simulate_principal_policy").read_only
    assert not is_read_only("iam", "CreateUser")
    assert not lookup("aws.iam.simulate_principal_policy").name.startswith(("Get", "List"))


def test_no_policy_is_printed_for_checks_that_call_no_aws_api(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    lab = tmp_path / "web.yaml"
    lab.write_text("lab: web\ntitle: A web page\ntasks:\n  - id: page\n    title: The page answers\n"
                   "    checks:\n      - action: http.request\n        params: {url: 'https://example.com/'}\n")
    assert main(["grade", str(lab), "--print-policy"]) == 0
    printed = capsys.readouterr()
    assert printed.out == "" and "make no AWS call" in printed.err


def test_a_class_has_a_time_limit_per_student_by_default() -> None:
    assert student_time_limit(None, None) is None
    limit = student_time_limit(None, "class.csv")
    assert limit is not None and limit.seconds == 600
    assert limit.reason == "this account's grade took longer than --student-timeout (10m)"
    assert student_time_limit(" 90s ", "class.csv") == TimeLimit(90, "this account's grade took longer than "
                                                                     "--student-timeout (90s)")
