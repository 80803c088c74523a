"""A minimal driver used by the tests: calls the student's ``step`` n times, ticking after each."""


def run(namespace, n, tick):
    step = namespace["step"]
    values = []
    for i in range(n):
        values.append(step(i))
        tick()
    return values
