"""The validator: what passes, how problems are collected and placed, and rules that read best as code.

Most single-rule cases live in the corpus (tests/data/invalid/); these are the ones about how rules
combine and what is allowed. The checks the engine shares are in test_value_checks.py.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from runner import model, templates
from runner.errors import Problem
from runner.validate import validate_text

HEAD = """\
lab: demo
title: Demo
"""


def check(body: str, lab_dir: Path | None = None) -> list[Problem]:
    _, problems = validate_text(HEAD + textwrap.dedent(body), "lab.yaml", lab_dir)
    return problems


def texts(body: str, lab_dir: Path | None = None) -> list[str]:
    return [p.format() for p in check(body, lab_dir)]


def valid(body: str, lab_dir: Path | None = None) -> model.Lab:
    lab, problems = validate_text(HEAD + textwrap.dedent(body), "lab.yaml", lab_dir)
    assert not problems, "\n".join(p.format() for p in problems)
    assert lab is not None
    return lab


# ---- what is allowed


def test_reads_that_do_not_start_with_get_are_fit_for_checks() -> None:
    # Issue 15: DynamoDB Query, Scan, BatchGetItem and TransactGetItems were refused as "changing the account".
    valid("""\
        tasks:
          - id: t
            title: t
            checks:
              - action: aws.dynamodb.query
                params:
                  TableName: Movies
                  KeyConditionExpression: "title = :t"
                  ExpressionAttributeValues: {":t": {S: Jaws}}
              - action: aws.dynamodb.scan
                params: {TableName: Movies}
              - action: aws.dynamodb.batch_get_item
                params: {RequestItems: {Movies: {Keys: [{title: {S: Jaws}}]}}}
              - action: aws.dynamodb.transact_get_items
                params: {TransactItems: [{Get: {TableName: Movies, Key: {title: {S: Jaws}}}}]}
        """)


def test_head_requests_expect_http_statuses_and_codes_botocore_does_not_model_pass() -> None:
    # Issue 15: HeadBucket and HeadObject errors have no body, boto3 reports "404", and that was refused.
    lab = valid("""\
        tasks:
          - id: t
            title: t
            checks:
              - action: aws.s3.head_object
                params: {Bucket: b, Key: k}
                expect_error: ["404", 403]
              - action: aws.s3.head_bucket
                params: {Bucket: b}
                expect_error: 404
              - action: aws.s3.get_bucket_policy
                params: {Bucket: b}
                expect_error: [NoSuchBucketPolicy, AccessDenied]
              - action: aws.sqs.get_queue_url
                params: {QueueName: q}
                expect_error: [QueueDoesNotExist, AWS.SimpleQueueService.NonExistentQueue]
        """)
    assert [step.expect_error for step in lab.tasks[0].checks][:2] == [("404", "403"), ("404",)]


def test_a_repeatable_action_retries_without_naming_codes() -> None:
    valid("""\
        tasks:
          - id: t
            title: t
            steps:
              - action: aws.sqs.receive_message
                params: {QueueUrl: "https://sqs.us-east-1.amazonaws.com/123456789012/q"}
                retry: {timeout: 1m, interval: 2s}
                expect:
                  - {path: "length(Messages || `[]`)", greater_than: 0}
        """)
    problems = texts("""\
        tasks:
          - id: t
            title: t
            checks:
              - action: aws.sqs.receive_message
                params: {QueueUrl: "https://sqs.us-east-1.amazonaws.com/123456789012/q"}
        """)
    assert len(problems) == 1 and "checks must be read-only, but aws.sqs.receive_message changes the account (SQS " \
        "ReceiveMessage is how a consumer polls a queue" in problems[0]


def test_checks_use_vars_and_earlier_checks_saves() -> None:
    valid("""\
        vars: {alias: demo}
        tasks:
          - id: t
            title: t
            checks:
              - action: aws.kms.describe_key
                params: {KeyId: "alias/{{ alias }}"}
                save: {key_id: KeyMetadata.KeyId}
              - action: aws.kms.list_aliases
                params: {KeyId: "{{ key_id }}"}
          - id: later
            title: later
            checks:
              - action: aws.kms.get_key_policy
                params: {KeyId: "{{ key_id }}"}
        """)


def test_steps_see_earlier_steps_and_checks_saves() -> None:
    valid("""\
        tasks:
          - id: a
            title: a
            checks:
              - action: aws.sts.get_caller_identity
                save: {account: Account}
          - id: b
            title: b
            steps:
              - action: aws.kms.create_key
                params: {Description: "for {{ account }}"}
                save: {key_id: KeyMetadata.KeyId}
                cleanup:
                  action: aws.kms.schedule_key_deletion
                  params: {KeyId: "{{ key_id }}", PendingWindowInDays: 7}
              - action: aws.kms.enable_key_rotation
                params: {KeyId: "{{ key_id }}"}
        """)


def test_lab_cleanup_may_use_any_saved_name() -> None:
    valid("""\
        tasks:
          - id: a
            title: a
            steps:
              - action: aws.kms.create_key
                save: {key_id: KeyMetadata.KeyId}
        cleanup:
          - action: aws.kms.schedule_key_deletion
            when: "{{ key_id is defined }}"
            params: {KeyId: "{{ key_id }}", PendingWindowInDays: 7}
        """)


def test_advice_alternatives_and_mistakes_are_in_the_model() -> None:
    lab = valid("""
        vars: {bucket: b}
        tasks:
          - id: make
            title: Make
            steps:
              - action: aws.s3.create_bucket
                params: {Bucket: "{{ bucket }}"}
                save: {made: Location}
            checks:
              - action: aws.s3.head_bucket
                params: {Bucket: "{{ bucket }}"}
                save: {region: BucketRegion}
            advice:
              - action: aws.s3.get_bucket_tagging
                params: {Bucket: "{{ bucket }}"}
                save: {tags: TagSet}
              - action: aws.s3.get_bucket_policy
                params: {Bucket: "{{ bucket }}{{ region }}{{ tags | length }}"}  # checks' and earlier advice's
            alternatives:
              by-cli:
                - action: aws.s3.create_bucket
                  params: {Bucket: "{{ bucket }}"}
                  save: {made: Location}
            mistakes:
              wrong-bucket:
                - action: aws.s3.create_bucket
                  params: {Bucket: "{{ bucket }}-x"}
          - id: use
            title: Use
            steps:
              - action: aws.s3.put_bucket_tagging
                params: {Bucket: "{{ made }}", Tagging: {TagSet: []}}
    """)
    task = lab.tasks[0]
    assert [s.key for s in task.advice] == ["make.advice[0]", "make.advice[1]"]
    assert {s.section for s in task.advice} == {"advice"}
    assert [s.key for s in task.alternatives["by-cli"]] == ["make.alternatives.by-cli[0]"]
    assert [s.key for s in task.mistakes["wrong-bucket"]] == ["make.mistakes.wrong-bucket[0]"]
    assert task.mistakes["wrong-bucket"][0].section == "steps"  # it runs in place of the task's steps


def test_an_alternative_need_not_save_what_a_later_step_saves_again_first() -> None:
    valid("""
        tasks:
          - id: one
            title: One
            steps:
              - action: aws.kms.create_key
                save: {key_id: KeyMetadata.KeyId}
            checks:
              - action: aws.kms.list_keys
            alternatives:
              other:
                - action: aws.kms.list_keys
          - id: two
            title: Two
            steps:
              - action: aws.kms.create_key
                save: {key_id: KeyMetadata.KeyId}
                cleanup:
                  action: aws.kms.disable_key
                  params: {KeyId: "{{ key_id }}"}
              - action: aws.kms.describe_key
                params: {KeyId: "{{ key_id }}"}
    """)


def test_no_check_may_use_what_advice_saves() -> None:
    problems = texts("""
        tasks:
          - id: one
            title: One
            checks:
              - action: aws.kms.list_keys
            advice:
              - action: aws.kms.list_aliases
                save: {aliases: Aliases}
          - id: two
            title: Two
            checks:
              - action: aws.kms.describe_key
                params: {KeyId: "{{ aliases }}"}
    """)
    assert len(problems) == 1 and "undefined variable 'aliases'" in problems[0]


def test_templated_values_are_left_to_run_time_but_static_ones_are_checked() -> None:
    valid("""\
        vars: {days: 7, flag: true, tags: [{TagKey: a, TagValue: b}]}
        tasks:
          - id: a
            title: a
            steps:
              - action: aws.kms.create_key
                params:
                  Tags: "{{ tags }}"
                  BypassPolicyLockoutSafetyCheck: "{{ flag }}"
                save: {key_id: KeyMetadata.KeyId}
              - action: aws.kms.schedule_key_deletion
                params: {KeyId: "{{ key_id }}", PendingWindowInDays: "{{ days }}"}
        """)
    assert texts("""\
        tasks:
          - id: a
            title: a
            steps:
              - action: aws.kms.schedule_key_deletion
                params: {KeyId: k, PendingWindowInDays: 7.5}
        """) == ["lab.yaml:8:49: [task 'a' step 'steps[0]'] parameter PendingWindowInDays of "
                 "aws.kms.schedule_key_deletion must be a whole number, not number; write a whole number here"]


def test_a_mapping_for_a_string_parameter_is_sent_as_json() -> None:
    lab = valid("""\
        tasks:
          - id: a
            title: a
            steps:
              - action: aws.s3.put_bucket_policy
                params:
                  Bucket: b
                  Policy:
                    Version: "2012-10-17"
                    Statement: [{Effect: Allow, Principal: "*", Action: "s3:GetObject", Resource: "*"}]
        """)
    assert lab.tasks[0].steps[0].params["Policy"]["Version"] == "2012-10-17"
    # ...but not for a number.
    assert "must be a whole number, not mapping" in texts("""\
        tasks:
          - id: a
            title: a
            steps:
              - action: aws.kms.schedule_key_deletion
                params: {KeyId: k, PendingWindowInDays: {days: 7}}
        """)[0]


def test_retry_on_a_mutating_step_with_named_codes() -> None:
    lab = valid("""\
        tasks:
          - id: a
            title: a
            steps:
              - action: aws.cloudtrail.create_trail
                params: {Name: t, S3BucketName: b}
                retry: {on: InsufficientS3BucketPolicyException}
        """)
    assert lab.tasks[0].steps[0].retry == model.Retry(on=("InsufficientS3BucketPolicyException",))
    assert model.Retry() == model.Retry(timeout=60.0, interval=5.0, backoff=1.0, max_interval=60.0)


def test_higher_level_params_may_be_templates() -> None:
    valid("""\
        vars: {url: "https://example.com", wait: 10s, methods: GET}
        tasks:
          - id: a
            title: a
            checks:
              - action: http.request
                params: {url: "{{ url }}", timeout: "{{ wait }}", method: "{{ methods }}"}
        """)


def test_file_parameters_relative_to_the_lab(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "photo.jpg").write_bytes(b"\xff\xd8")
    valid("""\
        tasks:
          - id: a
            title: a
            steps:
              - action: s3.upload_file
                params: {bucket: b, key: k, file: data/photo.jpg}
            checks:
              - action: aws.s3.head_object
                params: {Bucket: b, Key: k}
                expect: {ContentLength: "{{ file_size('data/photo.jpg') }}"}
        """, tmp_path)
    assert "did you mean 'photo.jpg'?" in texts("""\
        tasks:
          - id: a
            title: a
            steps:
              - action: s3.upload_file
                params: {bucket: b, key: k, file: data/phot.jpg}
        """, tmp_path)[0]


# ---- how problems are collected and placed


def test_every_layer_reports_in_one_run_sorted_by_position() -> None:
    problems = check("""\
        region: Oregon
        tasks:
          - id: a
            title: a
            steps:
              - action: aws.kms.describe_key
                params: {KeyID: x}
              - action: aws.kms.list_keys
                expect: [{path: "a[", equals: 1}]
        """)
    assert [(p.line, p.rule) for p in problems] == [
        (3, "pattern"), (9, "aws-params"), (9, "aws-params"), (11, "jmespath")]
    assert problems == sorted(problems, key=lambda p: (p.line, p.column, p.message))


def test_problem_context_names_task_and_step() -> None:
    problems = check("""\
        tasks:
          - title: no id
            steps:
              - action: aws.kms.describ_key
          - id: named
            title: t
            checks:
              - id: find
                action: aws.kms.describe_key
                params: {}
        cleanup:
          - action: aws.kms.nope
        """)
    assert [(p.task, p.step) for p in problems] == [("#1", None), ("#1", "steps[0]"), ("named", "find"),
                                                    (None, "cleanup[0]")]


def test_an_aliased_mistake_is_reported_where_it_is_written_and_where_it_is_used() -> None:
    problems = check("""\
        vars:
          a: &t ["{{ nope }}", "{{ nope }}"]
          b: [*t, *t, *t]
        tasks:
          - id: a
            title: a
        """)
    assert [(p.line, p.column) for p in problems] == [(4, 10), (4, 24), (5, 7), (5, 11), (5, 15)]
    assert {p.message for p in problems} == {"undefined variable 'nope'"}


def test_many_aliases_cost_what_the_file_holds() -> None:
    """10^5 expanded strings, 6 distinct places: the templates walk sees each shared list once."""
    lines = ['  l0: &l0 ["{{ x }}", "{{ y }}"]']
    for i in range(1, 6):
        lines.append(f"  l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]")
    problems = check("vars:\n" + "\n".join(lines) + "\ntasks:\n  - {id: a, title: a}\n")
    assert len(problems) == 2 + 5 * 10 * 2  # the anchor's two, then each alias: x and y once each
    found = templates.strings({"a": (shared := ["{{ x }}", "{{ x }}"]), "b": [shared, shared]})
    assert found == [(("a", 0), "{{ x }}"), (("a", 1), "{{ x }}"), (("b", 0), "{{ x }}"), (("b", 1), "{{ x }}")]


def test_a_template_error_in_a_literal_block_points_at_its_line() -> None:
    problems = check("""\
        vars:
          script: |
            line one
            line {{ two
        tasks:
          - {id: a, title: a}
        """)
    assert problems[0].line == 6 and problems[0].message.startswith("template syntax error")


def test_unknown_filters_and_tests_do_not_hide_undefined_variables() -> None:
    assert texts("""\
        vars:
          a: "{{ missing | nofilter }}"
          b: "{{ missing is nottest }}"
        tasks:
          - {id: a, title: a}
        """) == [
        "lab.yaml:4:6: undefined variable 'missing'; define it in vars or save it in an earlier step",
        "lab.yaml:4:6: unknown filter 'nofilter'; see the Jinja2 list of builtin filters",
        "lab.yaml:5:6: undefined variable 'missing'; define it in vars or save it in an earlier step",
        "lab.yaml:5:6: unknown test 'nottest'; did you mean 'test'?",
    ]


def test_default_interval_longer_than_the_timeout() -> None:
    assert texts("""\
        tasks:
          - id: a
            title: a
            checks:
              - action: aws.kms.list_keys
                retry: {timeout: 2s}
        """) == ["lab.yaml:8:26: [task 'a' step 'checks[0]'] retry.interval (default 5s) is longer than "
                 "retry.timeout (2s): the step would run once; shorten the interval or lengthen the timeout"]


def test_no_problem_is_reported_twice() -> None:
    problems = check("""\
        tasks:
          - id: a
            title: a
            checks:
              - action: aws.kms.describe_key
                params: {KeyId: k}
                expect: [{path: x, one_of: 3}]
        """)
    assert len(problems) == 1 and problems[0].message == "'one_of' must be a list, not number"


@pytest.mark.parametrize("text", ["", "# only a comment\n", "[]\n", "just text\n", "42\n"])
def test_documents_that_are_not_mappings(text: str) -> None:
    _, problems = validate_text(text, "lab.yaml")
    assert len(problems) == 1 and problems[0].rule == "structure" and problems[0].line == 1
