"""`longform serve`: AgentWrite behind an OpenAI-compatible API, a jobs API, and a live web page.

    jobs.py     run directories as jobs: a bounded worker pool, a queue, events, cancel, resume after restart
    openai.py   /v1/chat/completions (whole or streamed) and /v1/models
    app.py      the FastAPI app: auth, body limits, errors in OpenAI's shape, the jobs API, the page
    web/        the page (plain HTML and JavaScript)
"""
