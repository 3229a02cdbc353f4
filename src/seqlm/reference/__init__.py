"""NumPy-only reference: recurrent cells with hand-written backward, BPTT and gradient checks.

Never imports torch: the tests join this package to torch as an oracle.
"""
