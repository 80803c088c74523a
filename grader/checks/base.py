from grader.registry import Registry
CHECKS = Registry("check")
