"""Where verify's cases run (`runner.verify.pools`): worker processes forked from a process of one thread,
else threads; either way the same matrix, the same requests shown, and nothing left running.

The worker-process tests run `labrunner verify` as a process of its own: the test process serves an
emulator (threads), and verify rightly refuses to fork from it.
"""

from __future__ import annotations

import io
import os
import pickle
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from runner.emulator import Emulator
from runner.verify import pools

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
GOOD = ROOT / "tests" / "data" / "verify" / "good.yaml"
MISTAKE = ROOT / "tests" / "data" / "verify" / "mistake-scores.yaml"


def verify(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "runner", "verify", *args], capture_output=True, text=True,
                          cwd=ROOT, check=False, env={**os.environ, **(env or {})}, timeout=300)


def rows(out: str) -> dict[str, list[str]]:
    return {line.split("  ")[0]: line.split()[-2:] for line in out.splitlines()
            if line.startswith(("untouched", "reference", "leave out", "alternative", "mistake"))}


def test_worker_processes_grade_every_case_as_threads_do_and_show_each_case_s_requests() -> None:
    done = verify(str(GOOD), str(MISTAKE), "--parallel", "2", "--verbose", "--seed", "2100")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "  embedded emulator, one per worker  |  every case in a fresh account, 2 at a time in worker processes" \
        in done.stdout
    good = done.stdout.split("labrunner verify verify-mistake-scores")[0]
    found = rows(good)
    assert found["untouched account"] == ["0", "0"]
    assert found["reference"] == found["reference (after clean-up)"] == ["10", "5"]
    assert found["leave out make-bucket"] == ["0", "dep"]
    assert ("disagreements (1):\n  mistake tag-bucket/wrong-team, task tag-bucket: expected 0, scored 1/1: "
            "every check passed: 'team-tagged'") in done.stdout
    assert "result: FAILED: 1 disagreement in 11 cases of 2 labs" in done.stdout
    # The requests a worker's case made are shown here, marked with the case's account, before its line.
    accounts = dict(re.findall(r"  case (.+) \(account (\d{12})\): ", good))
    reference = accounts["reference"]
    before = good.split(f"  case reference (account {reference})")[0]
    assert re.search(rf'      > {reference} s3\.CreateBucket \{{"Bucket": "verify-good-\d{{8}}"', before)
    assert f"      < {reference} s3.PutBucketTagging 204 {{}}" in before
    assert f"      > {reference} s3.GetBucketTagging" in before  # the grade's reads too
    assert "Traceback" not in done.stderr


def test_workers_reach_an_endpoint_given_by_url_and_are_no_more_than_the_cases(emulator: Emulator) -> None:
    done = verify(str(GOOD), "--target", emulator.endpoint, "--parallel", "50", "--seed", "2200")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"  {emulator.endpoint}  |  every case in a fresh account, 6 at a time in worker processes" in done.stdout
    assert rows(done.stdout)["reference (after clean-up)"] == ["10", "5"]


def test_an_endpoint_that_does_not_make_accounts_fails_before_any_worker_starts() -> None:
    done = verify(str(GOOD), "--target", "http://127.0.0.1:9", "--parallel", "2")  # nothing listens on port 9
    assert done.returncode == 2, done.stdout + done.stderr
    assert "--target http://127.0.0.1:9: nothing answers there (Connection refused)" in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_ctrl_c_stops_the_workers_and_exits_130_without_a_traceback() -> None:
    lab = ROOT / "labs" / "kms-basics.yaml"  # cases long enough to be in the middle of some
    process = subprocess.Popen([sys.executable, "-m", "runner", "verify", str(lab), "--parallel", "2"], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("  case "):  # the workers are at work
            break
    os.killpg(process.pid, signal.SIGINT)  # as a terminal's Ctrl-C: to the whole process group
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert err.strip().endswith("interrupted") and "Traceback" not in err
    for _ in range(100):  # the workers end with their parent, or soon after
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail("a worker process outlived verify")


def test_a_recording_keeps_what_it_is_told_safe_to_pickle_and_tells_it_again_in_order() -> None:
    recording = pools.Recording()
    recording.request("111122223333 s3.PutObject", {"Bucket": "b", "Body": io.BytesIO(b"secret"), "Key": b"k"})
    recording.response("111122223333 s3.PutObject", 200, {"ETag": "x"})
    told: list[tuple[str, tuple[object, ...]]] = []

    class Watcher:
        def request(self, operation: str, params: object) -> None:
            told.append(("request", (operation, params)))

        def response(self, operation: str, status: int | None, body: object) -> None:
            told.append(("response", (operation, status, body)))

    pickle.loads(pickle.dumps(recording)).tell(Watcher())
    assert told == [("request", ("111122223333 s3.PutObject", {"Bucket": "b", "Body": "<stream>", "Key": "<1 bytes>"})),
                    ("response", ("111122223333 s3.PutObject", 200, {"ETag": "x"}))]


def test_a_process_with_other_threads_never_forks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    assert pools.can_fork()
    monkeypatch.setattr(threading, "active_count", lambda: 2)
    assert not pools.can_fork()
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    monkeypatch.setattr(sys, "platform", "darwin")  # fork is there, but not safe with the system's libraries
    assert not pools.can_fork()


def test_by_default_one_case_per_core_on_the_emulator_and_more_on_an_endpoint() -> None:
    cores = len(os.sched_getaffinity(0))
    assert pools.default_parallel("emulator") == cores
    assert pools.default_parallel("http://127.0.0.1:4566") == pools.ENDPOINT_PARALLEL


_DYING = """
import os, sys
from runner.validate import load_lab
from runner.verify import pools
from runner.verify.case_run import Settings
from runner.verify.verifier import verify

lab = load_lab(sys.argv[1])
real = pools._run_case

def dying(lab_index, number):  # forked workers inherit this module's state, this patch too
    if pools.plan(lab)[number].name == "reference":
        os._exit(3)  # as a worker killed by the kernel: no reply, no clean-up
    return real(lab_index, number)

pools._run_case = dying
pool = pools.Workers("emulator", [(lab, "us-east-1")], Settings(seed=2300), 2)
try:
    verdict = verify(lab, pool)
finally:
    pool.close()
for run in verdict.runs:
    print(f"{run.case.name}: {run.error}")
print("passed" if verdict.passed else "failed")
"""


def test_a_worker_that_dies_fails_its_case_and_verify_still_ends() -> None:
    done = subprocess.run([sys.executable, "-c", _DYING, str(GOOD)], capture_output=True, text=True, cwd=ROOT,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert "reference: its worker process ended before the case did" in done.stdout.splitlines()
    assert done.stdout.splitlines()[-1] == "failed"  # the reference's grades are missing: that disagrees


_NO_TARGET = """
import sys
from runner.validate import load_lab
from runner.verify import pools
from runner.verify.case_run import Settings
from runner.verify.verifier import verify

def no_port(spec, region):
    raise OSError(98, "Address already in use")

pools.open_target = no_port  # forked workers inherit the patch: none can start its emulator
lab = load_lab(sys.argv[1])
pool = pools.Workers("emulator", [(lab, "us-east-1")], Settings(), 2)
try:
    verdict = verify(lab, pool)
finally:
    pool.close()
print(sorted({run.error for run in verdict.runs}))
"""


def test_a_worker_that_cannot_open_its_target_fails_each_of_its_cases_with_why() -> None:
    done = subprocess.run([sys.executable, "-c", _NO_TARGET, str(GOOD)], capture_output=True, text=True, cwd=ROOT,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ("['its worker could not open its target: OSError: [Errno 98] Address already in "
                                   "use']")
    assert "Traceback" not in done.stderr
