"""`longform serve`: AgentWrite behind an OpenAI-compatible API, a jobs API, and a live web page.

    jobs.py     run directories as jobs: a bounded worker pool, a queue, events, cancel, resume after restart
    chat.py     a chat-completions body read into a job request, every field checked
    ties.py     jobs tied to the clients waiting on them: a hang-up cancels, a retry joins
    openai.py   OpenAI's response shapes: errors, models, whole and streamed completions
    guards.py   what every request passes first: keys, Host, body type and size; security headers
    http.py     uvicorn on our socket, closing connections that stay idle
    app.py      the FastAPI routes: chat completions, the jobs API, the page
    web/        the page (plain HTML and JavaScript)
"""
