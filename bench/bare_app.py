"""The peer for bench_intake: a bare FastAPI endpoint that parses the same form and answers."""

from fastapi import FastAPI, Request

app = FastAPI()


@app.post("/open311/v2/requests.json", status_code=201)
async def create(request: Request) -> list[dict[str, str]]:
    """Parse the form, touch no database, answer in the POST response's shape."""
    form = await request.form()
    return [{"service_request_id": "1", "service_code": str(form.get("service_code"))}]
