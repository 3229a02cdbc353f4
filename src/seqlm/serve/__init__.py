"""`seqlm serve`: a local web app (Starlette + uvicorn, `pip install 'seqlm[serve]'`) over the
models named on the command line: a JSON API and one self-contained page. `app` builds the
ASGI app, `models` loads and warms the models, `lm`, `seq2seq` and `ngram` answer for each
family, `limits` checks every request, `server` runs it all on a port."""
