"""`labrunner verify`: the grader's own test. A lab's grade is run against accounts whose history is known.

For each lab, `cases.py` plans the cases (an untouched account, the lab's own steps, each task left
out, each declared alternative and mistake) and what each expects of every task; `case_run.py` runs
one case in a fresh account (`accounts.py`), its steps in the verify run mode (`mode.py`) and its
grades through `runner.grading`; `judge.py` compares what was expected with what was graded;
`verifier.py` runs a lab's cases in parallel; `matrix.py` and `junit.py` report the result.
"""
