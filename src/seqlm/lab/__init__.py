"""The lab: the experiments that show why recurrence lost and how it came back, each a command
of its own and a step of `seqlm lab`."""
