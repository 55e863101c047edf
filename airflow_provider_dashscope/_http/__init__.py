"""HTTP with DashScope, below the hook: what to send (:mod:`.api_request`), how to read the answer
(:mod:`.api_response`), when to try again (:mod:`.retry`), the two transports that only move bytes
(:mod:`.sync_transport` with ``requests``, :mod:`.async_transport` with ``aiohttp``), requests shared by waits on
one event loop (:mod:`.coalescing`) and the streamed body of an upload (:mod:`.multipart`)."""
