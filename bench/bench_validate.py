"""Benchmark: validating a generated 2,000-step lab, in process and through `labrunner validate`.

Run directly (`python bench/bench_validate.py`) or through `bench/run.py`, which records the figures in
docs/benchmarks.md. The lab mixes what real labs hold: aws.* calls with botocore-validated parameters,
higher-level actions, templates naming vars and saved values, list- and mapping-form expectations,
retries and cleanups.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

TASKS = 200
STEPS_PER_TASK = 6
CHECKS_PER_TASK = 4  # 200 x (6 + 4) = 2,000 steps and checks


def generate_lab(tasks: int = TASKS) -> str:
    """A valid lab of `tasks` tasks, each with 6 steps and 4 checks."""
    out = [
        "# yaml-language-server: $schema=../schemas/lab.schema.json",
        "lab: bench-2000",
        "title: A generated lab of 2,000 steps",
        "region: us-west-2",
        "vars:",
        "  prefix: bench",
        '  bucket: "{{ prefix }}-{{ random_digits(6) }}"',
        "  policy:",
        '    Version: "2012-10-17"',
        "    Statement:",
        "      - Effect: Allow",
        '        Principal: {AWS: "arn:aws:iam::{{ target.account }}:root"}',
        "        Action: kms:*",
        '        Resource: "*"',
        "tasks:",
    ]
    for t in range(tasks):
        out += [
            f"  - id: task-{t}",
            f"    title: Task {t}",
            "    points: 2",
            "    steps:",
            f"      - id: key-{t}",
            "        action: aws.kms.create_key",
            "        params:",
            f"          Description: key {t} for {{{{ prefix }}}}",
            "          KeyUsage: ENCRYPT_DECRYPT",
            "          Policy: \"{{ policy | tojson }}\"",
            "          Tags:",
            "            - {TagKey: lab, TagValue: \"{{ run.id }}\"}",
            f"        save: {{key_{t}: KeyMetadata.KeyId, arn_{t}: KeyMetadata.Arn}}",
            "        cleanup:",
            "          action: aws.kms.schedule_key_deletion",
            f"          params: {{KeyId: \"{{{{ key_{t} }}}}\", PendingWindowInDays: 7}}",
            "          ignore_errors: [NotFoundException]",
            "      - action: aws.kms.create_alias",
            f"        params: {{AliasName: \"alias/{{{{ prefix }}}}-{t}\", TargetKeyId: \"{{{{ key_{t} }}}}\"}}",
            "      - action: aws.s3.create_bucket",
            "        params:",
            f"          Bucket: \"{{{{ bucket }}}}-{t}\"",
            "          CreateBucketConfiguration: {LocationConstraint: \"{{ target.region }}\"}",
            "        retry: {timeout: 2m, interval: 5s, on: [OperationAborted]}",
            "      - action: aws.s3.put_public_access_block",
            "        params:",
            f"          Bucket: \"{{{{ bucket }}}}-{t}\"",
            "          PublicAccessBlockConfiguration:",
            "            BlockPublicAcls: true",
            "            IgnorePublicAcls: true",
            "            BlockPublicPolicy: true",
            "            RestrictPublicBuckets: true",
            "      - action: aws.s3.put_bucket_encryption",
            "        params:",
            f"          Bucket: \"{{{{ bucket }}}}-{t}\"",
            "          ServerSideEncryptionConfiguration:",
            "            Rules:",
            "              - ApplyServerSideEncryptionByDefault:",
            "                  SSEAlgorithm: aws:kms",
            f"                  KMSMasterKeyID: \"{{{{ arn_{t} }}}}\"",
            "      - action: kms.key_users",
            f"        params: {{key_id: \"{{{{ key_{t} }}}}\", add: [\"{{{{ caller.arn }}}}\"]}}",
            "    checks:",
            "      - action: aws.kms.describe_key",
            f"        params: {{KeyId: \"alias/{{{{ prefix }}}}-{t}\"}}",
            "        expect:",
            "          KeyMetadata.KeyState: Enabled",
            "          KeyMetadata.KeyUsage: ENCRYPT_DECRYPT",
            f"        save: {{checked_{t}: KeyMetadata.KeyId}}",
            "      - action: aws.kms.list_aliases",
            f"        params: {{KeyId: \"{{{{ checked_{t} }}}}\"}}",
            "        paginate: true",
            "        expect:",
            f"          - path: \"Aliases[?AliasName=='alias/{{{{ prefix }}}}-{t}'] | length(@)\"",
            "            equals: 1",
            "      - action: aws.s3.get_public_access_block",
            f"        params: {{Bucket: \"{{{{ bucket }}}}-{t}\"}}",
            "        expect:",
            "          - path: PublicAccessBlockConfiguration.BlockPublicAcls",
            "            equals: true",
            "          - path: PublicAccessBlockConfiguration.RestrictPublicBuckets",
            "            one_of: [true]",
            "        retry: {timeout: 1m, interval: 2s, backoff: 1.5, max_interval: 10s}",
            "      - action: http.request",
            f"        params: {{url: \"https://{{{{ bucket }}}}-{t}.s3.amazonaws.com/\"}}",
            "        expect:",
            "          - path: status",
            "            equals: 403",
            "          - path: Error.Code",
            "            matches: \"^(AccessDenied|AllAccessDisabled)$\"",
        ]
    return "\n".join(out) + "\n"


def _median_seconds(func: Any, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(repeat: int = 7) -> dict[str, Any]:
    from runner.validate import validate_file

    with tempfile.TemporaryDirectory() as tmp:
        lab = Path(tmp) / "bench-2000.yaml"
        lab.write_text(generate_lab())

        first_start = time.perf_counter()
        model, problems = validate_file(lab)  # also warms imports, botocore models, the schema
        first = time.perf_counter() - first_start
        assert not problems, "\n".join(p.format() for p in problems[:10])
        assert model is not None
        steps = sum(len(t.steps) + len(t.checks) for t in model.tasks)
        assert steps == TASKS * (STEPS_PER_TASK + CHECKS_PER_TASK), steps

        def in_process() -> None:
            validate_file(lab)

        def cli() -> None:
            result = subprocess.run([sys.executable, "-m", "runner", "validate", str(lab)],
                                    capture_output=True, text=True, check=False)
            assert result.returncode == 0, result.stdout + result.stderr

        text = lab.read_text()

        def plain_yaml() -> None:  # the baseline: PyYAML's C loader, no marks, no checks
            yaml.load(text, Loader=yaml.CSafeLoader)

        return {
            "yaml_baseline_median_s": _median_seconds(plain_yaml, repeat),
            "steps": steps,
            "bytes": lab.stat().st_size,
            "first_in_process_s": first,
            "in_process_median_s": _median_seconds(in_process, repeat),
            "cli_median_s": _median_seconds(cli, max(3, repeat // 2)),
        }


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))
