"""Push: `GET /api/v1/events`, server-sent events of case changes in the caller's scope."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from api.security import PrincipalDep
from gisgrid.reports import events

router = APIRouter(prefix="/api/v1", tags=["events"])

# A stream ends after a few minutes and the browser opens the next one at once (EventSource
# reconnects by itself): the sign-in and scope are checked again each time.
STREAM_S = 300
PING_S = 15
RETRY_MS = 1000


def _frame(event: dict[str, Any]) -> str:
    return f"event: {event['type']}\ndata: {json.dumps(event, ensure_ascii=False)}\n\n"


@router.get(
    "/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def case_events(request: Request, who: PrincipalDep) -> StreamingResponse:
    """Server-sent events: `case` (a report in your scope was filed, assigned or moved a step),
    `cases` (many changed at once: fetch again), `resync`, and `hello` first. Each notice says
    which case changed, never what it says: fetch the case through its own endpoint."""
    hub: events.EventHub = request.app.state.events
    events.may_listen(who)  # 401/403 before any byte of the stream

    async def stream() -> AsyncIterator[str]:
        async with hub.subscribe(who) as listener:
            yield f"retry: {RETRY_MS}\n\n" + _frame(events.hello(who, hub))
            end = time.monotonic() + STREAM_S
            while time.monotonic() < end:
                event = await listener.next(PING_S)
                if event is None:
                    yield ": ping\n\n"  # keeps proxies and phones from closing a quiet line
                    continue
                yield _frame(event)
                if event["type"] == "bye":
                    return

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
