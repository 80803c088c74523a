PYTHON ?= python3
ASSIGNMENT ?= problems/autoencoders
OUT ?= reports

.PHONY: setup demo test validate

setup:
	@bash scripts/setup.sh

validate: setup
	$(PYTHON) -m grader validate $(ASSIGNMENT)

demo: validate
	$(PYTHON) -m grader grade submissions --assignment $(ASSIGNMENT) --out $(OUT) --jobs 2

test: setup
	$(PYTHON) -m pytest -q
