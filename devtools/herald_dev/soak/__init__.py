"""The chaos soak (`make soak`): herald's real engine and X channel over a generated month of
campaigns, against the fake X API and DynamoDB Local, with seeded random faults, racing
workers killed at random, and a report of what was published, late, unknown, doubled or lost.

- `campaigns`: the generated campaign files and images;
- `clock`: the simulated clock the fakes share;
- `dynamodb_proxy`: throttling and lost answers in front of DynamoDB Local;
- `worker`, `pool`: the publisher processes and the rounds of ticks they race in;
- `run`: the soak itself; `report`, `document`: what it found, as Markdown.

A dev tool: nothing here is part of the function's package.
"""
