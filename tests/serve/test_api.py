"""`seqlm serve`'s JSON API through Starlette's TestClient: every endpoint answers in seqlm's
own numbers (the stream's tokens are the sampler's, the per-token scores add up to the
evaluation's total, the n-gram's distribution is the model's), and every refusal is a JSON
error with a 4xx code and one line."""

import json

import numpy as np
import pytest

from seqlm.data.vocab import EOS_ID
from seqlm.decoding.lm_text import encode_prime
from seqlm.decoding.sampling import NEVER, SamplingRule, generate


def stream(client, **body) -> list[dict]:
    response = client.post("/api/sample", json={"model": "chars", **body})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    return [json.loads(line) for line in response.text.splitlines()]


def test_models_lists_each_model_once_by_id(client):
    answer = client.get("/api/models").json()
    families = {m["id"]: m["family"] for m in answer["models"]}
    assert families == {"chars": "lm", "dates": "seq2seq", "words": "ngram"}
    assert answer["limits"]["max_beam_width"] == 16


def test_the_stream_is_seqlms_own_sample_token_by_token(client, served):
    lines = stream(client, prime="i w", length=30, temperature=0.9, top_k=10, seed=3)
    *tokens, done = lines
    assert done["done"] and done["tokens"] == len(tokens) == 30
    lm = served[1]["chars"]
    prime = encode_prime("i w", lm.vocab, "char")
    expected = generate(lm.model, prime, 30, SamplingRule(0.9, 10, None, 1.0,
                                                          (*NEVER, EOS_ID)), seed=3)
    assert [t["id"] for t in tokens] == expected
    assert done["text"] == "i w" + "".join(t["text"] for t in tokens)
    for t in tokens:
        assert len(t["top"]) == 5 and 0 < t["p"] <= 1
        ps = [a["p"] for a in t["top"]]
        assert ps == sorted(ps, reverse=True) and t["p"] <= ps[0] + 1e-12


def test_greedy_picks_the_top_alternative_and_beam_search_streams_too(client):
    *tokens, _ = stream(client, prime="i ", length=12, temperature=0)
    assert all(t["token"] == t["top"][0]["token"] for t in tokens)
    *beam, done = stream(client, prime="i ", length=12, beam_width=4)
    assert 1 <= len(beam) <= 12 and done["tokens"] == len(beam)


def test_score_gives_every_tokens_nats_adding_up_to_the_evaluation(client):
    text = "i work , you work , he works .\n"
    answer = client.post("/api/score", json={"model": "chars", "text": text}).json()
    nats = np.array([t["nats"] for t in answer["tokens"]])
    assert len(nats) == answer["scored"] == len(text) - 1
    assert nats.mean() == pytest.approx(answer["loss_nats"], rel=1e-5)
    assert nats[answer["worst"][0]] == nats.max()
    assert answer["first"] + "".join(t["token"] for t in answer["tokens"]) == text


def test_translate_returns_the_output_and_one_attention_row_per_output_token(client):
    answer = client.post("/api/translate", json={"model": "dates",
                                                 "source": "July 19 1980"}).json()
    weights = np.array(answer["attention"])
    assert weights.shape == (len(answer["output_tokens"]), len("July 19 1980"))
    assert np.allclose(weights.sum(1), 1.0, atol=1e-5)
    assert "".join(answer["output_tokens"]).removesuffix("</s>") == answer["output"]


def test_next_gives_the_ngram_distribution_and_the_order_that_answered(client, served):
    answer = client.post("/api/next", json={"model": "words", "context": "the cat",
                                            "k": 50}).json()
    model = served[1]["words"].model
    assert answer["context"] == ["<s>", "the", "cat"] and answer["longest"] == 3
    best = answer["next"][0]
    assert (best["token"], best["order"]) == ("sat", 3)  # "the cat sat" is in the text
    assert best["p"] == pytest.approx(np.exp(model.logprob("sat", ["<s>", "the", "cat"])))
    assert sum(t["p"] for t in answer["next"]) == pytest.approx(1.0)  # the whole vocabulary
    assert {t["order"] for t in answer["next"]} <= {1, 2, 3}


def test_activations_read_one_unit_over_the_text(client):
    answer = client.post("/api/activations", json={"model": "chars", "text": "i work",
                                                   "layer": "c1", "unit": 3}).json()
    assert (answer["layer"], answer["unit"], answer["units"]) == ("c1", 3, 16)
    assert answer["tokens"] == list("i work") and len(answer["values"]) == 6
    chosen = client.post("/api/activations", json={"model": "chars", "text": "i work"}).json()
    assert chosen["layer"] == "h2" and 0 <= chosen["unit"] < 16


def test_the_page_is_served_and_self_contained(client):
    page = client.get("/")
    assert page.status_code == 200 and "<canvas" in page.text
    assert "http://" not in page.text and "https://" not in page.text  # nothing from elsewhere


REFUSALS = [  # (path, body, status, words the message holds)
    ("/api/sample", {"model": "chars", "prime": "i " * 1001}, 400, "--max-prime-chars"),
    ("/api/sample", {"model": "chars", "temperature": -1}, 400, "temperature"),
    ("/api/sample", {"model": "nope"}, 404, "chars, dates, words"),
    ("/api/sample", {"model": "../../etc/passwd"}, 404, "no model"),
    ("/api/sample", {"model": "chars", "beam_width": 10_000}, 400, "--max-beam-width"),
    ("/api/sample", {"model": "chars", "length": 1_000_001}, 400, "--max-output-tokens"),
    ("/api/sample", {"model": "chars", "length": 2.5}, 400, "integer"),
    ("/api/sample", {"model": "chars", "top_p": 1.5}, 400, "top_p"),
    ("/api/sample", {"model": "chars", "prime": "QQ"}, 400, "vocabulary"),
    ("/api/sample", {"model": "dates"}, 400, "does not answer /api/sample"),
    ("/api/score", {"model": "chars"}, 400, "'text'"),
    ("/api/score", {"model": "chars", "text": 5}, 400, "string"),
    ("/api/translate", {"model": "dates", "source": ""}, 400, "at least 1"),
    ("/api/translate", {"model": "dates", "source": "x" * 200}, 400, "maximum"),
    ("/api/translate", {"model": "dates", "source": "1 2", "beam_width": 10_000}, 400,
     "beam_width"),
    ("/api/next", {"model": "words", "context": "a", "start": "yes"}, 400, "true or false"),
    ("/api/activations", {"model": "chars", "text": "i", "layer": "h9"}, 400, "h1, c1"),
    ("/api/activations", {"model": "chars", "text": "i", "unit": 99}, 400, "0 to 15"),
]


@pytest.mark.parametrize(("path", "body", "status", "words"), REFUSALS)
def test_every_refusal_is_one_json_line_with_a_4xx_code(client, path, body, status, words):
    response = client.post(path, json=body)
    assert response.status_code == status, response.text
    message = response.json()["error"]
    assert words in message and "\n" not in message and "Traceback" not in message


def test_bodies_that_are_too_large_or_not_json_are_refused(client):
    big = client.post("/api/score", content=b'{"text": "' + b"a" * 70_000 + b'"}')
    assert big.status_code == 413 and "--max-request-bytes" in big.json()["error"]
    for raw in (b"{nope", b"[1, 2]"):
        response = client.post("/api/score", content=raw)
        assert response.status_code == 400 and "JSON" in response.json()["error"]
    assert client.get("/api/sample").status_code == 405  # a POST endpoint
    assert client.get("/etc/passwd").status_code == 404


def test_the_gate_lets_running_and_waiting_requests_in_and_refuses_the_rest():
    import asyncio

    from seqlm.serve.app import Gate
    from seqlm.serve.limits import RequestError

    async def scenario() -> list[str]:
        gate, seen = Gate(running=1, waiting=1), []
        await gate.enter()  # runs
        waiter = asyncio.create_task(gate.enter())  # waits in line
        await asyncio.sleep(0)
        try:
            await gate.enter()  # neither: refused
        except RequestError as e:
            seen.append(f"{e.status} {e}")
        gate.leave()
        await waiter  # the one in line runs now
        seen.append("waiter in")
        gate.leave()
        return seen

    refused, admitted = asyncio.run(scenario())
    assert refused.startswith("429 the server is busy") and "--max-concurrent" in refused
    assert admitted == "waiter in"


def test_a_client_that_leaves_before_the_first_line_gives_its_slot_back(served):
    """Raw ASGI, one generation slot: the first client disconnects as soon as the response
    starts (before any line is read); the next request must run, not get a 429."""
    import asyncio
    import json
    from dataclasses import replace

    from seqlm.serve.app import build_app

    app = build_app(served[1], replace(served[0], max_concurrent=1, max_waiting=0))
    body = json.dumps({"model": "chars", "prime": "a", "length": 50}).encode()
    scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"},
             "http_version": "1.1", "method": "POST", "path": "/api/sample",
             "raw_path": b"/api/sample", "query_string": b"", "root_path": "",
             "headers": [(b"content-type", b"application/json")], "scheme": "http",
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}

    async def request(leave: bool) -> list[int]:
        pending = [{"type": "http.request", "body": body, "more_body": False}]
        statuses: list[int] = []

        async def receive() -> dict:
            if pending:
                return pending.pop(0)
            if leave:
                return {"type": "http.disconnect"}
            await asyncio.sleep(60)
            return {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])
            await asyncio.sleep(0)

        await asyncio.wait_for(app(scope, receive, send), 30)
        return statuses

    async def scenario() -> tuple[list[int], list[int]]:
        return await request(leave=True), await request(leave=False)

    gone, after = asyncio.run(scenario())
    assert gone == [200] and after == [200]
