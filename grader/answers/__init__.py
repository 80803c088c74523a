"""Written answers: question kinds, the safe answers.yaml reader, scoring and manual grades."""
