PYTHON ?= python3
ASSIGNMENT ?= problems/autoencoders
OUT ?= reports

.PHONY: setup demo test validate

setup:
	@bash scripts/setup.sh

# the specs, the references, and every sample submission against samples.yaml (the author's regression suite)
validate: setup
	$(PYTHON) -m grader validate $(ASSIGNMENT)

# the specs and references, then the samples graded as a batch into OUT (reports, scores.csv, results.json)
demo: setup
	$(PYTHON) -m grader validate $(ASSIGNMENT) --no-samples
	$(PYTHON) -m grader grade $(ASSIGNMENT)/samples --assignment $(ASSIGNMENT) --out $(OUT) --jobs 2

test: setup
	$(PYTHON) -m pytest -q
