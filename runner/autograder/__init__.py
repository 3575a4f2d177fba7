"""A Gradescope autograder for a lab: build the zip, and grade each submission on Gradescope.

Above `runner.grading` (it grades one account through a role, as a class of one, and writes
Gradescope's results.json). `package.py` makes the zip (`labrunner autograder`, in
`runner.commands.autograder`) with a wheel of this labrunner (`wheel.py`) and the instructor's
choices (`config.py`); on Gradescope, `run.py` (`python -m runner.autograder`) reads the submission
(`submission.py`), grades it and writes the results.
"""
