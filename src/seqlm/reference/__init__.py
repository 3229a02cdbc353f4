"""NumPy-only reference: recurrent cells with hand-written backward, BPTT and gradient checks.

    primitives     sigmoid, tanh', softmax cross-entropy, torch's uniform initialisation
    cell           the shared affine maps and torch's parameter names; rnn, lstm, gru: gates
    cells          the registry: make_cell("lstm", E, H, rng)
    recurrence     one layer over T steps, input projections hoisted out of the time loop
    mingru         minGRU over a window: its backward is a reverse linear recurrence
    lm             embedding + L layers + softmax head, forward / backward / loss_and_grads
    gradcheck      centred finite differences, relative-error report
    clipping       global-norm and value clipping;  optim: SGD, Adagrad, Adam
    tbptt          truncated BPTT training with carried state, evaluation
    sampling       temperature sampling;  weights: .npz save / load
    walkthrough    a prompt read token by token (seqlm by-hand)
    gradient_flow  Jacobian products and measured ||dL_T/dh_k|| (seqlm vanishing)

Never imports torch: the tests join this package to torch as an oracle.
"""
